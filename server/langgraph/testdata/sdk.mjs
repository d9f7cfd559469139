// sdk.mjs drives `weft serve --demo --langgraph /lg` with the LangGraph JS
// SDK (@langchain/langgraph-sdk), as a LangGraph Platform client would.
//
// Environment: LG_API_URL is the LangGraph API; LGSDK_DIR is the directory
// the SDK is installed in (npm install --prefix LGSDK_DIR); LG_ADMIN_KEY,
// LG_VIEWER_KEY and LG_REVIEWER_KEY are tokens of principals with the roles
// admin, viewer, and reviewer + editors. It exits non-zero on the first
// check that fails.
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

// refused checks that f throws an error with HTTP status want.
async function refused(f, want, what) {
  try {
    const got = await f();
    check(false, what, { want, got });
  } catch (e) {
    check(e.status === want, `${what} (${want})`, { status: e.status, message: e.message });
  }
}

const apiUrl = process.env.LG_API_URL;
const client = new Client({ apiUrl, apiKey: process.env.LG_ADMIN_KEY });
const viewer = new Client({ apiUrl, apiKey: process.env.LG_VIEWER_KEY });
const editor = new Client({ apiUrl, apiKey: process.env.LG_REVIEWER_KEY });

// until polls f until it returns something truthy (a generous deadline: the
// CI machine is busy).
async function until(f, what) {
  const deadline = Date.now() + 30000;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) check(false, `${what} within 30s`, v);
    await new Promise((r) => setTimeout(r, 25));
  }
}

await refused(() => new Client({ apiUrl, apiKey: "wrong-token-0123456789" }).threads.create(), 401, "a wrong token is refused");
await refused(() => viewer.threads.create(), 403, "a viewer may not create threads");

const assistants = await client.assistants.search({ graphId: "demo-approval" });
check(assistants.length === 1 && assistants[0].graph_id === "demo-approval", "assistants.search", assistants);
const graph = await client.assistants.getGraph("demo-approval");
check(graph.nodes.some((n) => n.id === "review") && graph.edges.length > 0, "assistants.getGraph", graph);

// A run that pauses; the interrupt from the run, the thread and the state.
const thread = await client.threads.create({ metadata: { from: "sdk" } });
check(typeof thread.thread_id === "string" && thread.status === "idle", "threads.create", thread);
const tid = thread.thread_id;
const paused = await client.runs.wait(tid, "demo-approval", { input: { Title: "Hello" } });
check(paused.__interrupt__?.length === 1 && paused.__interrupt__[0].value.title === "Hello",
  "runs.wait pauses with __interrupt__", paused);
const qid = paused.__interrupt__[0].id;
const waiting = await client.threads.get(tid);
check(waiting.status === "interrupted" && Object.values(waiting.interrupts).flat()[0]?.id === qid,
  "threads.get while paused: interrupted, with interrupts", waiting);
const pausedState = await client.threads.getState(tid);
check(pausedState.next[0] === "review" && pausedState.tasks[0].interrupts[0].id === qid &&
  pausedState.interrupts?.[0]?.id === qid, "threads.getState while paused", pausedState);
const byStatus = await client.threads.search({ status: "interrupted", metadata: { from: "sdk" } });
check(byStatus.length === 1 && byStatus[0].thread_id === tid, "threads.search by status and metadata", byStatus);

// Answers go through weft's checks: roles, assignees, the answer's schema.
await refused(() => viewer.runs.wait(tid, "demo-approval", { command: { resume: { action: "approve" } } }),
  403, "a viewer may not answer");
await refused(() => editor.runs.wait(tid, "demo-approval", { input: { Title: "x" } }),
  403, "a reviewer may not start runs");
await refused(() => editor.runs.wait(tid, "demo-approval", { command: { resume: { action: "maybe" } } }),
  422, "an answer that does not fit the question's schema");
const done = await editor.runs.wait(tid, "demo-approval", { command: { resume: { action: "approve" } } });
check(done.Status === "approved" && done.URL.endsWith("/hello") && !("__interrupt__" in done),
  "runs.wait with command resume (a value), by an editor", done);
await refused(() => editor.runs.wait(tid, "demo-approval", { command: { resume: { [qid]: { action: "approve" } } } }),
  409, "a second answer to an answered question");

const history = await client.threads.getHistory(tid, { limit: 20 });
check(history.length >= 3 && history[0].values.Status === "approved" &&
  history.some((h) => h.tasks.some((t) => t.interrupts.some((i) => i.id === qid))), "threads.getHistory", history);
