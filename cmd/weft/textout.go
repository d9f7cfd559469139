package main

import (
	"fmt"
	"io"
	"unicode/utf8"
)

// terminalSafe is a writer that neutralises what a terminal would act on
// in the command's output: control characters other than newline and tab
// (ESC, BEL, backspace, carriage return, DEL, the C1 controls such as
// CSI), bidirectional overrides and isolates (which reorder what is shown)
// and bytes that are not UTF-8 are written as visible escapes, \u001b or
// \xff. Payloads, reasons, errors and names come from whoever asked or
// answered a question; printed as they are, "\x1b]0;...\a" would retitle
// the window and "\x1b[2J" clear the screen. The \uXXXX form is also a
// valid escape inside a JSON string, so JSON output (whose encoder escapes
// only the C0 controls) reads back the same.
type terminalSafe struct{ w io.Writer }

// unsafeRune reports whether r must not reach a terminal as it is.
func unsafeRune(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return false
}

// Write writes p with the unsafe runes escaped; it reports len(p) when the
// whole escaped text was written.
func (t terminalSafe) Write(p []byte) (int, error) {
	clean := true
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRune(p[i:])
		if (r == utf8.RuneError && n <= 1) || unsafeRune(r) {
			clean = false
			break
		}
		i += n
	}
	if clean {
		return t.w.Write(p)
	}
	out := make([]byte, 0, len(p)+16)
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRune(p[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			out = fmt.Appendf(out, `\x%02x`, p[i])
		case unsafeRune(r):
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, p[i:i+n]...)
		}
		i += n
	}
	if _, err := t.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
