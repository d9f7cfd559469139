package weft

// Who did what to a thread by hand is kept in its checkpoints' metadata
// (checkpoint.Checkpoint.Meta), so that History (and a store read without
// the workflow) shows it along with the states:
//
//   - an edit (UpdateState, Fork, with By and Note): MetaAuthor,
//     MetaChannel, MetaNote on the checkpoint it writes;
//   - a cancel (Cancel, with By): a checkpoint of its own, with the state
//     as it was and Source checkpoint.SourceCancel, with MetaAuthor,
//     MetaChannel and the reason as MetaNote, whether or not it withdrew
//     questions (those record it too);
//   - a resume (Resume with By): MetaResumedBy and MetaResumedVia on the
//     first checkpoint the resumed run writes (a run that pauses or fails
//     before it writes one records who resumed it nowhere but on the
//     answers it was given, if any).

// The keys of checkpoint.Checkpoint.Meta under which Resume records who
// resumed the thread (By) and through which channel.
const (
	MetaResumedBy  = "resumed_by"
	MetaResumedVia = "resumed_via"
)

// resumedMeta adds who resumed the thread to a checkpoint's metadata.
func resumedMeta(meta map[string]string, by, via string) map[string]string {
	if meta == nil {
		meta = make(map[string]string, 2)
	}
	meta[MetaResumedBy], meta[MetaResumedVia] = by, via
	return meta
}

// CancelMeta is the metadata of the checkpoint a cancel writes (see
// checkpoint.SourceCancel): who cancelled the thread, through which
// channel ("api" if none), and why. Stores and tools that cancel a thread
// without its workflow (package inbox) write the same.
func CancelMeta(author, channel, reason string) map[string]string {
	if channel == "" {
		channel = "api"
	}
	m := map[string]string{MetaChannel: channel}
	if author != "" {
		m[MetaAuthor] = author
	}
	if reason != "" {
		m[MetaNote] = reason
	}
	return m
}
