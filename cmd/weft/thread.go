package main

import (
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

var showCmd = &command{
	name:    "show",
	args:    "THREAD",
	nargs:   [2]int{1, 1},
	summary: "show a thread's state and the questions it waits for",
	help: `Show prints a thread: its workflow and status, its current checkpoint,
the nodes it runs next, its state, and the questions it waits for, each with
its ID, what it asks, the answer it wants and the command that answers it.

The state of a demo workflow's thread is shown with its own fields. For other
workflows the state is read from the store without the program's Go types:
each field as stored, when the store holds JSON (weft's default codec).

  weft show post-1
  weft show post-1 --json`,
	setup: func(c *cli, _ *flag.FlagSet) func([]string) error {
		return func(args []string) error { return runShow(c, args) }
	},
}

func runShow(c *cli, args []string) error {
	ib, err := c.openInbox(false)
	if err != nil {
		return err
	}
	s, err := ib.State(c.ctx, args[0])
	if err != nil {
		return err
	}
	_, runnable := ib.Runner(s.Workflow)
	row, err := ib.Store().Thread(c.ctx, args[0])
	if err != nil {
		return fmt.Errorf("thread %q: %w", args[0], err)
	}
	if c.json {
		out := snapshotOf(s, row, runnable)
		for i := range out.Questions {
			out.Questions[i].AnswerUsing = answerCommand(c, s.Thread, out.Questions[i].ID)
		}
		return c.printJSON(out)
	}
	now := time.Now()
	w := c.stdout
	fmt.Fprintf(w, "thread      %s\n", s.Thread)
	fmt.Fprintf(w, "workflow    %s\n", s.Workflow)
	fmt.Fprintf(w, "status      %s\n", s.Status)
	if row.Status == weft.StatusRunning {
		lease := "lapsed " + short(now.Sub(row.LeaseUntil)) + " ago: a worker takes it over"
		if row.LeaseUntil.After(now) {
			lease = "until " + stamp(row.LeaseUntil)
		}
		fmt.Fprintf(w, "owner       %s (claim %d, %s)\n", orDash(row.Owner), row.Epoch, lease)
	}
	if !row.StopRequested.IsZero() {
		fmt.Fprintf(w, "stop        requested %s ago; it stops at its next heartbeat\n", short(now.Sub(row.StopRequested)))
	}
	if s.Error != "" {
		fmt.Fprintf(w, "error       %s\n", s.Error)
	}
	if s.Checkpoint != "" {
		fmt.Fprintf(w, "checkpoint  %s (step %d, %s, %s ago)\n", s.Checkpoint, s.Step, s.Source, short(now.Sub(s.Created)))
	}
	fmt.Fprintf(w, "next        %s\n", orDash(strings.Join(s.Next, ", ")))
	switch {
	case s.Values != nil:
		fmt.Fprintf(w, "state\n%s\n", indent(s.Values, "  "))
	case !runnable:
		fmt.Fprintf(w, "state       (not shown: workflow %s is not one this command has, and its state is not stored as JSON)\n", s.Workflow)
	}
	for _, sg := range s.Subgraphs {
		fmt.Fprintf(w, "subgraph    %s (%s), next %s\n%s\n", sg.Path, sg.Workflow, orDash(strings.Join(sg.Next, ", ")), indent(sg.Values, "  "))
	}
	if len(s.Interrupts) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nwaiting for %d question(s):\n", len(s.Interrupts))
	for _, q := range s.Interrupts {
		fmt.Fprintf(w, "\n  %s  node %s", q.ID, q.Node)
		if q.Task != q.Node && q.Task != "" {
			fmt.Fprintf(w, " (%s)", q.Task)
		}
		fmt.Fprintln(w)
		if q.Reason != "" {
			fmt.Fprintf(w, "    reason    %s\n", q.Reason)
		}
		if len(q.Assignees) > 0 {
			fmt.Fprintf(w, "    assigned  %s\n", strings.Join(q.Assignees, ", "))
		}
		fmt.Fprintf(w, "    asked     %s ago\n", short(now.Sub(q.Created)))
		if !q.Deadline.IsZero() {
			fmt.Fprintf(w, "    due       %s\n", due(now, q.Deadline, nil, false))
		}
		fmt.Fprintf(w, "    asks      %s\n", compact(q.Value, 200))
		if q.Kind == weft.KindDynamic {
			fmt.Fprintf(w, "    wants     %s\n", schemaHint(q.Schema))
		} else {
			fmt.Fprintf(w, "    wants     nothing: a breakpoint (%s); answer null to pass it\n", q.Kind)
		}
		fmt.Fprintf(w, "    answer    %s\n", answerCommand(c, s.Thread, q.ID))
	}
	return nil
}

// answerCommand is the command line that answers question id of thread.
func answerCommand(c *cli, thread, id string) string {
	cmd := fmt.Sprintf("weft answer %s %s 'JSON'", shellQuote(thread), id)
	if c.store != defaultStore() {
		cmd += " --store " + shellQuote(redact(c.store))
	}
	return cmd
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

var historyCmd = &command{
	name:    "history",
	args:    "THREAD",
	nargs:   [2]int{1, 1},
	summary: "show a thread's checkpoints, steps and answers",
	help: `History prints what happened to a thread: its checkpoints, newest first
(with their states in --json, for the demo's workflows); its superstep log,
every node run with its outcome and duration; and every question it asked,
with the answer, who gave it, through which channel (api, ui, cli, resolver,
deadline) and when.

  weft history post-1
  weft history post-1 --json | jq '.questions[] | {author, answer}'`,
	setup: func(c *cli, _ *flag.FlagSet) func([]string) error {
		return func(args []string) error { return runHistory(c, args) }
	},
}

type checkpointJSON struct {
	ID      string    `json:"id"`
	Parent  string    `json:"parent,omitempty"`
	Step    int       `json:"step"`
	Source  string    `json:"source"`
	Next    []string  `json:"next"`
	Created time.Time `json:"created"`
	Values  any       `json:"values,omitempty"`
}

type stepJSON struct {
	Superstep  int       `json:"superstep"`
	Namespace  string    `json:"namespace,omitempty"`
	Checkpoint string    `json:"checkpoint"`
	Node       string    `json:"node"`
	Task       string    `json:"task"`
	Status     string    `json:"status"`
	Started    time.Time `json:"started"`
	DurationMS float64   `json:"duration_ms"`
	Error      string    `json:"error,omitempty"`
}

func runHistory(c *cli, args []string) error {
	ib, row, err := c.openThread(args[0])
	if err != nil {
		return err
	}
	store := ib.Store()
	var cps []checkpointJSON
	if r, ok := ib.Runner(row.Workflow); ok {
		for s, err := range r.History(c.ctx, row.ID) {
			if err != nil {
				return err
			}
			cps = append(cps, checkpointJSON{ID: s.Checkpoint, Parent: s.Parent, Step: s.Step, Source: s.Source,
				Next: orEmpty(s.Next), Created: s.Created, Values: s.Values})
		}
	} else {
		list, err := store.History(c.ctx, &checkpoint.HistoryQuery{ThreadID: row.ID})
		if err != nil {
			return err
		}
		for _, cp := range list {
			cps = append(cps, checkpointJSON{ID: cp.ID, Parent: cp.ParentID, Step: cp.Step, Source: cp.Source,
				Next: orEmpty(cp.Next), Created: cp.CreatedAt})
		}
	}
	steps, err := store.Steps(c.ctx, row.ID, 0)
	if err != nil {
		return err
	}
	entries, err := ib.Audit(c.ctx, row.ID)
	if err != nil {
		return err
	}
	if c.json {
		out := struct {
			Thread      string           `json:"thread"`
			Workflow    string           `json:"workflow"`
			Status      weft.Status      `json:"status"`
			Checkpoints []checkpointJSON `json:"checkpoints"`
			Steps       []stepJSON       `json:"steps"`
			Questions   []questionJSON   `json:"questions"`
		}{Thread: row.ID, Workflow: row.Workflow, Status: row.Status,
			Checkpoints: []checkpointJSON{}, Steps: []stepJSON{}, Questions: []questionJSON{}}
		out.Checkpoints = append(out.Checkpoints, cps...)
		for _, st := range steps {
			out.Steps = append(out.Steps, stepJSON{Superstep: st.Superstep, Namespace: st.Namespace, Checkpoint: st.CheckpointID,
				Node: st.Node, Task: st.Task, Status: string(st.Status), Started: st.StartedAt,
				DurationMS: float64(st.Duration) / float64(time.Millisecond), Error: st.Error})
		}
		for _, e := range entries {
			out.Questions = append(out.Questions, questionJSON{
				ID: e.InterruptID, Thread: row.ID, Workflow: row.Workflow, Node: e.Node, Task: e.Task, Kind: e.Kind,
				Reason: e.Reason, Value: nonEmpty(e.Value), Assignees: e.Assignees, Deadline: e.Deadline, Created: e.Asked,
				Status: string(e.Status), Answer: nonEmpty(e.Answer), Author: e.Author, Channel: e.Channel, AnsweredAt: e.AnsweredAt,
			})
		}
		return c.printJSON(out)
	}

	w := c.stdout
	fmt.Fprintf(w, "thread %s (%s), %s\n\ncheckpoints, newest first:\n", row.ID, row.Workflow, row.Status)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  CHECKPOINT\tSTEP\tSOURCE\tNEXT\tCREATED")
	for _, cp := range cps {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\t%s\n", cp.ID, cp.Step, cp.Source, orDash(strings.Join(cp.Next, ",")), stamp(cp.Created))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nsteps:\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  STEP\tTASK\tSTATUS\tDURATION\tERROR")
	for _, st := range steps {
		task := st.Task
		if st.Namespace != "" {
			task = st.Node
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", st.Superstep, task, st.Status, st.Duration.Round(time.Microsecond), st.Error)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nquestions:\n")
	if len(entries) == 0 {
		fmt.Fprintln(w, "  none")
		return nil
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ASKED\tQUESTION\tNODE\tSTATUS\tBY\tVIA\tANSWER")
	for _, e := range entries {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", stamp(e.Asked), e.InterruptID, e.Node,
			e.Status, orDash(e.Author), orDash(e.Channel), orDash(compact(e.Answer, 60)))
	}
	return tw.Flush()
}
