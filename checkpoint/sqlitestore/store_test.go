package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
	"github.com/weftgraph/weft/checkpoint/storetest"
)

// open opens a migrated store in a new file of t's temporary directory and
// closes it when t ends.
func open(t testing.TB) *sqlitestore.Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "weft.db"))
}

// openAt opens a migrated store at path and closes it when t ends.
func openAt(t testing.TB, path string) *sqlitestore.Store {
	t.Helper()
	return openOpts(t, path, sqlitestore.Options{})
}

// openOpts opens a store at path with opts, migrating it, and closes it
// when t ends.
func openOpts(t testing.TB, path string, opts sqlitestore.Options) *sqlitestore.Store {
	t.Helper()
	opts.Migrate = true
	s, err := sqlitestore.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// rawDB opens path with the driver alone, for tests that look at or damage
// the file behind the store's back.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var t0 = time.Date(2025, time.March, 1, 9, 30, 0, 0, time.UTC)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) checkpoint.Store { return open(t) })
}

func TestOutboxConformance(t *testing.T) {
	storetest.RunOutbox(t, func(t *testing.T, outbox bool) checkpoint.Store {
		return openOpts(t, filepath.Join(t.TempDir(), "weft.db"), sqlitestore.Options{Outbox: outbox})
	})
}

// commitNext commits version expected+1 of thread id with one blob whose
// data is mark, and returns Commit's result.
func commitNext(ctx context.Context, s checkpoint.Store, id string, expected int64, mark string) (int64, error) {
	v := expected + 1
	cpID := checkpoint.FormatID(v)
	parent := ""
	if expected > 0 {
		parent = checkpoint.FormatID(expected)
	}
	return s.Commit(ctx, &checkpoint.Commit{
		Thread:          checkpoint.Thread{ID: id, Workflow: "w", GraphHash: "g", Status: checkpoint.StatusRunning, Head: cpID},
		ExpectedVersion: expected,
		At:              t0.Add(time.Duration(v) * time.Second),
		Checkpoint: &checkpoint.Checkpoint{ParentID: parent, Step: int(v), Source: checkpoint.SourceLoop,
			Versions: map[string]int64{"f": v}, Blobs: []checkpoint.Blob{{Field: "f", Data: []byte(mark)}}},
		Steps: []checkpoint.Step{{Node: mark, Task: mark, Status: checkpoint.StepCompleted, StartedAt: t0}},
	})
}

// TestTwoStoresOneFile races commits of one thread through two Stores on
// the same file (separate connections, as two processes would have): for
// every version exactly one commit wins, the others get ErrConflict and
// leave nothing behind.
func TestTwoStoresOneFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	stores := []*sqlitestore.Store{openAt(t, path), openAt(t, path)}
	const versions, perStore = 20, 3
	winners := make([]string, versions+1)
	for expected := range int64(versions) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var won []string
		for si, s := range stores {
			for g := range perStore {
				mark := fmt.Sprintf("s%d-g%d", si, g)
				wg.Go(func() {
					_, err := commitNext(ctx, s, "t", expected, mark)
					switch {
					case err == nil:
						mu.Lock()
						won = append(won, mark)
						mu.Unlock()
					case !errors.Is(err, checkpoint.ErrConflict):
						t.Errorf("version %d: %s: %v, want nil or ErrConflict", expected+1, mark, err)
					}
				})
			}
		}
		wg.Wait()
		if len(won) != 1 {
			t.Fatalf("version %d: %d winners %q, want 1", expected+1, len(won), won)
		}
		winners[expected+1] = won[0]
	}
	for i, s := range stores {
		th, err := s.Thread(ctx, "t")
		if err != nil || th.Version != versions {
			t.Fatalf("store %d: Thread = %+v, %v; want version %d", i, th, err, versions)
		}
		steps, err := s.Steps(ctx, "t", 0)
		if err != nil || len(steps) != versions {
			t.Fatalf("store %d: %d steps, %v; want %d", i, len(steps), err, versions)
		}
		for _, st := range steps {
			if st.Node != winners[st.Version] {
				t.Errorf("store %d: step of version %d by %s, want the winner %s", i, st.Version, st.Node, winners[st.Version])
			}
		}
		for v := int64(1); v <= versions; v++ {
			cp, err := s.Checkpoint(ctx, "t", "", checkpoint.FormatID(v))
			if err != nil || len(cp.Blobs) != 1 || string(cp.Blobs[0].Data) != winners[v] {
				t.Fatalf("store %d: Checkpoint(%d) = %+v, %v; want the winner %s's blob", i, v, cp, err, winners[v])
			}
		}
	}
}

