// Package weftest helps test workflows built with weft: run a thread
// until it asks, check what it asks, answer by key, move a fake clock past
// deadlines, check that side effects ran once, and compare states with a
// readable diff.
//
//	func TestRefund(t *testing.T) {
//		kit := weftest.New(t)
//		wf, err := refundGraph().Compile(kit.Options()...)
//		if err != nil {
//			t.Fatal(err)
//		}
//		th := weftest.Start(t, wf, Refund{Amount: 120})
//		q := th.Asks("approve")           // fails unless node approve waits
//		weftest.Payload[map[string]any](t, q) // decode what it shows
//		th.Answer("decision", "approve")  // by key, node path or ID
//		th.WantStatus(weft.StatusCompleted)
//		th.WantState(Refund{Amount: 120, Paid: true})
//	}
//
// A Kit holds an in-memory store and a fake clock that the workflows
// compiled with its Options share, so Advance moves their deadlines and
// FireDue gives due fallbacks and escalations as a deadline runner would.
// For a test of the real machinery (a worker, its deadline pass, its
// timers), run it in a testing/synctest bubble instead: there time is
// fake for every goroutine, so time.Sleep(25 * time.Hour) and
// synctest.Wait let a worker fire a day-long deadline at once
// (TestDeadlineInSynctestBubble in this package's tests shows it).
// Effects counts the runs of weft.Do bodies by effect ID, to check that
// retries, pauses and edits never repeat a journaled effect.
//
// Every helper fails the test (t.Fatal) on an unexpected error, with a
// message that says which thread and what was expected, so tests read as
// the flow they check.
package weftest
