package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"

	"github.com/weftgraph/weft/checkpoint"
)

// Hook is one receiver of webhooks and the events it wants.
type Hook struct {
	// URL receives the deliveries (POST, JSON): http or https.
	URL string
	// Secret signs every delivery (see SignatureHeader): at least
	// MinSecretLen bytes, shared with the receiver only.
	Secret string
	// Events are the event types the hook receives (checkpoint.EventTypes);
	// none means all.
	Events []string
	// Workflows limits the hook to the events of these workflows; none
	// means every workflow.
	Workflows []string
	// Assignees limits the hook to questions assigned to at least one of
	// them; none means every event. A hook with Assignees receives no
	// thread.failed, which is assigned to nobody.
	Assignees []string
	// Name identifies the hook in the store (the receivers that
	// acknowledged an event, so that a retry goes to the others only) and
	// in logs; "" means a hash of the URL. Keep it when the URL changes
	// to carry on where the old one stopped.
	Name string
}

// check reports what is wrong with h.
func (h *Hook) check() error {
	u, err := url.Parse(h.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook: hook URL %q: want an http or https URL", redactURL(h.URL))
	}
	if len(h.Secret) < MinSecretLen {
		return fmt.Errorf("webhook: hook %s: the secret must have at least %d bytes", redactURL(h.URL), MinSecretLen)
	}
	for _, e := range h.Events {
		if !slices.Contains(checkpoint.EventTypes, e) {
			return fmt.Errorf("webhook: hook %s: unknown event %q (want one of %v)", redactURL(h.URL), e, checkpoint.EventTypes)
		}
	}
	return nil
}

// key is h's name in the store.
func (h *Hook) key() string {
	if h.Name != "" {
		return h.Name
	}
	sum := sha256.Sum256([]byte(h.URL))
	return "url:" + hex.EncodeToString(sum[:8])
}

// Matches reports whether h receives e.
func (h *Hook) Matches(e *checkpoint.Event) bool {
	if len(h.Events) > 0 && !slices.Contains(h.Events, e.Type) {
		return false
	}
	if len(h.Workflows) > 0 && !slices.Contains(h.Workflows, e.Workflow) {
		return false
	}
	if len(h.Assignees) > 0 && !slices.ContainsFunc(e.Assignees, func(a string) bool { return slices.Contains(h.Assignees, a) }) {
		return false
	}
	return true
}

// redactURL shows a URL without its path and query, which for chat tools
// (Slack, Teams) hold the credentials.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(an invalid URL)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}
