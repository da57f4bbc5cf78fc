// validate_responses.mjs -- check every HTTP answer the tests logged (JT_RESPONSE_LOG lines) against docs/openapi.json.
// Usage: node validate_responses.mjs NODE_DIR DOC LOG_DIR. Reads LOG_DIR/*.jsonl (lines of
// tests/support/curl_client.c: {method, path, status, content_type, body}) and fails (exit 1)
// listing every mismatch: a route, method or status the document lacks, a content type it
// does not name, a JSON body its schema refuses (ajv, JSON Schema 2020-12), and a route of
// GET /api/v1/capabilities it does not describe. Exit 77 (skipped) when no answer was logged.
// Answers matching an entry of known_issues.json ({status, error, message, reason}: a gateway
// bug reported, not documented) are listed as known and do not fail the check.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

const [nodeDir, docPath, logDir] = process.argv.slice(2);
if (!nodeDir || !docPath || !logDir) {
  console.error("usage: node validate_responses.mjs NODE_DIR DOC LOG_DIR");
  process.exit(2);
}
const require = createRequire(resolve(nodeDir, "package.json"));
const Ajv2020 = require("ajv/dist/2020").default;
const addFormats = require("ajv-formats").default;

const doc = JSON.parse(readFileSync(docPath, "utf8"));
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(doc, "openapi.json");

const esc = (s) => s.replace(/~/g, "~0").replace(/\//g, "~1");
const at = (pointer) =>
  pointer
    .replace(/^#?\//, "")
    .split("/")
    .reduce((v, k) => (v == null ? v : v[k.replace(/~1/g, "/").replace(/~0/g, "~")]), doc);
const templates = Object.keys(doc.paths).map((p) => ({
  path: p,
  re: new RegExp("^" + p.replace(/[.]/g, "\\.").replace(/\{[^}]+\}/g, "[^/]+") + "$"),
}));
const envelope = ajv.getSchema("openapi.json#/components/schemas/Error");
const compiled = new Map();
function validatorAt(pointer) {
  if (!compiled.has(pointer)) compiled.set(pointer, ajv.compile({ $ref: `openapi.json#${pointer}` }));
  return compiled.get(pointer);
}
const describe = (errs) =>
  (errs ?? [])
    .slice(0, 5)
    .map((e) => `${e.instancePath || "/"} ${e.message}${e.params ? " " + JSON.stringify(e.params) : ""}`)
    .join("; ");

const known = JSON.parse(readFileSync(new URL("known_issues.json", import.meta.url), "utf8"));
const knownSeen = [];
// The known issue the answer r is, or undefined.
function knownIssue(r) {
  let e;
  try {
    e = JSON.parse(r.body);
  } catch {
    return undefined;
  }
  return known.find((k) => k.status === r.status && k.error === e?.error && k.message === e?.message);
}
const mismatches = [];
let checked = 0;
const seen = new Set();

// An answer's JSON body against the error envelope; "" when it is one.
function notEnvelope(body) {
  try {
    return envelope(JSON.parse(body)) ? "" : describe(envelope.errors);
  } catch (e) {
    return `not JSON: ${e.message}`;
  }
}

function check(r, where) {
  const path = r.path.split("?")[0];
  const method = r.method.toUpperCase();
  const media = (r.content_type ?? "").split(";")[0].trim().toLowerCase();
  const body = typeof r.body === "string" ? r.body : "";
  const t = templates.find((x) => x.re.test(path));
  const say = (what) => mismatches.push(`${where}: ${method} ${r.path} -> ${r.status}: ${what}`);
  checked++;
  const k = knownIssue(r);
  if (k) return knownSeen.push(`${where}: ${method} ${r.path} -> ${r.status}: ${k.reason}`);
  if (method === "OPTIONS") {
    if (!t && r.status === 204) say("OPTIONS answered on a path the document lacks");
    else if (r.status !== 204 && (r.status < 400 || notEnvelope(body))) say("OPTIONS: neither 204 nor the error envelope");
    return;
  }
  const op = t && doc.paths[t.path][method === "HEAD" ? "get" : method.toLowerCase()];
  if (!op) {
    // Unknown routes and methods: refused with the error envelope.
    if (r.status < 400) return say(t ? "method not in the document" : "path not in the document");
    if (![400, 401, 404, 405, 408, 411, 413, 415, 431].includes(r.status)) return say("unexpected status for a route the document lacks");
    const e = notEnvelope(body);
    if (e) say(`not the error envelope: ${e}`);
    return;
  }
  seen.add(`${method === "HEAD" ? "GET" : method} ${t.path}`);
  let pointer = `/paths/${esc(t.path)}/${method === "HEAD" ? "get" : method.toLowerCase()}/responses/${r.status}`;
  let resp = at(pointer);
  if (!resp) return say(`status ${r.status} not documented (documented: ${Object.keys(op.responses).join(", ")})`);
  if (resp.$ref) {
    pointer = resp.$ref.slice(1);
    resp = at(pointer);
  }
  if (method === "HEAD" || body === "") return;
  const content = resp.content ?? {};
  if (!(media in content)) return say(`content type "${r.content_type}" not documented (documented: ${Object.keys(content).join(", ")})`);
  if (media !== "application/json") return;
  let value;
  try {
    value = JSON.parse(body);
  } catch (e) {
    return say(`body is not JSON: ${e.message}`);
  }
  const v = validatorAt(`${pointer}/content/${esc(media)}/schema`);
  if (!v(value)) say(describe(v.errors));
  if (method === "GET" && path === "/api/v1/capabilities" && r.status === 200)
    for (const route of value.routes ?? []) {
      if (route.method === "OPTIONS") continue;
      const tr = templates.find((x) => x.path === route.path);
      if (!tr || !doc.paths[tr.path][route.method.toLowerCase()])
        say(`capabilities lists ${route.method} ${route.path}, which the document lacks`);
    }
}

let files = [];
try {
  files = readdirSync(logDir).filter((f) => f.endsWith(".jsonl")).sort();
} catch {
  /* no directory: nothing logged */
}
for (const f of files) {
  const lines = readFileSync(join(logDir, f), "utf8").split("\n");
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    let r;
    try {
      r = JSON.parse(line);
    } catch (e) {
      mismatches.push(`${f}:${i + 1}: not a JSON line: ${e.message}`);
      return;
    }
    check(r, `${f.replace(/\.jsonl$/, "")}:${i + 1}`);
  });
}
if (checked === 0) {
  console.log(`no answers logged in ${logDir}: run the gateway, batch or pipeline tests first`);
  process.exit(77);
}
console.log(`${checked} answers from ${files.length} test(s); ${seen.size} operations seen`);
if (knownSeen.length > 0) {
  console.log(`${knownSeen.length} answer(s) are known gateway issues (known_issues.json):`);
  for (const m of knownSeen) console.log(`  ${m}`);
}
if (mismatches.length > 0) {
  console.error(`${mismatches.length} answer(s) do not match ${docPath}:`);
  for (const m of mismatches) console.error(`  ${m}`);
  process.exit(1);
}
console.log(`every answer matches ${docPath}`);