const past = history.find((h) => h.next[0] === "review");
const atCheckpoint = await client.threads.getState(tid, past.checkpoint.checkpoint_id);
check(atCheckpoint.next[0] === "review" && atCheckpoint.values.Status === "", "threads.getState at a checkpoint", atCheckpoint);
const atConfig = await client.threads.getState(tid, { checkpoint_id: past.checkpoint.checkpoint_id });
check(atConfig.checkpoint.checkpoint_id === past.checkpoint.checkpoint_id, "threads.getState with a checkpoint config", atConfig);
const idle = await client.threads.get(tid);
check(idle.status === "idle" && Object.keys(idle.interrupts).length === 0, "threads.get after the answer", idle);

// A copy has the thread's history, checkpoint by checkpoint.
const copied = await client.threads.copy(tid);
const copiedHistory = await client.threads.getHistory(copied.thread_id, { limit: 20 });
check(copied.thread_id !== tid && copiedHistory.length === history.length &&
  copiedHistory.every((h, i) => h.checkpoint.checkpoint_id === history[i].checkpoint.checkpoint_id &&
    JSON.stringify(h.values) === JSON.stringify(history[i].values) && h.checkpoint.thread_id === copied.thread_id),
  "threads.copy carries the history", { copiedHistory, history });
await client.threads.delete(copied.thread_id); // its copied answers with it

// The thread's stream from its first event: its runs, one after the other,
// up to the approval.
const joined = [];
const abort = new AbortController();
for await (const chunk of client.threads.joinStream(tid, { lastEventId: "-", signal: abort.signal })) {
  joined.push(chunk.event);
  if (chunk.event === "values" && chunk.data.Status === "approved") break;
}
abort.abort();
check(joined[0] === "metadata" && joined.filter((e) => e === "metadata").length >= 2, "threads.joinStream from the first event", joined);

// The stream: the interrupt in values and updates, then a resume keyed by
// interrupt id.
const t2 = (await client.threads.create()).thread_id;
const events = [];
let lastValues;
for await (const chunk of client.runs.stream(t2, "demo-approval", {
  input: { Title: "Streamed" }, streamMode: ["values", "updates"],
})) {
  events.push(chunk.event);
  if (chunk.event === "values") lastValues = chunk.data;
  if (chunk.event === "updates" && chunk.data.__interrupt__) check(chunk.data.__interrupt__.length === 1, "updates.__interrupt__", chunk.data);
}
check(events[0] === "metadata" && events.includes("values") && events.includes("updates"), "runs.stream", events);
check(lastValues?.__interrupt__?.length === 1, "runs.stream ends with values.__interrupt__", lastValues);

// The stream modes that map onto weft's events; messages is refused.
const tModes = (await client.threads.create()).thread_id;
const modeEvents = new Set();
for await (const chunk of client.runs.stream(tModes, "demo-approval", {
  input: { Title: "Modes" }, streamMode: ["tasks", "checkpoints", "debug", "events"],
})) {
  modeEvents.add(chunk.event + (chunk.event === "debug" ? ":" + chunk.data.type : ""));
}
check(["metadata", "tasks", "checkpoints", "debug:checkpoint", "debug:task", "debug:task_result", "events"].every((e) => modeEvents.has(e)),
  "runs.stream with tasks, checkpoints, debug and events", [...modeEvents]);
await refused(async () => {
  for await (const chunk of client.runs.stream(tModes, "demo-approval", { input: { Title: "x" }, streamMode: "messages" })) void chunk;
}, 422, "runs.stream with stream mode messages");
const byId = await client.runs.wait(t2, "demo-approval", {
  command: { resume: { [lastValues.__interrupt__[0].id]: { action: "reject", text: "no" } } },
});
check(byId.Status === "rejected" && byId.Note === "no", "runs.wait with command resume keyed by interrupt id", byId);

// Three questions at once (one per tool call, each assigned to a role),
// answered in one map.
const t3 = (await client.threads.create()).thread_id;
const asked = await client.runs.wait(t3, "demo-agent", { input: { Goal: "weekly report" } });
check(asked.__interrupt__?.length === 3, "demo-agent asks three questions", asked);
await refused(() => editor.runs.wait(t3, "demo-agent", { command: { resume: { [asked.__interrupt__[0].id]: { approve: true } } } }),
  403, "a reviewer may not answer a question assigned to another role");
const answers = Object.fromEntries(asked.__interrupt__.map((i) => [i.id, { approve: i.value.tool !== "deploy" }]));
const agentDone = await client.runs.wait(t3, "demo-agent", { command: { resume: answers } });
check(agentDone.Results?.length === 3 && agentDone.Summary.includes("deploy: refused"), "runs.wait with a map of answers", agentDone);

