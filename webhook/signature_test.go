package webhook

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	const secret = "0123456789abcdef-secret"
	now := time.Unix(1_750_000_000, 0)
	body := []byte(`{"event":"question.asked"}`)
	good := Sign(secret, now, body)
	other := Sign("another secret of 16+ bytes", now, body)
	_, v1, _ := strings.Cut(good, ",")
	for _, tc := range []struct {
		name   string
		header string
		body   []byte
		secret string
		at     time.Time
		want   error
	}{
		{"good", good, body, secret, now, nil},
		{"good, clock a little ahead", good, body, secret, now.Add(4 * time.Minute), nil},
		{"good, clock a little behind", good, body, secret, now.Add(-4 * time.Minute), nil},
		{"rotating: one of two matches", other + "," + v1, body, secret, now, nil},
		{"unknown keys are ignored", good + ",v0=zz,scheme=next", body, secret, now, nil},
		{"spaces around parts", strings.ReplaceAll(good, ",", " , "), body, secret, now, nil},
		{"body changed", good, []byte(`{"event":"question.asked "}`), secret, now, ErrBadSignature},
		{"wrong secret", good, body, "not the secret, but long", now, ErrBadSignature},
		{"other secret only", other, body, secret, now, ErrBadSignature},
		{"too old", good, body, secret, now.Add(6 * time.Minute), ErrSignatureExpired},
		{"from the future", good, body, secret, now.Add(-6 * time.Minute), ErrSignatureExpired},
		{"no header", "", body, secret, now, ErrNoSignature},
		{"blank header", "  ", body, secret, now, ErrNoSignature},
		{"no timestamp", v1, body, secret, now, ErrMalformedSignature},
		{"no v1", "t=1750000000", body, secret, now, ErrMalformedSignature},
		{"two timestamps", "t=1750000000," + good, body, secret, now, ErrMalformedSignature},
		{"bad timestamp", "t=soon," + v1, body, secret, now, ErrMalformedSignature},
		{"negative timestamp", "t=-5," + v1, body, secret, now, ErrMalformedSignature},
		{"v1 not hex", "t=1750000000,v1=xyz", body, secret, now, ErrMalformedSignature},
		{"v1 too short", "t=1750000000,v1=abcd", body, secret, now, ErrMalformedSignature},
		{"part without =", good + ",junk", body, secret, now, ErrMalformedSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := verifyAt(tc.secret, tc.header, tc.body, 0, tc.at)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Verify(%q) = %v, want %v", tc.header, err, tc.want)
			}
		})
	}
	// A wider tolerance accepts what the default refuses.
	if err := verifyAt(secret, good, body, time.Hour, now.Add(30*time.Minute)); err != nil {
		t.Errorf("Verify with a tolerance of 1h, 30 minutes late: %v", err)
	}
}

func TestSignFormat(t *testing.T) {
	h := Sign("0123456789abcdef", time.Unix(1712345678, 0), []byte("{}"))
	ts, v1, ok := strings.Cut(h, ",")
	if !ok || ts != "t=1712345678" || !strings.HasPrefix(v1, "v1=") || len(v1) != 3+64 {
		t.Fatalf("Sign = %q, want t=1712345678,v1=<64 hex digits>", h)
	}
	if _, err := hex.DecodeString(v1[3:]); err != nil {
		t.Fatalf("v1 is not hex: %v", err)
	}
}

// FuzzParseSignature: the parser never panics; whatever it accepts has a
// timestamp and 32-byte signatures; a header Sign made always parses and
// verifies.
func FuzzParseSignature(f *testing.F) {
	f.Add("t=1712345678,v1=" + strings.Repeat("ab", 32))
	f.Add(Sign("0123456789abcdef", time.Unix(1, 0), []byte("x")))
	f.Add("t=1,t=2,v1=00")
	f.Add(",,,=,t=,v1=")
	f.Add("v1=" + strings.Repeat("0", 64) + ",t=99999999999999999999")
	f.Fuzz(func(t *testing.T, header string) {
		sig, err := ParseSignature(header)
		if err != nil {
			if !errors.Is(err, ErrMalformedSignature) && !errors.Is(err, ErrNoSignature) {
				t.Fatalf("ParseSignature(%q) = %v: not a sentinel", header, err)
			}
			return
		}
		if sig.Timestamp < 0 || len(sig.V1) == 0 {
			t.Fatalf("ParseSignature(%q) = %+v", header, sig)
		}
		for _, v := range sig.V1 {
			if len(v) != 32 {
				t.Fatalf("ParseSignature(%q): a v1 of %d bytes", header, len(v))
			}
		}
		body := []byte(header)
		at := time.Unix(sig.Timestamp%(1<<40), 0)
		if err := verifyAt("fuzz secret, 16+", Sign("fuzz secret, 16+", at, body), body, 0, at); err != nil {
			t.Fatalf("a signature made by Sign does not verify: %v", err)
		}
	})
}
