package checkpoint

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// InterruptCursor is a position in the order in which Store.Interrupts
// lists interrupts (CreatedAt, then ID, then ThreadID). Stores make
// InterruptPage.Next with String and read InterruptQuery.After with
// ParseInterruptCursor, so every store's cursors look alike.
type InterruptCursor struct {
	CreatedAt    time.Time
	ID, ThreadID string
}

// CursorAfter is the cursor of the position of r.
func CursorAfter(r *InterruptRecord) InterruptCursor {
	return InterruptCursor{CreatedAt: r.CreatedAt, ID: r.ID, ThreadID: r.ThreadID}
}

// String encodes the cursor as
// base64url("<unix seconds>:<nanoseconds>:<len(id)>:<id><thread id>").
func (c InterruptCursor) String() string {
	s := strconv.FormatInt(c.CreatedAt.Unix(), 10) + ":" + strconv.Itoa(c.CreatedAt.Nanosecond()) + ":" +
		strconv.Itoa(len(c.ID)) + ":" + c.ID + c.ThreadID
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// ParseInterruptCursor decodes a cursor made by InterruptCursor.String. A
// cursor it did not make is an error wrapping ErrBadCursor.
func ParseInterruptCursor(s string) (InterruptCursor, error) {
	bad := func() (InterruptCursor, error) {
		return InterruptCursor{}, fmt.Errorf("interrupt cursor %q: %w", s, ErrBadCursor)
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return bad()
	}
	parts := strings.SplitN(string(raw), ":", 4)
	if len(parts) != 4 {
		return bad()
	}
	sec, err1 := strconv.ParseInt(parts[0], 10, 64)
	nsec, err2 := strconv.ParseInt(parts[1], 10, 64)
	idLen, err3 := strconv.Atoi(parts[2])
	rest := parts[3]
	if err1 != nil || err2 != nil || err3 != nil || nsec < 0 || nsec >= 1e9 || idLen < 0 || idLen > len(rest) {
		return bad()
	}
	return InterruptCursor{CreatedAt: time.Unix(sec, nsec).UTC(), ID: rest[:idLen], ThreadID: rest[idLen:]}, nil
}