// TestTwoProcesses runs the same race across processes: this test binary
// started twice, each process committing to one thread as fast as it can,
// reading the version again after each conflict. Every commit of each
// process must succeed eventually, with no error but ErrConflict on the way
// (no SQLITE_BUSY: writers wait for each other).
func TestTwoProcesses(t *testing.T) {
	if os.Getenv("SQLITESTORE_CHILD") != "" {
		t.Skip("running as a child")
	}
	if testing.Short() {
		t.Skip("starts processes")
	}
	path := filepath.Join(t.TempDir(), "shared.db")
	s := openAt(t, path) // migrates the file
	const procs, commits = 2, 100
	start := filepath.Join(t.TempDir(), "go") // the children wait for it
	var wg sync.WaitGroup
	outs := make([][]byte, procs)
	errs := make([]error, procs)
	for p := range procs {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestChildCommits$", "-test.v")
			cmd.Env = append(os.Environ(), "SQLITESTORE_CHILD="+path, "SQLITESTORE_COMMITS="+strconv.Itoa(commits),
				"SQLITESTORE_MARK=p"+strconv.Itoa(p), "SQLITESTORE_START="+start)
			outs[p], errs[p] = cmd.CombinedOutput()
		})
	}
	time.Sleep(300 * time.Millisecond) // let both open the store
	if err := os.WriteFile(start, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for p := range procs {
		if errs[p] != nil || !strings.Contains(string(outs[p]), "--- PASS: TestChildCommits") {
			t.Fatalf("process %d: %v\n%s", p, errs[p], outs[p])
		}
		for line := range strings.Lines(string(outs[p])) {
			if strings.Contains(line, "conflicts") {
				t.Logf("process %d: %s", p, strings.TrimSpace(line))
			}
		}
	}
	th, err := s.Thread(context.Background(), "t")
	if err != nil || th.Version != procs*commits {
		t.Fatalf("Thread = %+v, %v; want version %d", th, err, procs*commits)
	}
	steps, err := s.Steps(context.Background(), "t", 0)
	if err != nil || len(steps) != procs*commits {
		t.Fatalf("%d steps, %v; want %d", len(steps), err, procs*commits)
	}
}

// TestChildCommits is the child of TestTwoProcesses.
func TestChildCommits(t *testing.T) {
	path := os.Getenv("SQLITESTORE_CHILD")
	if path == "" {
		t.Skip("only run by TestTwoProcesses")
	}
	n, _ := strconv.Atoi(os.Getenv("SQLITESTORE_COMMITS"))
	mark := os.Getenv("SQLITESTORE_MARK")
	ctx := context.Background()
	s, err := sqlitestore.Open(ctx, path, sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(os.Getenv("SQLITESTORE_START")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no start signal")
		}
	}
	conflicts := 0
	for done := 0; done < n; {
		var v int64
		th, err := s.Thread(ctx, "t")
		switch {
		case errors.Is(err, checkpoint.ErrNotFound):
		case err != nil:
			t.Fatal(err)
		default:
			v = th.Version
		}
		if _, err := commitNext(ctx, s, "t", v, mark); errors.Is(err, checkpoint.ErrConflict) {
			conflicts++
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		done++
	}
	t.Logf("%d commits, %d conflicts", n, conflicts)
}

// TestCloseReleasesFile checks that after Close no connection holds the
// file: SQLite removed the WAL (which it does when the last connection
// closes) and another connection takes an exclusive lock at once.
func TestCloseReleasesFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weft.db")
	s, err := sqlitestore.Open(ctx, path, sqlitestore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := commitNext(ctx, s, "t", 0, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Checkpoint(ctx, "t", "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Fatalf("while open: %v, want a WAL file", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + suffix); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after Close: %s: %v, want it removed", suffix, err)
		}
	}
	db, err := sql.Open("sqlite", path+"?_busy_timeout=0")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatalf("BEGIN EXCLUSIVE after Close: %v", err)
	}
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM checkpoints").Scan(&n); err != nil || n != 1 {
		t.Fatalf("checkpoints after Close: %d, %v; want 1 (the WAL was checkpointed into the file)", n, err)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Thread(ctx, "t"); err == nil {
		t.Error("Thread after Close: no error")
	}
}

