// Package crashtest proves that weft loses nothing when its process dies:
// its tests run a workflow in child processes (the test binary itself,
// re-executed) against a real SQLite file and a real PostgreSQL schema, kill
// them with SIGKILL at random moments — inside nodes, during Do, between an
// answer and the run it resumes — and start fresh processes that carry
// every thread on. After the kills (200 per store; 20 with -short; set with
// -crash.kills), every thread must have completed with its answer, each
// journaled side effect must never have run again once journaled, and the
// effect system (deduplicating by weft.EffectID) must have seen exactly one
// effect per thread.
//
// The package has no API: it exists for its tests.
package crashtest
