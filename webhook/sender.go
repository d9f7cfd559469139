package webhook

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// Defaults of Config.
const (
	DefaultPoll           = time.Second
	DefaultBatch          = 16
	DefaultTimeout        = 10 * time.Second
	DefaultMaxAttempts    = 20
	DefaultMinBackoff     = time.Second
	DefaultMaxBackoff     = time.Hour
	DefaultDeadlineWindow = time.Hour
	DefaultRetention      = 7 * 24 * time.Hour
)

// Config configures a Sender. The zero value of every field but Hooks is
// its default.
type Config struct {
	// Hooks are the receivers; at least one.
	Hooks []Hook
	// PublicURL is the base URL at which people open the web inbox
	// ("https://weft.example.com/"), for the payloads' links; "" leaves
	// Link out.
	PublicURL string
	// Owner names this sender in the store's claims; "" means the host
	// name, the process ID and a random suffix.
	Owner string
	// Poll is how often the sender looks for due events: DefaultPoll (1s)
	// if 0. On a store that notifies (PostgreSQL, see checkpoint.Notifier)
	// the sender hears of new events at once and the poll is a fallback
	// (for a lost notice, a retry that falls due); otherwise it is how
	// long a new event may wait.
	Poll time.Duration
	// NoListen makes the sender poll only, even on a store that notifies
	// (behind a connection pooler that breaks LISTEN, such as PgBouncer in
	// transaction mode).
	NoListen bool
	// Batch is how many events it claims at once: DefaultBatch (16) if 0.
	Batch int
	// Timeout bounds one request: DefaultTimeout (10s) if 0.
	Timeout time.Duration
	// Lease is how long a claim of a batch lasts: if the sender dies, its
	// events are sent by another sender (or itself, restarted) once the
	// lease lapses. 0 means enough for the batch to time out on every
	// hook, plus 30 seconds.
	Lease time.Duration
	// MaxAttempts is how many failed attempts an event gets before the
	// sender gives up on it (it becomes checkpoint.EventDead, logged as an
	// error): DefaultMaxAttempts (20) if 0.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the wait before the next attempt:
	// MinBackoff doubled at every failed attempt, capped at MaxBackoff,
	// with jitter (between half and all of it). DefaultMinBackoff (1s) and
	// DefaultMaxBackoff (1h) if 0. A Retry-After header of a 429 or 503
	// response is honoured instead (up to MaxBackoff).
	MinBackoff, MaxBackoff time.Duration
	// DeadlineWindow is how long before a question's deadline its
	// deadline.near event is sent: DefaultDeadlineWindow (1h) if 0;
	// negative turns deadline.near off.
	DeadlineWindow time.Duration
	// Retention is how long delivered and dead events stay in the store
	// before the sender prunes them: DefaultRetention (7 days) if 0;
	// negative never prunes.
	Retention time.Duration
	// Client sends the requests; nil means a client that follows no
	// redirect (a redirect is a failed attempt: the signed body is not
	// sent elsewhere). Its Timeout, if set, applies besides Timeout.
	Client *http.Client
	// Logger logs failed attempts (warn), given-up events (error) and
	// deliveries (debug); nil means slog.Default().
	Logger *slog.Logger
}

// Sender delivers the events of a store's outbox to hooks. Run as many as
// you like on one store (several processes on PostgreSQL or SQLite): the
// store's claims make each event go out from one sender at a time.
type Sender struct {
	store  checkpoint.Store
	outbox checkpoint.Outbox
	cfg    Config
	log    *slog.Logger
	client *http.Client
	// near remembers the deadline.near keys this sender added, so that a
	// question in the window is not added at every poll.
	near map[string]bool
	now  func() time.Time
	// wake cuts Run's wait for the next poll short (Wake, a notice).
	wake chan struct{}
	// mu makes calls of SendDue take turns.
	mu sync.Mutex
}

