//go:build !race

package langgraph_test

// raceEnabled: the tests run without -race.
const raceEnabled = false
