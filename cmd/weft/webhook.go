package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
	"github.com/weftgraph/weft/webhook"
)

// webhookOpts are serve's --webhook flags.
type webhookOpts struct {
	urls      []string
	secret    string
	events    string
	workflows string
	assignees string
	publicURL string
	window    time.Duration
}

// envWebhookSecret is the environment variable of --webhook-secret.
const envWebhookSecret = "WEFT_WEBHOOK_SECRET"

func (o *webhookOpts) declare(fs *flag.FlagSet) {
	fs.Func("webhook", "POST the store's events (a question asked, a deadline near, an escalation, an answer, a failed thread) to `URL`, signed; repeat for several receivers", func(s string) error {
		o.urls = append(o.urls, s)
		return nil
	})
	fs.StringVar(&o.secret, "webhook-secret", "", "the `secret` that signs the webhooks, at least 16 bytes (default $"+envWebhookSecret+", which keeps it out of the process list)")
	fs.StringVar(&o.events, "webhook-events", "", "the `events` to send, comma-separated ("+strings.Join(checkpoint.EventTypes, ", ")+"; default all)")
	fs.StringVar(&o.workflows, "webhook-workflows", "", "send only the events of these `workflows`, comma-separated (default all)")
	fs.StringVar(&o.assignees, "webhook-assignees", "", "send only the events of questions assigned to one of these `principals or roles`, comma-separated (default all; thread.failed has no assignees)")
	fs.StringVar(&o.publicURL, "public-url", "", "the `URL` at which people open this server, for the links in webhooks (default the address served)")
	o.window = webhook.DefaultDeadlineWindow
	fs.Var((*positiveDuration)(&o.window), "webhook-deadline-window", "send deadline.near this long before a question's deadline")
}

// on reports whether webhooks were asked for.
func (o *webhookOpts) on() bool { return len(o.urls) > 0 }

// config checks the flags and returns the sender's config; getenv reads
// the environment.
func (o *webhookOpts) config(getenv func(string) string) (webhook.Config, error) {
	secret := o.secret
	if secret == "" {
		secret = getenv(envWebhookSecret)
	}
	switch {
	case !o.on():
		if o.secret != "" || o.events != "" || o.workflows != "" || o.assignees != "" {
			return webhook.Config{}, usagef("--webhook-secret, --webhook-events, --webhook-workflows and --webhook-assignees need --webhook URL")
		}
		return webhook.Config{}, nil
	case secret == "":
		return webhook.Config{}, usagef("--webhook needs a secret: --webhook-secret or $%s", envWebhookSecret)
	case len(secret) < webhook.MinSecretLen:
		return webhook.Config{}, usagef("--webhook-secret: want at least %d bytes", webhook.MinSecretLen)
	}
	if o.publicURL != "" {
		u, err := url.Parse(o.publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return webhook.Config{}, usagef("--public-url %q: want an http or https URL", o.publicURL)
		}
	}
	events := splitList(o.events)
	for _, e := range events {
		if !slices.Contains(checkpoint.EventTypes, e) {
			return webhook.Config{}, usagef("--webhook-events: unknown event %q (want %s)", e, strings.Join(checkpoint.EventTypes, ", "))
		}
	}
	cfg := webhook.Config{PublicURL: o.publicURL, DeadlineWindow: o.window}
	for _, u := range o.urls {
		h := webhook.Hook{URL: u, Secret: secret, Events: events, Workflows: splitList(o.workflows), Assignees: splitList(o.assignees)}
		parsed, err := url.Parse(u)
		if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
			return webhook.Config{}, usagef("--webhook: want an http or https URL, got %q", redactHook(u))
		}
		cfg.Hooks = append(cfg.Hooks, h)
	}
	return cfg, nil
}

// redactHook hides the path and query of a webhook URL, which for chat
// tools hold the credential.
func redactHook(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(not a URL)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// splitList splits a comma-separated flag, dropping empty items.
func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// startWebhooks runs a sender for cfg on store until ctx ends; the function
// it returns waits for it. base is the URL served, the default of
// --public-url.
func startWebhooks(ctx context.Context, c *cli, store checkpoint.Store, cfg webhook.Config, base string, log *slog.Logger) (func(), error) {
	if cfg.PublicURL == "" {
		cfg.PublicURL = base
	}
	cfg.Logger = log
	s, err := webhook.New(store, cfg)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(c.stdout, "Webhooks: %d receiver(s), links to %s.\n", len(cfg.Hooks), cfg.PublicURL)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.Run(ctx); err != nil {
			log.Error("weft: webhooks", "error", err)
		}
	})
	return wg.Wait, nil
}

// openStoreWith opens --store as openStore does, with the outbox on if
// outbox is set.
func (c *cli) openStoreWith(migrate, outbox bool) (checkpoint.Store, error) {
	if !outbox {
		return c.openStore(migrate)
	}
	kind, target, err := storeKind(c.store)
	if err != nil {
		return nil, err
	}
	var s interface {
		checkpoint.Store
		io.Closer
	}
	switch kind {
	case "sqlite":
		if !migrate {
			if _, err := os.Stat(target); errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%w: %s", errNoStoreFile, target)
			}
		}
		s, err = sqlitestore.Open(c.ctx, target, sqlitestore.Options{Migrate: migrate, Outbox: true})
	default:
		u, schema, perr := pgSchema(target)
		if perr != nil {
			return nil, perr
		}
		s, err = pgstore.Open(c.ctx, u, pgstore.Options{Migrate: migrate, Schema: schema, Outbox: true})
	}
	if err != nil {
		return nil, err
	}
	c.closers = append(c.closers, s)
	return s, nil
}

// openReporting opens --store for a command that writes (answer, stop,
// cancel, resume, start, ...), with the outbox on if the store's outbox
// has been used (a process with webhooks wrote to it), so that what the
// command changes is reported like what the server changes. A store whose
// outbox was never used is opened as openStore does: it pays nothing.
func (c *cli) openReporting(migrate bool) (checkpoint.Store, error) {
	s, err := c.openStore(migrate)
	if err != nil {
		return nil, err
	}
	o, ok := s.(checkpoint.Outbox)
	if !ok {
		return s, nil
	}
	used, err := o.Events(c.ctx, &checkpoint.EventQuery{Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("the store's outbox: %w", err)
	}
	if len(used) == 0 {
		return s, nil
	}
	// Reopen with the outbox on: the stores fix it when they open.
	if i := slices.IndexFunc(c.closers, func(x io.Closer) bool { return any(x) == any(s) }); i >= 0 {
		c.closers = slices.Delete(c.closers, i, i+1)
	}
	if cl, ok := s.(io.Closer); ok {
		if err := cl.Close(); err != nil {
			return nil, err
		}
	}
	return c.openStoreWith(false, true)
}

// openForServe opens the store of serve: with the outbox on for
// --webhook, else as the writing commands do (openReporting).
func (c *cli) openForServe(hooks bool) (checkpoint.Store, error) {
	if hooks {
		return c.openStoreWith(false, true)
	}
	return c.openReporting(false)
}
