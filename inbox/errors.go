package inbox

import (
	"errors"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

// Sentinel errors of the inbox. Test them with errors.Is: the errors the
// inbox returns wrap them with detail. Several are weft's own sentinels,
// repeated here so that code using the inbox needs no other import to
// check them; errors.Is matches either name.
var (
	// ErrUnknownWorkflow: the thread belongs to a workflow that is not
	// registered with the inbox (New or Register), so the inbox cannot run
	// it. Its questions can still be listed, shown and recorded (Record).
	ErrUnknownWorkflow = errors.New("inbox: unknown workflow")

	// ErrInvalidCursor: Query.After is not a cursor of this inbox's store
	// (a client's mistake: a cursor made up or cut short). It is
	// checkpoint.ErrBadCursor, which stores return.
	ErrInvalidCursor = checkpoint.ErrBadCursor

	// ErrNotFound: no such thread or interrupt. It is weft.ErrNotFound,
	// which is checkpoint.ErrNotFound.
	ErrNotFound = weft.ErrNotFound

	// ErrAlreadyAnswered: the question was answered before, or cancelled
	// because the thread moved on; the earlier answer stands.
	ErrAlreadyAnswered = weft.ErrAlreadyAnswered

	// ErrInvalidAnswer: the answer does not satisfy the question's schema
	// (or is not JSON). Nothing was recorded; the thread is unchanged.
	ErrInvalidAnswer = weft.ErrInvalidAnswer

	// ErrUnknownInterrupt: the thread does not wait on a question with
	// this ID and never asked one.
	ErrUnknownInterrupt = weft.ErrUnknownInterrupt

	// ErrBusy: the thread was running when the answer came. The answer is
	// recorded (the error is a *weft.AnsweredError) and the running owner
	// acts on it.
	ErrBusy = weft.ErrBusy

	// ErrNotRunning: Stop of a thread that neither runs nor waits (stopped,
	// failed, completed or cancelled), or Cancel of one that has ended.
	// Nothing was changed.
	ErrNotRunning = weft.ErrNotRunning

	// ErrConflict: the thread kept changing under a Stop, Cancel or Resume
	// (answers, claims, edits by others) through every retry; nothing of
	// that call was kept. Look again and retry.
	ErrConflict = weft.ErrConflict
)
