package weft

import (
	"errors"
	"math"
	"time"
)

// RetryPolicy says how a node that fails is run again, within its
// superstep, before the failure fails the run. Give it to a node with
// Retry; nodes have none by default.
//
// Each attempt is in the step log (StepRetried for the failed ones). A
// retried attempt reuses the journal of the attempts before it, so effects
// run with Do do not run again. A pause is not a failure, and a run that
// is stopped is not retried.
type RetryPolicy struct {
	// Attempts is how many times the node runs at most, the first
	// included; 0 means 3.
	Attempts int
	// Initial is the wait before the second attempt (0: 100ms); each
	// next wait is Multiplier (0: 2) times the one before, up to Max (0:
	// no cap).
	Initial    time.Duration
	Multiplier float64
	Max        time.Duration
	// Jitter spreads each wait at random by up to this fraction of it
	// (0.2 is ±20%; 0: none), so that many threads failing at once do
	// not all retry at once.
	Jitter float64
	// Retryable, if set, says which errors are worth another attempt
	// (given the node's error, unwrapped from its NodeError); nil retries
	// every error. A panic is an error like any other.
	Retryable func(err error) bool
}

// Retry gives a node a retry policy.
func Retry(p RetryPolicy) NodeOption {
	return func(o *nodeOptions) { o.retry = &p }
}

func (p *RetryPolicy) check() error {
	switch {
	case p.Attempts < 0:
		return errors.New("retry policy with negative Attempts")
	case p.Initial < 0 || p.Max < 0:
		return errors.New("retry policy with a negative wait")
	case p.Multiplier < 0 || p.Jitter < 0 || p.Jitter >= 1:
		return errors.New("retry policy needs Multiplier >= 0 and 0 <= Jitter < 1")
	}
	return nil
}

func (p *RetryPolicy) attempts() int {
	if p.Attempts == 0 {
		return 3
	}
	return p.Attempts
}

// backoff is the wait after failed attempt n (from 1).
func (p *RetryPolicy) backoff(n int) time.Duration {
	d, m := p.Initial, p.Multiplier
	if d == 0 {
		d = 100 * time.Millisecond
	}
	if m == 0 {
		m = 2
	}
	w := float64(d) * math.Pow(m, float64(n-1))
	if p.Max > 0 && w > float64(p.Max) {
		w = float64(p.Max)
	}
	if w > float64(math.MaxInt64/2) {
		w = float64(math.MaxInt64 / 2)
	}
	return jitter(time.Duration(w), p.Jitter)
}
