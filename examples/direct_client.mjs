// direct_client.mjs -- the README's JavaScript direct-NATS client (nats.js 2.x, @msgpack/msgpack).
//
// Usage: node examples/direct_client.mjs JOB.json [TASK_ID]
// Publishes the REST-style job as a msgpack map to jouletrace.jobs.measure (JetStream,
// Nats-Msg-Id = task id) after subscribing to its progress and result subjects and to
// jouletrace.rejected.*; prints every record as one JSON line. A duplicate publish (the same
// id within 5 min) or a missed result is answered from KV jouletrace_tasks.
// NATS: JOULETRACE_NATS_URL (nats://127.0.0.1:4222), JOULETRACE_NATS_USER / _PASSWORD.
// Exit status: 0 completed, 1 failed or cancelled, 2 rejected (no usable id), 3 timeout.
// Packages: tests/direct_js/package.json; tested by tests/check_direct_js.sh.
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { connect } from "nats";
import { encode, decode } from "@msgpack/msgpack";

const [file, id = randomBytes(16).toString("hex")] = process.argv.slice(2);
const job = JSON.parse(readFileSync(file, "utf8"));
const final = (r) => ["completed", "failed", "cancelled"].includes(r.status);
const exitCode = (r) => (r.status === "completed" ? 0 : 1);

const nc = await connect({
  servers: process.env.JOULETRACE_NATS_URL ?? "nats://127.0.0.1:4222",
  user: process.env.JOULETRACE_NATS_USER,
  pass: process.env.JOULETRACE_NATS_PASSWORD,
});
const js = nc.jetstream();

// Subscribe first: records published before a subscription are not sent again.
const progress = nc.subscribe(`jouletrace.progress.${id}`);
const result = nc.subscribe(`jouletrace.result.${id}`, { max: 1 });
const rejected = nc.subscribe("jouletrace.rejected.*");
await nc.flush();

// The task id names the task: put it in the job and in Nats-Msg-Id.
const ack = await js.publish("jouletrace.jobs.measure", encode({ ...job, task_id: id }), {
  msgID: id,
});

// The stored record (JSON in KV), for a duplicate publish or a missed result.
async function stored() {
  const kv = await js.views.kv("jouletrace_tasks", { bindOnly: true });
  const e = await kv.get(id);
  return e ? e.json() : null;
}

let code = 3;
if (ack.duplicate) {
  const r = await stored(); // the first publish's task: nothing new is sent
  if (r) console.log(JSON.stringify(r));
  code = r && final(r) ? exitCode(r) : 3;
} else {
  const timeout = setTimeout(() => nc.close(), 120_000);
  const onProgress = (async () => {
    for await (const m of progress) {
      const r = decode(m.data);
      if (!final(r)) console.log(JSON.stringify(r)); // the final one also comes here
    }
  })();
  const onRejected = (async () => {
    for await (const m of rejected) {
      const r = decode(m.data);
      if (r.stream_sequence === ack.seq) return r; // our message had no usable id
    }
  })();
  const onResult = (async () => {
    for await (const m of result) return decode(m.data);
  })();
  const r = await Promise.race([onResult, onRejected]);
  clearTimeout(timeout);
  if (r && r.status === "rejected") {
    console.log(JSON.stringify(r));
    code = 2;
  } else {
    const rec = r ?? (await stored().catch(() => null)); // missed it: read KV
    if (rec) console.log(JSON.stringify(rec));
    code = rec && final(rec) ? exitCode(rec) : 3;
  }
  progress.unsubscribe();
  rejected.unsubscribe();
  await onProgress;
}
await nc.close();
process.exit(code);
