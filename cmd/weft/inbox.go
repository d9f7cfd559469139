package main

import (
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/weftgraph/weft/inbox"
)

// listFlag is a flag that may be repeated and takes comma-separated values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

var inboxCmd = &command{
	name:    "inbox",
	nargs:   [2]int{0, 0},
	summary: "list the questions that wait for an answer, oldest first",
	help: `Inbox lists the pending questions of every thread in the store, oldest
first, one page at a time: thread, question ID, workflow, node, who it is
assigned to, how long it has waited, when it is due and what it asks. Answer
one with 'weft answer THREAD ID JSON'. It works for threads of any workflow.

Filters combine: --workflow, --node (the node path, exactly), --thread,
--assignee (one of several: repeat it or separate with commas) and
--older-than. A page holds --limit questions (at most 500); the next one is
read with --after CURSOR, the cursor printed under the page (or "next" with
--json), or all at once with --all.

  weft inbox --assignee editors --older-than 1h
  weft inbox --workflow demo-refund --json`,
	setup: func(c *cli, fs *flag.FlagSet) func([]string) error {
		var q inbox.Query
		var assignees listFlag
		var all bool
		fs.StringVar(&q.Workflow, "workflow", "", "only questions of threads of this workflow")
		fs.StringVar(&q.Node, "node", "", "only questions asked by this node path")
		fs.StringVar(&q.Thread, "thread", "", "only questions of this thread")
		fs.Var(&assignees, "assignee", "only questions assigned to one of these principals or roles (repeatable, comma-separated)")
		fs.DurationVar(&q.OlderThan, "older-than", 0, "only questions asked at least this long ago (90m, 24h)")
		fs.IntVar(&q.Limit, "limit", inbox.DefaultLimit, "questions per page, at most 500")
		fs.StringVar(&q.After, "after", "", "the cursor of the page to read, printed under the previous one")
		fs.BoolVar(&all, "all", false, "read every page")
		return func([]string) error {
			q.Assignees = assignees
			return runInbox(c, q, all)
		}
	},
}

func runInbox(c *cli, q inbox.Query, all bool) error {
	if q.Limit < 1 || q.Limit > inbox.MaxLimit {
		return usagef("--limit %d: want 1 to %d", q.Limit, inbox.MaxLimit)
	}
	ib, err := c.openInbox(false)
	if err != nil {
		return err
	}
	var items []inbox.Item
	var next string
	for {
		page, err := ib.List(c.ctx, q)
		if err != nil {
			return err
		}
		items = append(items, page.Items...)
		next = page.Next
		if !all || next == "" {
			break
		}
		q.After = next
	}
	if c.json {
		out := struct {
			Items []questionJSON `json:"items"`
			Next  string         `json:"next"`
		}{Items: []questionJSON{}, Next: next}
		for i := range items {
			out.Items = append(out.Items, itemOf(&items[i]))
		}
		return c.printJSON(out)
	}
	if len(items) == 0 {
		fmt.Fprintln(c.stdout, "No questions are waiting.")
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "THREAD\tQUESTION\tWORKFLOW\tNODE\tASSIGNED\tWAITING\tDUE\tASKS")
	for _, it := range items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", it.Thread, it.ID, it.Workflow, it.Node,
			orDash(strings.Join(it.Assignees, ",")), short(now.Sub(it.Created)),
			due(now, it.Deadline, it.EscalateTo, it.HasFallback), compact(it.Value, 60))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if next != "" {
		fmt.Fprintf(c.stdout, "\nMore: weft inbox --after %s (or --all)\n", next)
	}
	return nil
}
