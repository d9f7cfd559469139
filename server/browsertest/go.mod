module github.com/weftgraph/weft/server/browsertest

go 1.26.0

require (
	github.com/chromedp/chromedp v0.23.0
	github.com/weftgraph/weft v0.0.0
)

require (
	github.com/chromedp/cdproto v0.159.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/google/jsonschema-go v0.4.3 // indirect
)

replace github.com/weftgraph/weft => ../..