// Background runs of demo-long: create, cancel, and the multitask strategies.
async function running(thread, run) {
  return until(async () => (await client.runs.get(thread, run)).status === "running", `run ${run} running`);
}
const t4 = (await client.threads.create()).thread_id;
const long = await client.runs.create(t4, "demo-long", { input: { Seconds: 60 } });
await running(t4, long.run_id);
check((await client.threads.get(t4)).status === "busy", "a thread with a run under way is busy", null);
await refused(() => client.runs.create(t4, "demo-long", { input: { Seconds: 1 }, multitaskStrategy: "reject" }),
  409, "multitask_strategy reject on a busy thread");
await client.runs.cancel(t4, long.run_id, true, "interrupt");
const cancelled = await client.runs.get(t4, long.run_id);
check(cancelled.status === "interrupted", "runs.cancel (interrupt, wait)", cancelled);
check((await client.threads.get(t4)).status === "idle", "the thread is idle after the cancel", null);

// interrupt: the run under way is stopped, the new one runs.
const first = await client.runs.create(t4, "demo-long", { input: { Seconds: 60 } });
await running(t4, first.run_id);
const second = await client.runs.create(t4, "demo-long", { input: { Seconds: 0.05 }, multitaskStrategy: "interrupt" });
const secondOut = await client.runs.join(t4, second.run_id);
check(secondOut.Done === true, "multitask_strategy interrupt: the new run completes", secondOut);
check((await client.runs.get(t4, first.run_id)).status === "interrupted", "multitask_strategy interrupt: the old run is interrupted", null);

// rollback: the run under way is stopped and undone (a first run: its
// thread is emptied), and its record deleted.
const t5 = (await client.threads.create()).thread_id;
const doomed = await client.runs.create(t5, "demo-long", { input: { Seconds: 60 } });
await running(t5, doomed.run_id);
const redo = await client.runs.create(t5, "demo-long", { input: { Seconds: 0.05 }, multitaskStrategy: "rollback" });
const redoOut = await client.runs.join(t5, redo.run_id);
check(redoOut.Done === true && redoOut.Seconds === 0.05, "multitask_strategy rollback: the new run completes", redoOut);
await refused(() => client.runs.get(t5, doomed.run_id), 404, "multitask_strategy rollback: the old run is deleted");
const t5hist = await client.threads.getHistory(t5, { limit: 50 });
check(t5hist.every((h) => h.values.Seconds !== 60), "multitask_strategy rollback: no trace of the old run's state", t5hist);

// enqueue (the default): the new run waits for the one under way.
const t6 = (await client.threads.create()).thread_id;
const ahead = await client.runs.create(t6, "demo-long", { input: { Seconds: 60 } });
await running(t6, ahead.run_id);
const queued = await client.runs.create(t6, "demo-long", { input: { Seconds: 0.05 } });
check(queued.status === "pending" && queued.multitask_strategy === "enqueue", "multitask_strategy enqueue (the default): the new run is pending", queued);
check((await client.runs.get(t6, queued.run_id)).status === "pending", "an enqueued run waits while the one ahead runs", null);
await client.runs.cancel(t6, ahead.run_id);
const queuedOut = await client.runs.join(t6, queued.run_id);
check(queuedOut.Done === true && queuedOut.Seconds === 0.05, "multitask_strategy enqueue: the queued run runs after the one ahead", queuedOut);
const runs = await client.runs.list(t6);
check(runs.length === 2 && runs.some((r) => r.status === "interrupted") && runs.some((r) => r.status === "success"), "runs.list", runs);

// stream_mode custom, and a stream resumed after a disconnection with
// Last-Event-ID.
const t7 = (await client.threads.create()).thread_id;
let runId;
const seen = [];
for await (const chunk of client.runs.stream(t7, "demo-long", {
  input: { Seconds: 0.5 }, streamMode: ["custom", "values"], streamResumable: true, onDisconnect: "continue",
  onRunCreated: (m) => { runId = m.run_id; },
})) {
  seen.push(chunk);
  if (chunk.event === "custom") break; // disconnect in the middle
}
check(runId && seen.at(-1).event === "custom" && typeof seen.at(-1).data.done === "number", "runs.stream with stream_mode custom", seen);
const lastId = seen.at(-1).id;
const rest = [];
for await (const chunk of client.runs.joinStream(t7, runId, { lastEventId: lastId })) rest.push(chunk);
check(rest.length > 0 && rest.every((c) => Number(c.id) > Number(lastId) || c.event === "metadata") &&
  rest.at(-1).event === "values" && rest.at(-1).data.Done === true, "runs.joinStream with Last-Event-ID resumes after it", rest);

