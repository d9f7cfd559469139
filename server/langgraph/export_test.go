package langgraph

// MaxLogs is maxLogs, for the tests.
const MaxLogs = maxLogs
