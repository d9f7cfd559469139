//go:build race

package langgraph_test

// raceEnabled: the tests run with -race, and so does the weft serve the JS
// SDK test builds (which also reuses the packages the test build compiled).
const raceEnabled = true
