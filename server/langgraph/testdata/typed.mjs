// typed.mjs drives a langgraph handler over workflows wrapped with
// langgraph.Runner (review: draft, review asks, publish; job: work blocks
// while mode is "block") with the LangGraph JS SDK: what needs the state's
// type — state updates with asNode, copies, time travel, rollbacks of runs
// that went on from a checkpoint.
//
// Environment: LG_API_URL, LG_API_KEY, LGSDK_DIR (see sdk.mjs).
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(join(process.env.LGSDK_DIR, "noop.js"));
const { Client } = require("@langchain/langgraph-sdk");

function check(ok, what, got) {
  if (!ok) {
    console.error(`FAIL: ${what}: ${JSON.stringify(got, null, 1)}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

async function until(f, what) {
  const deadline = Date.now() + 30000;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) check(false, `${what} within 30s`, v);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const client = new Client({ apiUrl: process.env.LG_API_URL, apiKey: process.env.LG_API_KEY });

// updateState without asNode: the same node asks again, about the new draft.
const tid = (await client.threads.create({ metadata: { kind: "typed" } })).thread_id;
await client.runs.wait(tid, "review", { input: { topic: "sdk" } });
const upd = await client.threads.updateState(tid, { values: { draft: "Edited" } });
check(upd.checkpoint?.checkpoint_id, "threads.updateState returns the checkpoint", upd);
const again = await client.runs.wait(tid, "review", { input: null });
check(again.__interrupt__?.[0]?.value.body === "Edited", "the node asks again about the updated draft", again);

// updateState with asNode: publish runs next.
await client.threads.updateState(tid, { values: { decision: "approve" }, asNode: "review" });
const next = await client.threads.getState(tid);
check(next.next.length === 1 && next.next[0] === "publish", "threads.updateState with asNode", next);
const published = await client.runs.wait(tid, "review", { input: null });
check(published.published === true && published.draft === "Edited", "the run after asNode", published);

// Time travel: update a past checkpoint, then run from it.
const history = await client.threads.getHistory(tid, { limit: 50 });
const beforeReview = history.findLast((h) => h.next[0] === "review");
await client.threads.updateState(tid, { values: { draft: "Rewound" }, checkpointId: beforeReview.checkpoint.checkpoint_id });
const rewound = await client.runs.wait(tid, "review", { input: null });
check(rewound.__interrupt__?.[0]?.value.body === "Rewound", "updateState at a past checkpoint (fork)", rewound);
const fromCp = await client.runs.wait(tid, "review", { checkpointId: beforeReview.checkpoint.checkpoint_id, input: null });
check(fromCp.__interrupt__?.[0]?.value.body === "About sdk", "a run from a past checkpoint", fromCp);

// Copy: the same values and next nodes, a thread of its own.
const copy = await client.threads.copy(tid);
check(copy.thread_id !== tid && copy.metadata.kind === "typed" && copy.values.draft === "About sdk", "threads.copy", copy);
const copyState = await client.threads.getState(copy.thread_id);
check(copyState.next[0] === "review", "the copy runs the same node next", copyState);

// Rollback of a run that went on from a checkpoint: the thread goes back.
const job = (await client.threads.create()).thread_id;
await client.runs.wait(job, "job", { input: { mode: "go", first: "kept" } });
const blocked = await client.runs.create(job, "job", { input: { mode: "block", second: "undone" } });
await until(async () => (await client.threads.getState(job)).values.second === "undone", "the blocked run's input in the state");
await client.runs.cancel(job, blocked.run_id, true, "rollback");
const back = await client.threads.getState(job);
check(back.values.first === "kept" && back.values.second === undefined && back.values.mode === "go", "runs.cancel rollback goes back to where the run started", back);

console.log("all ok");
