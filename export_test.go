package weft

// SetOwner makes wf claim threads as owner, as another process would: for
// tests of takeovers within one process.
func SetOwner[S any](wf *Workflow[S], owner string) { wf.owner = owner }

// ForgetHeads empties wf's cache of decoded heads, so that its next read
// of a thread decodes the thread's checkpoint from the store, as another
// process would.
func ForgetHeads[S any](wf *Workflow[S]) {
	if sp, ok := wf.p.(*storePersister[S]); ok && sp.heads != nil {
		sp.heads = newHeadCache[S](wf.state)
	}
}
