package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/inbox"
)

func TestExplain(t *testing.T) {
	c := &cli{store: "sqlite:x.db", thread: "t-1"}
	for _, tc := range []struct {
		name     string
		err      error
		msg      string
		hintHas  string
		noHint   bool
		msgLacks string
	}{
		{"not found", fmt.Errorf("inbox: thread %q: %w", "t-1", fmt.Errorf("sqlitestore: thread %q: %w", "t-1", checkpoint.ErrNotFound)),
			`thread "t-1": not found`, "weft threads --store sqlite:x.db", false, "sqlitestore"},
		{"cursor", fmt.Errorf("inbox: list: %w", fmt.Errorf("sqlitestore: %w", fmt.Errorf("interrupt cursor %q: %w", "zz", checkpoint.ErrBadCursor))),
			`list: interrupt cursor "zz": malformed cursor`, "previous page", false, "sqlitestore"},
		{"already answered", fmt.Errorf("weft: answer %s: %w", "q1", weft.ErrAlreadyAnswered),
			"answer q1: already answered", "weft history t-1 --store sqlite:x.db", false, "interrupt already answered"},
		{"not migrated", fmt.Errorf("pgstore: schema %q is at version 0, this program needs 3: run Migrate (or open with Options.Migrate): %w", "w", checkpoint.ErrNotMigrated),
			`schema "w" is at version 0, this program needs 3: the database is not migrated`, "weft migrate --store sqlite:x.db", false, "Options.Migrate"},
		{"busy", fmt.Errorf("thread t-1: %w", weft.ErrBusy), "thread t-1: the thread is running", "weft stop t-1", false, ""},
		{"invalid answer detail after", fmt.Errorf("%w: value %q is not one of the enum", weft.ErrInvalidAnswer, "maybe"),
			`invalid answer: value "maybe" is not one of the enum`, "nothing was recorded", false, ""},
		{"unknown workflow", fmt.Errorf("thread x: %w: ext", inbox.ErrUnknownWorkflow), "thread x: not a workflow this command runs: ext", "package worker", false, ""},
		{"no store file", fmt.Errorf("%w: %s", errNoStoreFile, "x.db"), "no such store file: x.db", "weft migrate --store sqlite:x.db", false, ""},
		{"plain", errors.New("sqlitestore: disk full\nsecond line"), "disk full second line", "", true, "\n"},
		{"usage", usagef("--limit %d: want 1 to %d", 0, 500), "--limit 0: want 1 to 500", "", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, hint := explain(c, tc.err)
			if msg != tc.msg {
				t.Errorf("message %q, want %q", msg, tc.msg)
			}
			if tc.noHint != (hint == "") || !strings.Contains(hint, tc.hintHas) {
				t.Errorf("hint %q, want one with %q", hint, tc.hintHas)
			}
			if tc.msgLacks != "" && strings.Contains(msg, tc.msgLacks) {
				t.Errorf("message %q has %q", msg, tc.msgLacks)
			}
		})
	}
}

func TestStamp(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("X", 2*3600))
	if got, want := stamp(at), at.Local().Format("2006-01-02 15:04:05 -07:00"); got != want {
		t.Errorf("stamp = %q, want %q", got, want)
	}
	if !strings.Contains(stamp(at), ":") || stamp(time.Time{}) != "-" {
		t.Errorf("stamp %q / %q", stamp(at), stamp(time.Time{}))
	}
}
