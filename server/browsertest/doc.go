// Package browsertest drives weft's review pages in a real headless
// Chromium (through chromedp) and keeps screenshots of what a person sees.
//
// It is a module of its own, github.com/weftgraph/weft/server/browsertest,
// so that importing weft does not bring chromedp and its protocol
// definitions into every user's build: only weft's own CI runs it. The
// package has no API; its tests are the point:
//
//	go -C server/browsertest test -race ./...
//
// The tests need a Chromium or Chrome binary: chromium, chromium-browser,
// google-chrome or headless-shell on PATH, or its path in WEFT_CHROMIUM
// (Debian: apt-get install -y chromium). Without one they are skipped,
// except under CI=true, where they fail. Screenshots go to the directory in
// WEFT_SCREENSHOTS, or to a temporary one that the test removes.
//
// The tests build their server through weft's public API only (a memstore,
// an inbox, server.New with test tokens, httptest), the way a user's
// program would, and check the results through the JSON API.
package browsertest
