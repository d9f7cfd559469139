package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers of a delivery.
const (
	// SignatureHeader carries the signature: "t=<unix seconds>,v1=<hex>",
	// where the hex is the HMAC-SHA256, keyed by the hook's secret, of the
	// timestamp, a dot and the body ("1712345678.{...}"). A receiver may
	// see several v1 values (while a secret is rotated); one that matches
	// is enough.
	SignatureHeader = "Weft-Signature"
	// DeliveryHeader carries the event's ID, the same at every attempt:
	// receivers de-duplicate by it.
	DeliveryHeader = "Weft-Delivery"
	// EventHeader carries the event's type ("question.asked").
	EventHeader = "Weft-Event"
)

// DefaultTolerance is how far from the receiver's clock Verify accepts a
// signature's timestamp when given a tolerance of 0.
const DefaultTolerance = 5 * time.Minute

// MinSecretLen is the length a hook's secret must have at least, in bytes.
const MinSecretLen = 16

// The errors of Verify, checkable with errors.Is.
var (
	// ErrNoSignature: the request carries no signature header.
	ErrNoSignature = errors.New("webhook: no signature")
	// ErrMalformedSignature: the header is not "t=<unix>,v1=<hex>".
	ErrMalformedSignature = errors.New("webhook: malformed signature header")
	// ErrSignatureExpired: the timestamp is further from now than the
	// tolerance (a replay, or a clock far off).
	ErrSignatureExpired = errors.New("webhook: signature timestamp out of tolerance")
	// ErrBadSignature: no signature matches the body and the secret.
	ErrBadSignature = errors.New("webhook: signature does not match")
)

// Sign returns the value of the signature header for body, signed with
// secret at time t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Signature is a parsed signature header.
type Signature struct {
	// Timestamp is the t= value, in unix seconds.
	Timestamp int64
	// V1 are the v1= values, decoded.
	V1 [][]byte
}

// ParseSignature parses the value of the signature header. Keys other than
// t and v1 are ignored (a later scheme may add some); a header without t,
// with t twice, or without a v1 is malformed.
func ParseSignature(header string) (*Signature, error) {
	if strings.TrimSpace(header) == "" {
		return nil, ErrNoSignature
	}
	sig := &Signature{}
	seenT := false
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("%w: %.40q has no '='", ErrMalformedSignature, part)
		}
		switch k {
		case "t":
			ts, err := strconv.ParseInt(v, 10, 64)
			if err != nil || seenT || ts < 0 {
				return nil, fmt.Errorf("%w: bad or repeated timestamp %.40q", ErrMalformedSignature, v)
			}
			sig.Timestamp, seenT = ts, true
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != sha256.Size {
				return nil, fmt.Errorf("%w: v1 %.40q is not %d hex bytes", ErrMalformedSignature, v, sha256.Size)
			}
			sig.V1 = append(sig.V1, b)
		}
	}
	if !seenT || len(sig.V1) == 0 {
		return nil, fmt.Errorf("%w: want t=<unix>,v1=<hex>", ErrMalformedSignature)
	}
	return sig, nil
}

// Verify checks that header (the value of SignatureHeader) signs body with
// secret, at a time within tolerance of now (0: DefaultTolerance). It
// returns nil, or an error wrapping ErrNoSignature, ErrMalformedSignature,
// ErrSignatureExpired or ErrBadSignature. Verify the body exactly as
// received, before decoding it.
func Verify(secret, header string, body []byte, tolerance time.Duration) error {
	return verifyAt(secret, header, body, tolerance, time.Now())
}

func verifyAt(secret, header string, body []byte, tolerance time.Duration, now time.Time) error {
	sig, err := ParseSignature(header)
	if err != nil {
		return err
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if d := now.Sub(time.Unix(sig.Timestamp, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed at %d, %v from now", ErrSignatureExpired, sig.Timestamp, d.Round(time.Second))
	}
	want := mac(secret, strconv.FormatInt(sig.Timestamp, 10), body)
	for _, v := range sig.V1 {
		if hmac.Equal(v, want) {
			return nil
		}
	}
	return ErrBadSignature
}

// MaxBody is the size of the body VerifyRequest reads at most.
const MaxBody = 1 << 20

// VerifyRequest reads the body of a delivery (up to MaxBody bytes) and
// verifies its signature as Verify does; it returns the body, to decode
// once verified.
func VerifyRequest(r *http.Request, secret string, tolerance time.Duration) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("webhook: reading the body: %w", err)
	}
	if len(body) > MaxBody {
		return nil, fmt.Errorf("webhook: body larger than %d bytes", MaxBody)
	}
	if err := Verify(secret, r.Header.Get(SignatureHeader), body, tolerance); err != nil {
		return nil, err
	}
	return body, nil
}
