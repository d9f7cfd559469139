package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
)

func TestTerminalSafe(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain text, é and 日本\n\tindented", "plain text, é and 日本\n\tindented"},
		{"\x1b[2Jcleared", `\u001b[2Jcleared`},
		{"\x1b]0;title\x07", `\u001b]0;title\u0007`},
		{"over\rwrite\bback", `over\u000dwrite\u0008back`},
		{"del\x7f", `del\u007f`},
		{"c1 \u009b31m", `c1 \u009b31m`},
		{"bidi \u202eevil\u202c \u2066x\u2069", `bidi \u202eevil\u202c \u2066x\u2069`},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`},
	} {
		var b bytes.Buffer
		n, err := terminalSafe{&b}.Write([]byte(c.in))
		if err != nil || n != len(c.in) || b.String() != c.want {
			t.Errorf("%q: wrote %q (n %d, %v), want %q", c.in, b.String(), n, err, c.want)
		}
	}
}

// FuzzTerminalSafe: whatever is written, nothing unsafe comes out, and
// JSON read back through it decodes to the same value.
func FuzzTerminalSafe(f *testing.F) {
	for _, s := range []string{"", "a\x1b[31mb", "\u009b\u202e", "\xff", "ok\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var b bytes.Buffer
		if _, err := (terminalSafe{&b}).Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if !utf8.ValidString(out) {
			t.Fatalf("%q: invalid UTF-8 out: %q", s, out)
		}
		for _, r := range out {
			if unsafeRune(r) {
				t.Fatalf("%q: unsafe rune %U out: %q", s, r, out)
			}
		}
		if !utf8.ValidString(s) {
			return
		}
		data, _ := json.Marshal(s)
		b.Reset()
		terminalSafe{&b}.Write(data)
		var back string
		if err := json.Unmarshal(b.Bytes(), &back); err != nil || back != s {
			t.Fatalf("%q: JSON through it reads %q (%v)", s, back, err)
		}
	})
}

// TestNoTerminalEscapes: a question whose payload and reason carry
// terminal escapes is shown by show, inbox and history as visible text.
func TestNoTerminalEscapes(t *testing.T) {
	dir := fixture(t)
	store, err := sqlitestore.Open(context.Background(), filepath.Join(dir, "weft.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := weft.NewGraph[Ext]("ext-evil")
	g.AddNode("ask", func(ctx context.Context, e Ext) (Ext, error) {
		ok, err := weft.Interrupt[bool](ctx, map[string]string{"doc": "\x1b]0;pwned\x07\x1b[2J" + e.Doc},
			weft.Reason("sign \x1b[8mhidden\x1b[0m \u202eexe.txt"))
		e.OK = ok
		return e, err
	})
	g.AddEdge(weft.Start, "ask")
	wf, err := g.Compile(weft.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wf.Run(context.Background(), "evil-1", Ext{Doc: "\x9b31m"}); err != nil {
		t.Fatal(err)
	}
	store.Close()
	for _, args := range [][]string{
		{"show", "evil-1"}, {"show", "evil-1", "--json"}, {"inbox"}, {"inbox", "--json"}, {"history", "evil-1"}, {"threads"},
	} {
		r := weftIn(t, dir, "", args...).want(t, 0)
		out := r.stdout + r.stderr
		if strings.ContainsAny(out, "\x1b\x07\u009b\u202e") {
			t.Errorf("weft %v prints terminal controls:\n%q", args, out)
		}
		if args[0] != "threads" && args[0] != "history" && !strings.Contains(out, `\u001b`) {
			t.Errorf("weft %v hides the escapes instead of showing them:\n%s", args, out)
		}
	}
}
