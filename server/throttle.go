package server

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Failed logins are throttled per client address: after loginFailures
// failures within loginWindow, the address's logins are refused with 429
// until the window ends. Successful logins are never slowed.
const (
	loginFailures = 5
	loginWindow   = time.Minute
	// maxThrottled caps the addresses remembered; past it, the expired
	// ones are dropped, then arbitrary ones.
	maxThrottled = 10000
)

// throttle counts failures per key in fixed windows.
type throttle struct {
	mu   sync.Mutex
	keys map[string]*failures
}

type failures struct {
	n     int
	until time.Time // the end of the window that the first failure opened
}

// blocked returns how long key must wait before it may try again; 0 if it
// may now.
func (t *throttle) blocked(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.keys[key]
	if f == nil || !now.Before(f.until) || f.n < loginFailures {
		return 0
	}
	return f.until.Sub(now)
}

// fail counts a failure of key.
func (t *throttle) fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.keys == nil {
		t.keys = map[string]*failures{}
	}
	f := t.keys[key]
	if f == nil || !now.Before(f.until) {
		if f == nil && len(t.keys) >= maxThrottled {
			t.prune(now)
		}
		f = &failures{until: now.Add(loginWindow)}
		t.keys[key] = f
	}
	f.n++
}

// prune drops the expired windows and, if that is not enough, arbitrary
// ones, to make room.
func (t *throttle) prune(now time.Time) {
	for k, f := range t.keys {
		if !now.Before(f.until) {
			delete(t.keys, k)
		}
	}
	for k := range t.keys {
		if len(t.keys) < maxThrottled {
			break
		}
		delete(t.keys, k)
	}
}

// clientKey is the key a request's login failures are counted under: the
// address of the peer (r.RemoteAddr; headers such as X-Forwarded-For are
// not trusted), and for IPv6 its /64 network, which one client usually
// has whole.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	addr = addr.Unmap()
	if addr.Is6() {
		if p, err := addr.Prefix(64); err == nil {
			return p.String()
		}
	}
	return addr.String()
}