// The Agent Inbox ignores a thread with updateState({values: null, asNode:
// "__end__"}): its question is withdrawn, the thread idle.
const t8 = (await client.threads.create()).thread_id;
await client.runs.wait(t8, "demo-approval", { input: { Title: "Ignored" } });
await refused(() => editor.threads.updateState(t8, { values: null, asNode: "__end__" }), 403, "a reviewer may not end a thread");
await client.threads.updateState(t8, { values: null, asNode: "__end__" });
const ignored = await client.threads.get(t8);
check(ignored.status === "idle" && Object.keys(ignored.interrupts).length === 0, "threads.updateState as __end__ ends the thread", ignored);
check((await client.threads.search({ status: "interrupted" })).every((t) => t.thread_id !== t8), "an ended thread is not interrupted", null);

// Deleting a thread.
await client.threads.delete(t7);
await refused(() => client.threads.get(t7), 404, "threads.delete");

// Assistants made with assistants.create: of a workflow, versioned,
// searched, run, deleted; crons are refused.
const made = await client.assistants.create({
  graphId: "demo-approval", name: "strict", metadata: { team: "docs" }, context: { tone: "dry" }, config: { tags: ["sdk"] },
});
check(made.graph_id === "demo-approval" && made.version === 1 && made.metadata.team === "docs" && made.context.tone === "dry" &&
  made.assistant_id !== "demo-approval", "assistants.create", made);
const same = await client.assistants.create({ graphId: "demo-approval", assistantId: made.assistant_id, ifExists: "do_nothing" });
check(same.assistant_id === made.assistant_id && same.name === "strict", "assistants.create with ifExists do_nothing", same);
await refused(() => client.assistants.create({ graphId: "demo-approval", assistantId: made.assistant_id }), 409, "assistants.create of an existing id");
await refused(() => viewer.assistants.create({ graphId: "demo-approval" }), 403, "a viewer may not create assistants");
const updated = await client.assistants.update(made.assistant_id, { metadata: { stage: "beta" }, name: "stricter" });
check(updated.version === 2 && updated.metadata.team === "docs" && updated.metadata.stage === "beta" && updated.name === "stricter" &&
  updated.context.tone === "dry", "assistants.update makes a new version", updated);
await refused(() => client.assistants.update("demo-approval", { name: "x" }), 409, "a workflow's assistant cannot be changed");
const versions = await client.assistants.getVersions(made.assistant_id);
check(versions.length === 2 && versions[0].version === 2 && versions[1].version === 1, "assistants.getVersions, newest first", versions);
const back = await client.assistants.setLatest(made.assistant_id, 1);
const current = await client.assistants.get(made.assistant_id);
check(back.version === 1 && current.version === 1 && current.name === "strict", "assistants.setLatest", { back, current });
const byMeta = await client.assistants.search({ metadata: { team: "docs" } });
check(byMeta.length === 1 && byMeta[0].assistant_id === made.assistant_id, "assistants.search by metadata", byMeta);
check((await client.assistants.count({ graphId: "demo-approval" })) === 2, "assistants.count: the workflow's and the one made", null);
const tA = (await client.threads.create()).thread_id;
const byAssistant = await client.runs.wait(tA, made.assistant_id, { input: { Title: "By assistant" } });
check(byAssistant.__interrupt__?.length === 1, "runs.wait with an assistant made with assistants.create", byAssistant);
check((await client.runs.list(tA))[0].assistant_id === made.assistant_id, "the run names its assistant", null);
await client.assistants.delete(made.assistant_id);
await refused(() => client.assistants.get(made.assistant_id), 404, "assistants.delete");
await refused(() => client.crons.create("demo-approval", { schedule: "* * * * *" }), 404, "crons are not supported");

// The store API: items put, got, searched, their namespaces listed,
// deleted.
await client.store.putItem(["sdk", "ann"], "prefs", { theme: "dark" });
await client.store.putItem(["sdk", "bob"], "prefs", { theme: "light" });
await client.store.putItem(["sdk", "ann"], "prefs", { theme: "blue" });
await refused(() => viewer.store.putItem(["sdk", "eve"], "prefs", { theme: "x" }), 403, "a viewer may not put store items");
const item = await client.store.getItem(["sdk", "ann"], "prefs");
check(item?.value.theme === "blue" && item.key === "prefs" && item.namespace.join("/") === "sdk/ann" && item.createdAt,
  "store.putItem and getItem", item);
check((await client.store.getItem(["sdk", "ann"], "nothing")) === null, "store.getItem of a missing item is null", null);
const found = await client.store.searchItems(["sdk"], { filter: { theme: "light" } });
check(found.items.length === 1 && found.items[0].namespace[1] === "bob", "store.searchItems with a filter", found);
const nss = await client.store.listNamespaces({ prefix: ["sdk"] });
check(nss.namespaces.length === 2 && nss.namespaces[0].join("/") === "sdk/ann", "store.listNamespaces", nss);
await client.store.deleteItem(["sdk", "bob"], "prefs");
check((await client.store.getItem(["sdk", "bob"], "prefs")) === null, "store.deleteItem", null);

console.log("all ok");
