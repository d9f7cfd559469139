package weft

// SetOwner makes wf claim threads as owner, as another process would: for
// tests of takeovers within one process.
func SetOwner[S any](wf *Workflow[S], owner string) { wf.owner = owner }