func TestOpenRefusesNonFiles(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db?mode=memory"} {
		if s, err := sqlitestore.Open(context.Background(), p, sqlitestore.Options{Migrate: true}); err == nil {
			s.Close()
			t.Errorf("Open(%q): no error", p)
		}
	}
}

// TestOpenOddPath opens a file whose name holds characters that mean
// something in a URI.
func TestOpenOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?x=1#frag%20")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "we?ft#1%.db")
	s := openAt(t, path)
	if _, err := commitNext(context.Background(), s, "t", 0, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not at %q: %v", path, err)
	}
}

// TestCorruptRows damages stored rows behind the store's back; reading them
// must fail with an error that wraps checkpoint.ErrCorrupt and names the
// row, never panic or return a wrong value.
func TestCorruptRows(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		damage string
		read   func(s *sqlitestore.Store) error
		names  []string // what the error must mention
	}{
		{"CheckpointVersions", `UPDATE checkpoints SET versions = '{"f": 1' WHERE version = 1`,
			func(s *sqlitestore.Store) error { _, err := s.Checkpoint(ctx, "t", "", ""); return err },
			[]string{`"t"`, "000000000001", "versions"}},
		{"CheckpointVersionsNotInts", `UPDATE checkpoints SET versions = '{"f": "one"}' WHERE version = 1`,
			func(s *sqlitestore.Store) error { _, err := s.Checkpoint(ctx, "t", "", ""); return err },
			[]string{`"t"`, "000000000001", "versions"}},
		{"CheckpointNext", `UPDATE checkpoints SET next = '[1, 2]' WHERE version = 1`,
			func(s *sqlitestore.Store) error {
				_, err := s.History(ctx, &checkpoint.HistoryQuery{ThreadID: "t"})
				return err
			},
			[]string{`"t"`, "000000000001", "next"}},
		{"CheckpointMeta", `UPDATE checkpoints SET meta = 'null' WHERE version = 1`,
			func(s *sqlitestore.Store) error { _, err := s.Checkpoint(ctx, "t", "", "000000000001"); return err },
			[]string{`"t"`, "000000000001", "meta"}},
		{"CheckpointStep", `UPDATE checkpoints SET step = 'two' WHERE version = 1`,
			func(s *sqlitestore.Store) error { _, err := s.Checkpoint(ctx, "t", "", ""); return err },
			[]string{`"t"`, "000000000001", "step"}},
		{"BlobBase", `UPDATE blobs SET base = 'x' WHERE version = 1`,
			func(s *sqlitestore.Store) error { _, err := s.Checkpoint(ctx, "t", "", ""); return err },
			[]string{`"t"`, "000000000001", `"f"`, "base"}},
		{"InterruptAssignees", `UPDATE interrupts SET assignees = 'ann' WHERE id = 'q'`,
			func(s *sqlitestore.Store) error {
				_, err := s.Interrupts(ctx, &checkpoint.InterruptQuery{ThreadID: "t"})
				return err
			},
			[]string{`"t"`, `"q"`, "assignees"}},
		{"InterruptEscalateTo", `UPDATE interrupts SET escalate_to = '{"a": 1}' WHERE id = 'q'`,
			func(s *sqlitestore.Store) error {
				_, err := s.Interrupts(ctx, &checkpoint.InterruptQuery{Status: checkpoint.InterruptPending})
				return err
			},
			[]string{`"t"`, `"q"`, "escalate_to"}},
		{"InterruptDeadline", `UPDATE interrupts SET deadline = 'tomorrow' WHERE id = 'q'`,
			func(s *sqlitestore.Store) error {
				_, err := s.Interrupts(ctx, &checkpoint.InterruptQuery{})
				return err
			},
			[]string{`"t"`, `"q"`, "deadline"}},
		{"ThreadLease", `UPDATE threads SET lease_until = 1.5 WHERE id = 't'`,
			func(s *sqlitestore.Store) error { _, err := s.Thread(ctx, "t"); return err },
			[]string{`"t"`, "lease_until"}},
		{"ThreadsVersion", `UPDATE threads SET version = x'00' WHERE id = 't'`,
			func(s *sqlitestore.Store) error { _, err := s.Threads(ctx, nil); return err },
			[]string{`"t"`, "version"}},
		{"StepDuration", `UPDATE steps SET duration = 'long' WHERE version = 1`,
			func(s *sqlitestore.Store) error { _, err := s.Steps(ctx, "t", 0); return err },
			[]string{`"t"`, "duration"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "weft.db")
			s := openAt(t, path)
			_, err := s.Commit(ctx, &checkpoint.Commit{
				Thread: checkpoint.Thread{ID: "t", Workflow: "w", Status: checkpoint.StatusInterrupted, Head: checkpoint.FormatID(1)},
				At:     t0,
				Checkpoint: &checkpoint.Checkpoint{Source: checkpoint.SourceInput, Next: []string{"n"},
					Versions: map[string]int64{"f": 1}, Meta: map[string]string{"k": "v"},
					Blobs: []checkpoint.Blob{{Field: "f", Data: []byte(`"x"`)}}},
				Interrupts: []checkpoint.InterruptRecord{{ID: "q", Workflow: "w", Node: "n", Assignees: []string{"ann"},
					EscalateTo: []string{"boss"}, Deadline: t0.Add(time.Hour)}},
				Steps: []checkpoint.Step{{Node: "n", Task: "n", Status: checkpoint.StepInterrupted}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.read(s); err != nil {
				t.Fatalf("before the damage: %v", err)
			}
			if _, err := rawDB(t, path).ExecContext(ctx, c.damage); err != nil {
				t.Fatalf("%s: %v", c.damage, err)
			}
			err = c.read(s)
			if !errors.Is(err, checkpoint.ErrCorrupt) {
				t.Fatalf("after %s: error %v, want one wrapping ErrCorrupt", c.damage, err)
			}
			t.Log(err)
			for _, n := range c.names {
				if !strings.Contains(err.Error(), n) {
					t.Errorf("error %q does not mention %s", err, n)
				}
			}
		})
	}
}

// TestPruneRefusesCorruptVersions checks that Prune removes no blob when it
// cannot read which blobs a remaining checkpoint needs.
func TestPruneRefusesCorruptVersions(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weft.db")
	s := openAt(t, path)
	for v := range int64(3) {
		if _, err := commitNext(ctx, s, "t", v, fmt.Sprint("m", v)); err != nil {
			t.Fatal(err)
		}
	}
	db := rawDB(t, path)
	if _, err := db.ExecContext(ctx, `UPDATE checkpoints SET versions = '{oops' WHERE version = 3`); err != nil {
		t.Fatal(err)
	}
	_, err := s.Prune(ctx, &checkpoint.Prune{ThreadID: "t", KeepLast: 1})
	if !errors.Is(err, checkpoint.ErrCorrupt) || !strings.Contains(err.Error(), "000000000003") {
		t.Fatalf("Prune: %v, want ErrCorrupt naming checkpoint 000000000003", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM blobs`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d blobs, %v; want all 3 kept", n, err)
	}
}

// TestCommitChangesStatus moves a thread through statuses and a workflow
// rename: a commit that changes neither takes the short path, the others
// update the row and its indexes, and Threads finds the thread under its
// new status and workflow only.
func TestCommitChangesStatus(t *testing.T) {
	ctx := context.Background()
	now := t0.Add(time.Hour) // the store's clock, which leases run on
	s := openOpts(t, filepath.Join(t.TempDir(), "weft.db"), sqlitestore.Options{Clock: func() time.Time { return now }})
	steps := []struct {
		workflow string
		status   checkpoint.Status
	}{
		{"w", checkpoint.StatusRunning}, {"w", checkpoint.StatusRunning}, {"w", checkpoint.StatusInterrupted},
		{"w", checkpoint.StatusInterrupted}, {"w2", checkpoint.StatusInterrupted}, {"w3", checkpoint.StatusCompleted},
	}
	for i, st := range steps {
		v := int64(i)
		_, err := s.Commit(ctx, &checkpoint.Commit{Thread: checkpoint.Thread{ID: "t", Workflow: st.workflow, Status: st.status,
			Owner: fmt.Sprint("o", i), Epoch: v, LeaseUntil: t0}, ExpectedVersion: v, At: t0.Add(time.Duration(i) * time.Second),
			Lease: time.Duration(i) * time.Minute})
		if err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
		// A stale commit with the old status changes nothing.
		if _, err := s.Commit(ctx, &checkpoint.Commit{Thread: checkpoint.Thread{ID: "t", Workflow: "w", Status: checkpoint.StatusRunning},
			ExpectedVersion: v, At: t0}); !errors.Is(err, checkpoint.ErrConflict) {
			t.Fatalf("stale commit %d: %v, want ErrConflict", i, err)
		}
		// A running thread keeps its owner and gets its lease from the
		// store's clock; any other status clears both.
		owner, lease := fmt.Sprint("o", i), now.Add(time.Duration(i)*time.Minute)
		if st.status != checkpoint.StatusRunning {
			owner, lease = "", time.Time{}
		}
		th, err := s.Thread(ctx, "t")
		if err != nil || th.Version != v+1 || th.Status != st.status || th.Workflow != st.workflow ||
			th.Owner != owner || !th.LeaseUntil.Equal(lease) || th.Epoch != v ||
			!th.CreatedAt.Equal(t0) || !th.UpdatedAt.Equal(t0.Add(time.Duration(i)*time.Second)) {
			t.Fatalf("after commit %d: %+v, %v", i, th, err)
		}
		for _, q := range []checkpoint.ThreadQuery{{Status: checkpoint.StatusRunning}, {Status: checkpoint.StatusInterrupted},
			{Status: checkpoint.StatusCompleted}, {Workflow: "w"}, {Workflow: "w2"}, {Workflow: "w3"}} {
			page, err := s.Threads(ctx, &q)
			if err != nil {
				t.Fatal(err)
			}
			want := q.Status == st.status || q.Workflow == st.workflow
			if got := len(page.Threads) == 1; got != want {
				t.Errorf("after commit %d: Threads(%+v) = %d threads, want found=%v", i, q, len(page.Threads), want)
			}
		}
	}
}

// TestDeleteThreadLeavesNoRows checks in the file itself that deleting a
// thread removes its rows from every table, the assignee mirror included,
// and nothing of other threads.
func TestDeleteThreadLeavesNoRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weft.db")
	s := openAt(t, path)
	for _, id := range []string{"gone", "kept"} {
		_, err := s.Commit(ctx, &checkpoint.Commit{
			Thread: checkpoint.Thread{ID: id, Workflow: "w", Status: checkpoint.StatusInterrupted, Head: checkpoint.FormatID(1)},
			At:     t0,
			Checkpoint: &checkpoint.Checkpoint{Source: checkpoint.SourceInput, Versions: map[string]int64{"f": 1},
				Blobs: []checkpoint.Blob{{Field: "f", Data: []byte("1")}}},
			Writes:     []checkpoint.PendingWrite{{CheckpointID: checkpoint.FormatID(1), Task: "n", Kind: "output", Data: []byte("x")}},
			Interrupts: []checkpoint.InterruptRecord{{ID: "q", Workflow: "w", Node: "n", Assignees: []string{"ann", "bob"}}},
			Steps:      []checkpoint.Step{{Node: "n", Task: "n", Status: checkpoint.StepInterrupted}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteThread(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	for table, want := range map[string]int{"threads": 1, "checkpoints": 1, "blobs": 1, "pending_writes": 1,
		"interrupts": 1, "interrupt_assignees": 2, "steps": 1} {
		col := "thread_id"
		if table == "threads" {
			col = "id"
		}
		var gone, all int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE `+col+` = 'gone'), count(*) FROM `+table).Scan(&gone, &all); err != nil {
			t.Fatal(err)
		}
		if gone != 0 || all != want {
			t.Errorf("%s: %d rows of the deleted thread and %d in all, want 0 and %d", table, gone, all, want)
		}
	}
	if err := s.DeleteThread(ctx, "gone"); !errors.Is(err, checkpoint.ErrNotFound) {
		t.Errorf("DeleteThread again: %v, want ErrNotFound", err)
	}
}

// TestDoneContext calls every method with a context that is done, including
// calls that would not reach the database: each fails with the context's
// error.
func TestDoneContext(t *testing.T) {
	s := open(t)
	if _, err := commitNext(context.Background(), s, "t", 0, "x"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := map[string]func() error{
		"Thread":        func() error { _, err := s.Thread(ctx, "t"); return err },
		"Threads":       func() error { _, err := s.Threads(ctx, nil); return err },
		"Commit":        func() error { _, err := commitNext(ctx, s, "t", 1, "y"); return err },
		"PutWrites":     func() error { return s.PutWrites(ctx, &checkpoint.PutWrites{ThreadID: "t", Owner: "o"}) },
		"Checkpoint":    func() error { _, err := s.Checkpoint(ctx, "t", "", ""); return err },
		"History":       func() error { _, err := s.History(ctx, &checkpoint.HistoryQuery{ThreadID: "t"}); return err },
		"PendingWrites": func() error { _, err := s.PendingWrites(ctx, "t", "", ""); return err },
		"Interrupts":    func() error { _, err := s.Interrupts(ctx, nil); return err },
		"Answer":        func() error { _, err := s.Answer(ctx, nil); return err },
		"Claim": func() error {
			_, err := s.Claim(ctx, &checkpoint.Claim{ThreadID: "t", ExpectedVersion: 1, Owner: "o", Lease: time.Minute})
			return err
		},
		"ClaimReady": func() error {
			_, err := s.ClaimReady(ctx, &checkpoint.ClaimReady{Owner: "o", Workflows: []string{"w"}})
			return err
		},
		"Heartbeat": func() error {
			_, err := s.Heartbeat(ctx, &checkpoint.Heartbeat{Owner: "o", Threads: []string{"t"}, Lease: time.Minute})
			return err
		},
		"RequestStop": func() error { _, err := s.RequestStop(ctx, &checkpoint.StopRequest{ThreadID: "t", At: t0}); return err },
		"Lease": func() error {
			_, err := s.Lease(ctx, &checkpoint.Lease{Name: "n", Owner: "o", TTL: time.Minute})
			return err
		},
		"Reassign":      func() error { return s.Reassign(ctx, &checkpoint.Reassign{ThreadID: "t", InterruptID: "q"}) },
		"Steps":         func() error { _, err := s.Steps(ctx, "t", 0); return err },
		"DeleteThread":  func() error { return s.DeleteThread(ctx, "t") },
		"Prune":         func() error { _, err := s.Prune(ctx, &checkpoint.Prune{}); return err },
		"Migrate":       func() error { return s.Migrate(ctx) },
		"SchemaVersion": func() error { _, err := s.SchemaVersion(ctx); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want context.Canceled", name, err)
		}
	}
	if th, err := s.Thread(context.Background(), "t"); err != nil || th.Version != 1 {
		t.Fatalf("Thread after the canceled calls: %+v, %v; want it unchanged", th, err)
	}
}