// New returns a Sender for store, which must implement checkpoint.Outbox
// with its outbox on (an error wrapping checkpoint.ErrOutboxOff
// otherwise), and cfg, whose hooks are checked: an http(s) URL, a secret
// of MinSecretLen bytes or more, known event types.
func New(store checkpoint.Store, cfg Config) (*Sender, error) {
	o, ok := store.(checkpoint.Outbox)
	if !ok {
		return nil, fmt.Errorf("webhook: %T has no outbox: %w", store, checkpoint.ErrOutboxOff)
	}
	if !o.OutboxEnabled() {
		return nil, fmt.Errorf("webhook: %w", checkpoint.ErrOutboxOff)
	}
	if len(cfg.Hooks) == 0 {
		return nil, errors.New("webhook: no hooks")
	}
	cfg.Hooks = slices.Clone(cfg.Hooks)
	names := map[string]bool{}
	for i := range cfg.Hooks {
		h := &cfg.Hooks[i]
		if err := h.check(); err != nil {
			return nil, err
		}
		if names[h.key()] {
			return nil, fmt.Errorf("webhook: two hooks named %q (give them different names or URLs)", h.key())
		}
		names[h.key()] = true
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Lease <= 0 {
		cfg.Lease = time.Duration(cfg.Batch*len(cfg.Hooks))*cfg.Timeout + 30*time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.DeadlineWindow == 0 {
		cfg.DeadlineWindow = DefaultDeadlineWindow
	}
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Owner == "" {
		cfg.Owner = defaultOwner()
	}
	s := &Sender{store: store, outbox: o, cfg: cfg, log: cfg.Logger, client: cfg.Client, near: map[string]bool{}, now: time.Now,
		wake: make(chan struct{}, 1)}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.client == nil {
		s.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return s, nil
}

func defaultOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = crand.Read(b[:])
	return fmt.Sprintf("webhook:%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Wake makes a running sender look for due events now instead of at its
// next poll: for a program that records events in the same process as
// its sender on a store that does not notify (memstore, SQLite). Wakes
// that come while the sender is busy count as one.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run delivers events until ctx ends, then returns nil. It polls the store
// every Config.Poll, and, on a store that implements checkpoint.Notifier
// (unless Config.NoListen), listens to its notices as well and looks at
// once when one says events were recorded; failures of the store are
// logged and retried at the next poll.
func (s *Sender) Run(ctx context.Context) error {
	if n, ok := s.store.(checkpoint.Notifier); ok && !s.cfg.NoListen {
		var side sync.WaitGroup
		side.Go(func() { s.listen(ctx, n) })
		defer side.Wait()
	}
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	var pruned time.Time
	for {
		if s.cfg.Retention > 0 && s.now().Sub(pruned) >= time.Hour {
			// Hourly, failed or not: a store that fails is not asked again
			// at every poll.
			pruned = s.now()
			if n, err := s.outbox.PruneEvents(ctx, &checkpoint.EventPrune{Before: s.now().Add(-s.cfg.Retention)}); err != nil {
				s.log.Warn("webhook: pruning delivered events", "error", err)
			} else if n > 0 {
				s.log.Debug("webhook: pruned delivered events", "count", n)
			}
		}
		for {
			n, err := s.SendDue(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("webhook: sending due events", "error", err)
			}
			if err != nil || n < s.cfg.Batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.wake:
		}
	}
}

// listenRetry bounds the wait before listening again after the connection
// that listened failed (Config.Poll if shorter).
const listenRetry = 5 * time.Second

// listen wakes the sender whenever the store says events were recorded,
// until ctx ends. Each time it starts listening it notifies itself until
// it hears its own notice, and then looks: the events recorded before the
// listen took effect (since Run's first pass, or while a failed connection
// was down) are sent then, not at the next poll. When the connection
// fails it listens again after a while, polling meanwhile.
func (s *Sender) listen(ctx context.Context, n checkpoint.Notifier) {
	for ctx.Err() == nil {
		lctx, stop := context.WithCancel(ctx)
		probe := checkpoint.Notice{Kind: checkpoint.NoticeEvent, Thread: "webhook.listening/" + s.cfg.Owner}
		heard := make(chan struct{})
		var once sync.Once
		var prober sync.WaitGroup
		prober.Go(func() { s.probe(lctx, n, probe, heard) })
		err := n.Listen(lctx, func(nt checkpoint.Notice) {
			if nt.Kind != checkpoint.NoticeEvent {
				return
			}
			if nt == probe {
				once.Do(func() {
					close(heard)
					s.log.Debug("webhook: listening for notices", "owner", s.cfg.Owner)
				})
			}
			s.Wake()
		})
		stop()
		prober.Wait()
		if ctx.Err() != nil {
			return
		}
		wait := min(s.cfg.Poll, listenRetry)
		s.log.Warn("webhook: listening for notices failed; polling meanwhile", "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// probe notifies p until heard is closed (the sender heard it: its listen
// is in effect) or ctx ends, waiting longer between tries, up to a second.
func (s *Sender) probe(ctx context.Context, n checkpoint.Notifier, p checkpoint.Notice, heard <-chan struct{}) {
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		if err := n.Notify(ctx, p); err != nil && ctx.Err() == nil {
			s.log.Debug("webhook: notifying itself to check its listen", "error", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-heard:
			t.Stop()
			return
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// SendDue makes one pass: it adds the deadline.near events of questions
// whose deadline is within the window, claims up to Config.Batch due
// events, delivers them to the hooks they match and records the outcome
// of each. It returns how many events it claimed. Run calls it at every
// poll; tests and programs that send at their own pace call it alone.
// Concurrent calls take turns.
func (s *Sender) SendDue(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A failure to find deadlines does not hold up the events that wait.
	nearErr := s.addDeadlines(ctx)
	events, err := s.outbox.ClaimEvents(ctx, &checkpoint.EventClaim{Owner: s.cfg.Owner, Lease: s.cfg.Lease, Limit: s.cfg.Batch})
	if err != nil {
		return 0, errors.Join(nearErr, fmt.Errorf("webhook: claim events: %w", err))
	}
	for i := range events {
		if ctx.Err() != nil {
			// Hand back what is left of the batch, due at once.
			s.release(events[i:])
			return len(events), ctx.Err()
		}
		if err := s.deliver(ctx, &events[i]); err != nil {
			if ctx.Err() != nil {
				s.release(events[i+1:])
				return len(events), ctx.Err()
			}
			s.log.Warn("webhook: recording a delivery", "event", events[i].ID, "error", err)
		}
	}
	return len(events), nearErr
}

// release hands claimed events back, due at once.
func (s *Sender) release(events []checkpoint.Event) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := range events {
		e := &events[i]
		_ = s.outbox.RetryEvent(ctx, &checkpoint.EventRetry{ID: e.ID, Owner: s.cfg.Owner, At: s.now(), Error: "the sender stopped", Done: e.Done})
	}
}

// addDeadlines adds the deadline.near events of the pending questions
// whose deadline falls within the window.
func (s *Sender) addDeadlines(ctx context.Context) error {
	if s.cfg.DeadlineWindow < 0 {
		return nil
	}
	now := s.now()
	q := &checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, DueBefore: now.Add(s.cfg.DeadlineWindow), Limit: 100}
	for {
		page, err := s.store.Interrupts(ctx, q)
		if err != nil {
			return fmt.Errorf("webhook: questions due soon: %w", err)
		}
		for i := range page.Interrupts {
			r := &page.Interrupts[i]
			if r.Deadline.Before(now) {
				continue // overdue: the deadline acts, not a reminder
			}
			e := checkpoint.QuestionEvent(checkpoint.EventDeadlineNear, r)
			e.Dedup = "deadline.near/" + r.ThreadID + "/" + r.ID + "/" + strconv.FormatInt(r.Deadline.UnixMicro(), 10)
			if s.near[e.Dedup] {
				continue
			}
			if _, err := s.outbox.AddEvent(ctx, &e); err != nil {
				return fmt.Errorf("webhook: add %s: %w", e.Type, err)
			}
			if len(s.near) > 10000 {
				clear(s.near)
			}
			s.near[e.Dedup] = true
		}
		if page.Next == "" {
			return nil
		}
		q.After = page.Next
	}
}

// deliver sends e to the hooks that want it and have not acknowledged it,
// and records the outcome.
func (s *Sender) deliver(ctx context.Context, e *checkpoint.Event) error {
	var body []byte
	done := slices.Clone(e.Done)
	var errs []string
	var retryAfter time.Duration
	for i := range s.cfg.Hooks {
		h := &s.cfg.Hooks[i]
		if !h.Matches(e) || slices.Contains(done, h.key()) {
			continue
		}
		if body == nil {
			var err error
			if body, err = json.Marshal(NewPayload(e, s.cfg.PublicURL)); err != nil {
				return fmt.Errorf("webhook: event %s: %w", e.ID, err)
			}
		}
		wait, err := s.post(ctx, h, e, body)
		if err != nil {
			if ctx.Err() != nil {
				// Stopped mid-request: hand the event back, due at once.
				s.release([]checkpoint.Event{{ID: e.ID, Done: done}})
				return ctx.Err()
			}
			errs = append(errs, h.key()+": "+err.Error())
			retryAfter = max(retryAfter, wait)
			continue
		}
		done = append(done, h.key())
		s.log.Debug("webhook: delivered", "event", e.ID, "type", e.Type, "thread", e.ThreadID, "hook", h.key())
	}
	if len(errs) == 0 {
		return s.outbox.DeliveredEvent(ctx, &checkpoint.EventDone{ID: e.ID, At: s.now()})
	}
	attempts := e.Attempts + 1
	r := &checkpoint.EventRetry{ID: e.ID, Owner: s.cfg.Owner, Error: strings.Join(errs, "; "), Done: done}
	if attempts >= s.cfg.MaxAttempts {
		r.GiveUp = true
		s.log.Error("webhook: giving up on an event", "event", e.ID, "type", e.Type, "thread", e.ThreadID, "attempts", attempts, "error", r.Error)
	} else {
		wait := s.backoff(attempts)
		if retryAfter > 0 {
			wait = min(retryAfter, s.cfg.MaxBackoff)
		}
		r.At = s.now().Add(wait)
		s.log.Warn("webhook: delivery failed", "event", e.ID, "type", e.Type, "thread", e.ThreadID, "attempt", attempts, "retry_in", wait, "error", r.Error)
	}
	return s.outbox.RetryEvent(ctx, r)
}

// backoff is the wait after the attempt-th failed attempt: MinBackoff
// doubled attempt-1 times, capped at MaxBackoff, with jitter.
func (s *Sender) backoff(attempt int) time.Duration {
	d := s.cfg.MinBackoff
	for i := 1; i < attempt && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.cfg.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// post sends body to h and returns nil on a 2xx response; otherwise the
// error and, for a 429 or 503 with Retry-After, how long to wait.
func (s *Sender) post(ctx context.Context, h *Hook, e *checkpoint.Event, body []byte) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "weft-webhook/1")
	req.Header.Set(EventHeader, e.Type)
	req.Header.Set(DeliveryHeader, e.ID)
	req.Header.Set(SignatureHeader, Sign(h.Secret, s.now(), body))
	resp, err := s.client.Do(req)
	if err != nil {
		// The URL may hold credentials: say what failed without it.
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			err = ue.Unwrap()
		}
		return 0, fmt.Errorf("POST %s: %w", redactURL(h.URL), err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return 0, nil
	}
	var wait time.Duration
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		wait = retryAfter(resp.Header.Get("Retry-After"), s.now())
	}
	return wait, fmt.Errorf("POST %s: %s", redactURL(h.URL), resp.Status)
}

// retryAfter parses a Retry-After header: seconds or an HTTP date. It
// returns 0 for none or a bad one.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
