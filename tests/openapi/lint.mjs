// lint.mjs -- lint docs/openapi.json: the OpenAPI 3.1 schema (@seriousme/openapi-schema-validator) plus local rules.
// Usage: node lint.mjs NODE_DIR DOC. Exits 1 listing every error. Local rules: every $ref
// resolves, operationIds are unique, every operation answers some 2xx and documents 401
// unless it has `security: []`, and every error response is the error envelope (or the
// 200 answer's schema: an unhealthy health report).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [nodeDir, docPath] = process.argv.slice(2);
if (!nodeDir || !docPath) {
  console.error("usage: node lint.mjs NODE_DIR DOC");
  process.exit(2);
}
const require = createRequire(resolve(nodeDir, "package.json"));
const { Validator } = await import(
  pathToFileURL(require.resolve("@seriousme/openapi-schema-validator")).href
);

const errors = [];
const doc = JSON.parse(readFileSync(docPath, "utf8"));
const validator = new Validator();
const res = await validator.validate(doc);
if (!res.valid) errors.push(...[].concat(res.errors).map((e) => `schema: ${JSON.stringify(e)}`));
if (validator.version !== "3.1") errors.push(`expected OpenAPI 3.1, got ${validator.version}`);

// The value at a local JSON pointer ("#/a/b"), or undefined.
function at(pointer) {
  let v = doc;
  for (const raw of pointer.replace(/^#\//, "").split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (v === null || typeof v !== "object" || !(key in v)) return undefined;
    v = v[key];
  }
  return v;
}
(function walk(v, where) {
  if (v === null || typeof v !== "object") return;
  if (typeof v.$ref === "string" && (!v.$ref.startsWith("#/") || at(v.$ref) === undefined))
    errors.push(`${where}: $ref ${v.$ref} does not resolve`);
  for (const [k, x] of Object.entries(v)) walk(x, `${where}/${k}`);
})(doc, "#");

const ids = new Set();
for (const [path, item] of Object.entries(doc.paths ?? {})) {
  for (const method of ["get", "put", "post", "delete", "options", "head", "patch", "trace"]) {
    const op = item[method];
    if (!op) continue;
    const name = `${method.toUpperCase()} ${path}`;
    if (ids.has(op.operationId)) errors.push(`${name}: operationId ${op.operationId} used twice`);
    ids.add(op.operationId);
    const codes = Object.keys(op.responses ?? {});
    if (!codes.some((c) => c.startsWith("2"))) errors.push(`${name}: no 2xx response`);
    const open = Array.isArray(op.security) && op.security.length === 0;
    if (!open && !codes.includes("401")) errors.push(`${name}: needs a token but documents no 401`);
    for (const c of codes.filter((c) => c >= "400")) {
      let r = op.responses[c];
      if (r.$ref) r = at(r.$ref);
      const schema = r?.content?.["application/json"]?.schema;
      const ok = op.responses["200"]?.content?.["application/json"]?.schema; // a state, e.g. health
      if (schema?.$ref !== "#/components/schemas/Error" && schema?.$ref !== ok?.$ref)
        errors.push(`${name}: ${c} is neither the error envelope nor the 200 answer`);
    }
  }
}

if (errors.length > 0) {
  console.error(`${docPath}: ${errors.length} error(s)`);
  for (const e of errors) console.error(`  ${e}`);
  process.exit(1);
}
console.log(`${docPath}: valid OpenAPI ${validator.version}, ${ids.size} operations`);
