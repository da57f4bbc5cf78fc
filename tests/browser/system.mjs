// system.mjs -- the system a browser test needs, on free 127.0.0.1 ports: nats-server, jouletrace-gateway with a token and (optionally) jouletrace-worker on the estimate meter.
//
// Every process runs under `setpriv --pdeathsig KILL`, so it dies with the test even when the
// test is killed; stop() ends them and removes the temporary directory (also on SIGINT/SIGTERM).

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const TOKEN = 'browser-test-token';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Remove the run and chromium profile directories of earlier runs whose test process is gone
// (a killed test).
function sweepStale(root) {
  if (!existsSync(root)) return;
  for (const name of readdirSync(root)) {
    const pid = Number(/^(?:run|chromium)-(\d+)-/.exec(name)?.[1]);
    if (pid && !pidAlive(pid)) rmSync(path.join(root, name), { recursive: true, force: true });
  }
}

async function until(what, seconds, check, proc) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    if (proc && proc.exitCode !== null) throw new Error(`${what}: the process exited (${proc.exitCode})`);
    try {
      if (await check()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${seconds} s`);
    await sleep(200);
  }
}

export class System {
  constructor(buildDir, tmpRoot) {
    this.buildDir = buildDir;
    this.tmpRoot = tmpRoot;
    this.procs = [];
  }

  spawnLogged(name, argv, env) {
    const log = openSync(path.join(this.dir, `${name}.log`), 'a');
    const proc = spawn('setpriv', ['--pdeathsig', 'KILL', '--', ...argv], {
      env: { PATH: process.env.PATH, HOME: this.dir, ...env }, stdio: ['ignore', log, log],
    });
    proc.jtName = name;
    this.procs.push(proc);
    return proc;
  }

  // Start nats-server and the gateway, and with worker (the default) a worker, waiting until it
  // can measure.
  async start({ worker: withWorker = true } = {}) {
    mkdirSync(this.tmpRoot, { recursive: true });
    sweepStale(this.tmpRoot);
    this.dir = mkdtempSync(path.join(this.tmpRoot, `run-${process.pid}-`));
    this.onSignal = () => this.stop().finally(() => process.exit(130));
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
    const natsPort = await freePort();
    const httpPort = await freePort();
    mkdirSync(path.join(this.dir, 'jetstream'));
    mkdirSync(path.join(this.dir, 'sandbox'), { mode: 0o700 });
    const natsUrl = `nats://127.0.0.1:${natsPort}`;
    const nats = this.spawnLogged('nats-server', ['nats-server', '-js', '-a', '127.0.0.1', '-p', String(natsPort),
      '-sd', path.join(this.dir, 'jetstream')], {});
    await until('nats-server', 20, () => new Promise((resolve) => {
      const socket = net.connect(natsPort, '127.0.0.1', () => { socket.end(); resolve(true); });
      socket.on('error', () => resolve(false));
    }), nats);
    const bin = path.join(this.buildDir, 'bin');
    const common = { JOULETRACE_NATS_URL: natsUrl, JOULETRACE_LOG_LEVEL: 'info',
      JOULETRACE_CALIBRATION: path.join(this.dir, 'missing-calibration.json') };
    const worker = !withWorker ? null : this.spawnLogged('worker', [path.join(bin, 'jouletrace-worker'), 'run'], {
      ...common, JOULETRACE_METER: 'estimate', JOULETRACE_WORKER_ID: 'browser-w1', JOULETRACE_MEASURE_CORE: '1',
      JOULETRACE_VALIDATE_CORE: '0', JOULETRACE_SANDBOX_DIR: path.join(this.dir, 'sandbox') });
    const gateway = this.spawnLogged('gateway', [path.join(bin, 'jouletrace-gateway')], {
      ...common, JOULETRACE_HTTP_ADDR: `127.0.0.1:${httpPort}`, JOULETRACE_API_TOKENS: TOKEN });
    this.base = `http://127.0.0.1:${httpPort}`;
    await until('gateway /ping', 30, async () => (await fetch(`${this.base}/ping`)).ok, gateway);
    if (!withWorker) return this;
    let seen = null;
    try {
      await until('a worker that measures (/api/v1/socket0/status "ready")', 120, async () => {
        seen = await this.api('GET', '/api/v1/socket0/status');
        return seen.body?.ready === true && seen.body?.calibration?.live_workers >= 1;
      }, worker);
    } catch (err) {
      err.message += `; last answer: ${JSON.stringify(seen)}`;
      throw err;
    }
    return this;
  }

  // A call of the API with the token: {status, body}.
  async api(method, route, body) {
    const headers = { Authorization: `Bearer ${TOKEN}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(`${this.base}${route}`, { method, headers,
      body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  // The logs of every process, for a failing test's output.
  logs() {
    return this.procs.map((p) => {
      let text = '';
      try {
        text = readFileSync(path.join(this.dir, `${p.jtName}.log`), 'utf8').slice(-4000);
      } catch {
        text = '(no log)';
      }
      return `---- ${p.jtName} (exit ${p.exitCode ?? 'running'}) ----\n${text}`;
    }).join('\n');
  }

  async stop() {
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
    for (const p of [...this.procs].reverse()) {
      if (p.exitCode !== null || p.signalCode !== null) continue;
      const exited = new Promise((resolve) => p.once('exit', resolve));
      p.kill('SIGTERM');
      const timer = setTimeout(() => p.kill('SIGKILL'), 15000);
      await exited;
      clearTimeout(timer);
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
