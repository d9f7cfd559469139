package main

import (
	"strings"
	"testing"
)

func TestAnswerByKey(t *testing.T) {
	dir := fixture(t)
	postID := question(t, dir, "post-1")
	var agent inboxOut
	weftIn(t, dir, "", "inbox", "--thread", "agent-1", "--json").want(t, 0).json(t, &agent)
	if len(agent.Items) < 2 || agent.Items[0].Key == "" {
		t.Fatalf("agent-1 waits for %+v; want several keyed questions", agent.Items)
	}
	agentKey, agentNode := agent.Items[0].Key, agent.Items[0].Node

	for _, tc := range []struct {
		name string
		args []string
		code int
		has  []string
	}{
		{"no such key", []string{"answer", "post-1", "--key", "nope", `{"action":"approve"}`}, exitNotFound,
			[]string{`--key "nope" matches no question of thread post-1`, postID, "node review", "Hint:"}},
		{"several by key", []string{"answer", "agent-1", "--key", agentKey, `{"approve":true}`}, exitUsage,
			[]string{"matches 3 questions", agent.Items[0].ID, agent.Items[1].ID, "key " + agentKey, "answer by ID"}},
		{"several by node", []string{"answer", "agent-1", "--key", agentNode, `{"approve":true}`}, exitUsage,
			[]string{"matches 3 questions"}},
		{"key and ID", []string{"answer", "post-1", "--key", "review", postID, `{"action":"approve"}`}, exitUsage,
			[]string{"with --key, want THREAD JSON"}},
		{"no key, no ID", []string{"answer", "post-1", `{"action":"approve"}`}, exitUsage, []string{"want THREAD ID JSON"}},
		{"thread without questions", []string{"answer", "nope", "--key", "review", `1`}, exitNotFound, []string{`thread "nope": not found`}},
		{"invalid answer", []string{"answer", "post-1", "--key", "review", `{"action":"maybe"}`}, exitInvalid, []string{"invalid answer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			weftIn(t, dir, "", tc.args...).want(t, tc.code, tc.has...)
		})
	}
	r := weftIn(t, dir, "", "answer", "agent-1", "--key", agentKey, `{"approve":true}`, "--json").want(t, exitUsage, `"code":"ambiguous"`)
	if r.stdout != "" {
		t.Errorf("stdout: %s", r.stdout)
	}

	// By node path: the one question of post-1.
	weftIn(t, dir, "", "answer", "post-1", "--key", "review", `{"action":"approve"}`, "--as", "kim").
		want(t, 0, "Answered "+postID+" as kim", "thread post-1 is completed")
	weftIn(t, dir, "", "answer", "post-1", "--key", "review", `{"action":"approve"}`).
		want(t, exitNotFound, "thread post-1 waits for no question")
	// Of a workflow the command does not have: recorded, for a worker.
	weftIn(t, dir, "", "answer", "ext-1", "--key", "check", "true", "--no-wait").want(t, 0, "Recorded the answer", "ready for a worker")
	// By ID, as before.
	eid := question(t, dir, "essay-1")
	weftIn(t, dir, "", "answer", "essay-1", eid, `{"action":"approve"}`).want(t, 0, "Answered "+eid)
	if !strings.Contains(weftIn(t, dir, "", "answer", "--help").stdout, "--key") {
		t.Error("answer --help lacks --key")
	}
}
