package weft

import (
	"context"
	"time"
)

// Monitor is told what the machinery around runs does, for metrics: a
// worker's claims, takeovers and lost claims, and the deadlines the inbox
// fires. worker.Config.Monitor and inbox.WithMonitor take one; package
// github.com/weftgraph/weft/otel implements it (its Telemetry). The calls
// come from the worker's and the inbox's goroutines: they must be safe for
// concurrent use and quick.
type Monitor interface {
	// Claimed: a worker claimed a thread of workflow to run it. takeover
	// says it took the thread from an owner whose lease had lapsed (a
	// process presumed dead), not a ready one.
	Claimed(ctx context.Context, workflow string, takeover bool)
	// ClaimLost: a worker's run of a thread of workflow stopped because
	// another process had taken the thread over (ErrClaimLost): this
	// process froze or could not renew its lease in time.
	ClaimLost(ctx context.Context, workflow string)
	// DeadlineFired: the deadline of a question of workflow, asked at
	// node, fired: action is DeadlineEscalated (the question was
	// reassigned) or DeadlineFallback (it was answered with its fallback).
	DeadlineFired(ctx context.Context, workflow, node string, action DeadlineAction)
	// Answered: an answer to a question of workflow, asked at node, was
	// recorded for a worker to carry on with (inbox.WithQueue, as a
	// worker's inbox and a server without the workflow record them), on
	// channel, waited after the question was asked. Answers given to a
	// run (Resume) are not told here: that run's observers see them, as
	// EventAnswered.
	Answered(ctx context.Context, workflow, node, channel string, waited time.Duration)
}

// DeadlineAction is what a fired deadline did.
type DeadlineAction string

// What a fired deadline did.
const (
	DeadlineEscalated DeadlineAction = "escalated"
	DeadlineFallback  DeadlineAction = "fallback"
)
