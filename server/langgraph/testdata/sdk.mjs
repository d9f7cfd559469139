// sdk.mjs drives a weft langgraph server with the LangGraph JS SDK
// (@langchain/langgraph-sdk), as a LangGraph Platform client would.
//
// Environment: LG_API_URL is the server; LGSDK_DIR is the directory the SDK
// is installed in (npm install --prefix LGSDK_DIR). It exits non-zero on the
// first check that fails.
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(join(process.env.LGSDK_DIR, "noop.js"));
const { Client } = require("@langchain/langgraph-sdk");

function check(ok, what, got) {
  if (!ok) {
    console.error(`FAIL: ${what}: ${JSON.stringify(got)}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

const client = new Client({ apiUrl: process.env.LG_API_URL, apiKey: process.env.LG_API_KEY });

// A wrong key is refused with 401, which the SDK reports as the error's status.
try {
  await new Client({ apiUrl: process.env.LG_API_URL, apiKey: "wrong" }).threads.create();
  check(false, "a wrong API key is refused", "no error");
} catch (e) {
  check(e.status === 401, "a wrong API key is refused with 401", { status: e.status, message: e.message });
}

const assistants = await client.assistants.search({ graphId: "review" });
check(assistants.length === 1 && assistants[0].graph_id === "review", "assistants.search", assistants);

const thread = await client.threads.create({ metadata: { from: "sdk" } });
check(typeof thread.thread_id === "string" && thread.status === "idle", "threads.create", thread);
const tid = thread.thread_id;

const paused = await client.runs.wait(tid, "review", { input: { topic: "sdk" } });
check(Array.isArray(paused.__interrupt__) && paused.__interrupt__.length === 1 &&
  paused.__interrupt__[0].value.body === "About sdk", "runs.wait pauses with __interrupt__", paused);

const waiting = await client.threads.get(tid);
check(waiting.status === "interrupted", "threads.get while paused", waiting);

const pausedState = await client.threads.getState(tid);
check(pausedState.next.length === 1 && pausedState.next[0] === "review" &&
  pausedState.tasks[0].interrupts[0].id === paused.__interrupt__[0].id, "threads.getState while paused", pausedState);

const done = await client.runs.wait(tid, "review", { command: { resume: "approve" } });
check(done.published === true && done.decision === "approve" && !("__interrupt__" in done),
  "runs.wait with command resume", done);

const state = await client.threads.getState(tid);
check(state.values.published === true && state.next.length === 0 && state.tasks.length === 0 &&
  state.checkpoint.thread_id === tid, "threads.getState", state);

const history = await client.threads.getHistory(tid, { limit: 10 });
check(history.length >= 3 && history[0].values.published === true &&
  history.some((h) => h.tasks.some((t) => t.interrupts.length === 1)), "threads.getHistory", history);

const found = await client.threads.search({ status: "idle", metadata: { from: "sdk" } });
check(found.length === 1 && found[0].thread_id === tid, "threads.search", found);

// Streaming, on a second thread.
const t2 = await client.threads.create();
const events = [];
let lastValues;
for await (const chunk of client.runs.stream(t2.thread_id, "review", {
  input: { topic: "stream" }, streamMode: ["values", "updates"],
})) {
  events.push(chunk.event);
  if (chunk.event === "values") lastValues = chunk.data;
}
check(events[0] === "metadata" && events.includes("values") && events.includes("updates"), "runs.stream", events);
check(lastValues?.__interrupt__?.length === 1, "runs.stream ends with values.__interrupt__", lastValues);

// Resume by interrupt id: {resume: {[id]: value}}.
const byId = await client.runs.wait(t2.thread_id, "review", {
  command: { resume: { [lastValues.__interrupt__[0].id]: "approve" } },
});
check(byId.published === true, "runs.wait with command resume keyed by interrupt id", byId);

// A background run: create, get, join.
const t3 = await client.threads.create();
const run = await client.runs.create(t3.thread_id, "review", { input: { topic: "bg" } });
check(typeof run.run_id === "string" && ["pending", "running", "success"].includes(run.status), "runs.create", run);
const joined = await client.runs.join(t3.thread_id, run.run_id);
check(joined.__interrupt__?.length === 1, "runs.join", joined);
const got = await client.runs.get(t3.thread_id, run.run_id);
check(got.status === "success", "runs.get", got);

console.log("all ok");
