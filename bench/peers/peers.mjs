// The same latency and throughput measurements as seesaw-bench, for the
// Node job queues people use today, on the same database: graphile-worker
// and pg-boss, each as it comes (its defaults, 8 workers) and at the
// settings its own documentation gives for throughput (-tuned) and for
// latency (-latency); SETTINGS.md says which passage each setting comes
// from. Every setting used, the number of processes included, is in each
// line's params. One JSON object per line on stdout, as seesaw-bench prints;
// a table on stderr.
//
//   node peers.mjs --database-url URL --system NAME --mode latency|throughput
//                  [--jobs N] [--rate R] [--warmup N] [--processes N] [--workers N]
//                  [--set KEY=VALUE]... [--runs K]
//   node peers.mjs --report FILE.jsonl     medians of every system and configuration
//
// --processes: throughput mode forks that many Node processes, each running
// the peer's worker with the configuration's settings (the parent enqueues in
// bulk first, then starts them all and times the drain). --workers: the
// handlers per process (graphile-worker's concurrency, pg-boss's
// localConcurrency). --set: any other setting of the configuration, e.g.
// --set localQueue.size=100 --set batchSize=200 (values are JSON).
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { run, makeWorkerUtils } from 'graphile-worker';
import { PgBoss } from 'pg-boss';

// Not require('x/package.json'): graphile-worker 0.18's "exports" does not list it.
const versionOf = (name) => JSON.parse(readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url))).version;

// --- configurations -----------------------------------------------------------------
//
// Each configuration names a peer and the settings it runs with: `settings`
// are passed to the library as they are (dotted names are nested objects:
// localQueue.size is { localQueue: { size } }); the peer's `defaults` are
// the library's own documented defaults of the settings that matter here,
// printed with the figures so that every setting in force shows. `processes`
// is ours, not the library's.

const configurations = {
  // As it comes: 8 workers, nothing else set.
  'graphile-worker': { peer: 'graphile-worker', settings: { concurrency: 8 } },
  // The performance page's configuration ("Quick stats"/"With batching"),
  // in 2 processes (1, 2 and 4 tried, SETTINGS.md).
  'graphile-worker-tuned': {
    peer: 'graphile-worker',
    settings: { processes: 2, concurrency: 24, maxPoolSize: 25, 'localQueue.size': 500, completeJobBatchDelay: 0,
                failJobBatchDelay: 0 },
  },
  // The performance page for jobs to run ASAP: local queue off (as by
  // default), batched completions left on at 0 ms.
  'graphile-worker-latency': {
    peer: 'graphile-worker', settings: { concurrency: 8, completeJobBatchDelay: 0, failJobBatchDelay: 0 },
  },
  // As it comes: 8 workers (localConcurrency), nothing else set: one job per
  // fetch, a fetch every 2 s per worker.
  'pg-boss': { peer: 'pg-boss', settings: { localConcurrency: 8 } },
  // Its workers docs' throughput options: batches, several workers, no
  // polling pause while batches come back full.
  'pg-boss-tuned': {
    peer: 'pg-boss', settings: { localConcurrency: 4, batchSize: 500, burstWhenBatchFull: true },
  },
  // Its LISTEN/NOTIFY ("Low-latency dispatch"): the instance listens, the
  // queue notifies; 8 workers.
  'pg-boss-latency': {
    peer: 'pg-boss', settings: { localConcurrency: 8, useListenNotify: true, notify: true },
  },
};

function parseArgs(argv) {
  const o = { url: process.env.SEESAW_DATABASE_URL, system: '', mode: '', jobs: 0, rate: 200, warmup: 50, runs: 1,
              set: {} };
  const names = { '--database-url': 'url', '--system': 'system', '--mode': 'mode', '--jobs': 'jobs',
                  '--rate': 'rate', '--warmup': 'warmup', '--processes': 'processes', '--workers': 'workers',
                  '--runs': 'runs', '--set': 'set', '--report': 'report' };
  const numeric = ['jobs', 'rate', 'warmup', 'processes', 'workers', 'runs'];
  for (let i = 0; i < argv.length; i += 2) {
    const key = names[argv[i]];
    if (!key || i + 1 >= argv.length) usage(`unknown or incomplete option '${argv[i]}'`);
    const value = argv[i + 1];
    if (key === 'set') {
      const eq = value.indexOf('=');
      if (eq <= 0) usage(`--set wants KEY=VALUE, got '${value}'`);
      const raw = value.slice(eq + 1);
      let parsed;
      try { parsed = JSON.parse(raw); } catch { parsed = raw; }
      o.set[value.slice(0, eq)] = parsed;
    } else {
      o[key] = numeric.includes(key) ? Number(value) : value;
    }
  }
  if (o.report) return o;
  if (!o.url) usage('--database-url is required (or set SEESAW_DATABASE_URL)');
  if (!Object.keys(configurations).includes(o.system)) {
    usage(`--system must be one of ${Object.keys(configurations).join(', ')}, got '${o.system}'`);
  }
  if (!['latency', 'throughput'].includes(o.mode)) usage(`--mode must be latency or throughput, got '${o.mode}'`);
  for (const k of ['rate', 'runs']) if (!(o[k] > 0)) usage(`--${k} must be a positive number`);
  for (const k of ['processes', 'workers']) {
    if (o[k] !== undefined && !(Number.isInteger(o[k]) && o[k] > 0)) usage(`--${k} must be a positive integer`);
  }
  if (!(Number.isInteger(o.warmup) && o.warmup >= 0)) usage('--warmup must be a whole number');
  if (!o.jobs) o.jobs = o.mode === 'latency' ? 2000 : 100000;
  return o;
}

function usage(message) {
  console.error(`peers.mjs: ${message}\nusage: node peers.mjs --database-url URL ` +
                `--system ${Object.keys(configurations).join('|')}\n` +
                '                     --mode latency|throughput [--jobs N] [--rate R] [--warmup N] ' +
                '[--processes N] [--workers N] [--set KEY=VALUE]... [--runs K]\n' +
                '       node peers.mjs --report FILE.jsonl');
  process.exit(2);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
const median = (values) => percentile([...values].sort((a, b) => a - b), 0.5);
const silentLogger = { scope: () => silentLogger, debug() {}, info() {}, warn() {}, error: (m) => console.error(m) };

// { 'localQueue.size': 500, concurrency: 8 } -> { localQueue: { size: 500 }, concurrency: 8 }
function nest(flat) {
  const out = {};
  for (const [key, value] of Object.entries(flat)) {
    const path = key.split('.');
    let at = out;
    for (const part of path.slice(0, -1)) at = at[part] ??= {};
    at[path[path.length - 1]] = value;
  }
  return out;
}
const pick = (flat, keys) => Object.fromEntries(Object.entries(flat).filter(([k]) => keys.includes(k.split('.')[0])));

class Report {
  constructor(o, params) { this.o = o; this.params = params; }
  emit(metric, value, unit) {
    const line = { system: this.o.system, metric, value: Math.round(value * 100) / 100, unit, params: this.params };
    console.log(JSON.stringify(line));
    console.error(`  ${metric.padEnd(36)} ${String(line.value).padStart(12)} ${unit}`);
  }
}

async function withClient(url, f) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try { return await f(client); } finally { await client.end(); }
}

async function serverParams(url) {
  return withClient(url, async (c) => {
    const r = await c.query("SELECT version(), current_setting('synchronous_commit') AS sc, current_setting('fsync') AS fs");
    return { postgres: r.rows[0].version.split(' on ')[0], synchronous_commit: r.rows[0].sc, fsync: r.rows[0].fs };
  });
}

async function dropSchema(url, schema) {
  await withClient(url, (c) => c.query(`SET client_min_messages TO warning; DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}

// Resolves when the handler of job `seq` starts.
class Starts {
  constructor(n) { this.at = new Float64Array(n); this.waiters = new Map(); }
  started(seq) {
    this.at[seq] = performance.now();
    const w = this.waiters.get(seq);
    if (w) { this.waiters.delete(seq); w(); }
  }
  wait(seq, timeoutMs) {
    if (this.at[seq]) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`job ${seq} did not start within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.set(seq, () => { clearTimeout(timer); resolve(); });
    });
  }
}

// --- the two peers, behind one small interface ------------------------------------
//
// setUp/enqueue/enqueueMany/finished/tearDown run in the process that
// enqueues (and measures); prepare/start/stop in each worker process (in
// latency mode, the same one). `s` is the configuration's settings.

const graphileSchema = 'peer_graphile_worker';
const bossSchema = 'peer_pgboss';

const peers = {
  'graphile-worker': {
    version: versionOf('graphile-worker'),
    // GraphileConfig.WorkerOptions' @defaultValue/@default (dist/index.d.ts),
    // concurrency as concurrentJobs. It always LISTENs for new jobs.
    defaults: { concurrency: 1, maxPoolSize: 10, pollInterval: 2000, 'localQueue.size': -1,
                completeJobBatchDelay: -1, failJobBatchDelay: -1 },
    perProcess: 'concurrency',
    async setUp(o) {
      await dropSchema(o.url, graphileSchema);
      this.utils = await makeWorkerUtils({ connectionString: o.url, schema: graphileSchema, logger: silentLogger });
      await this.utils.migrate();
    },
    enqueue(seq) { return this.utils.addJob('noop', { seq }); },
    async enqueueMany(first, count) {
      const specs = [];
      for (let i = 0; i < count; ++i) specs.push({ identifier: 'noop', payload: { seq: first + i } });
      await this.utils.addJobs(specs);
    },
    // Completed jobs are deleted.
    async finished(client) {
      const r = await client.query(`SELECT count(*)::int AS n FROM "${graphileSchema}"._private_jobs`);
      return r.rows[0].n === 0;
    },
    async tearDown() {
      await this.utils?.release();
      this.utils = undefined;
    },
    async prepare() {},
    async start(o, s, onJob) {
      const top = pick(s, ['concurrency', 'maxPoolSize', 'pollInterval']);
      const rest = nest(pick(s, ['localQueue', 'completeJobBatchDelay', 'failJobBatchDelay']));
      this.runner = await run({
        connectionString: o.url, schema: graphileSchema, noHandleSignals: true, logger: silentLogger,
        taskList: { noop: async (payload) => onJob(payload.seq) }, ...top,
        ...(Object.keys(rest).length ? { preset: { worker: rest } } : {}),
      });
    },
    async stop() {
      await this.runner?.stop();
      this.runner = undefined;
    },
  },
  'pg-boss': {
    version: versionOf('pg-boss'),
    // From dist/types.d.ts and its docs: ConstructorOptions.useListenNotify,
    // QueueOptions.notify, JobPollingOptions, JobFetchOptions.batchSize,
    // WorkConcurrencyOptions.localConcurrency; the pool's max (dist/db.js).
    defaults: { localConcurrency: 1, batchSize: 1, pollingIntervalSeconds: 2, notifyPollingIntervalSeconds: 30,
                burstWhenBatchFull: false, useListenNotify: false, notify: false, max: 10 },
    perProcess: 'localConcurrency',
    construct(o, s) {
      const boss = new PgBoss({ connectionString: o.url, schema: bossSchema, ...pick(s, ['useListenNotify', 'max']) });
      boss.on('error', (e) => console.error(e));
      return boss;
    },
    async setUp(o, s) {
      await dropSchema(o.url, bossSchema);
      this.boss = this.construct(o, s);
      await this.boss.start();
      await this.boss.createQueue('noop', pick(s, ['notify']));
    },
    enqueue(seq) { return this.boss.send('noop', { seq }); },
    async enqueueMany(first, count) {
      const jobs = [];
      for (let i = 0; i < count; ++i) jobs.push({ data: { seq: first + i } });
      await this.boss.insert('noop', jobs);
    },
    async finished(client, jobs) {
      const r = await client.query(`SELECT count(*)::int AS n FROM "${bossSchema}".job WHERE state = 'completed'`);
      return r.rows[0].n >= jobs;
    },
    async tearDown() {
      await this.boss?.stop({ graceful: true, close: true });
      this.boss = undefined;
    },
    // A worker process has its own instance, started before the clock runs
    // (in one process the instance that enqueued was started before too).
    async prepare(o, s) {
      this.boss = this.construct(o, s);
      await this.boss.start();
    },
    async start(o, s, onJob) {
      const options = pick(s, ['localConcurrency', 'batchSize', 'pollingIntervalSeconds', 'notifyPollingIntervalSeconds',
                               'burstWhenBatchFull']);
      await this.boss.work('noop', options, async (jobs) => { for (const job of jobs) onJob(job.data.seq); });
    },
    async stop() { await this.tearDown(); },
  },
};

// The configuration's settings with --processes, --workers and --set on top.
function settingsOf(o) {
  const config = configurations[o.system];
  const peer = peers[config.peer];
  const s = { processes: 1, ...config.settings, ...o.set };
  if (o.processes !== undefined) s.processes = o.processes;
  if (o.workers !== undefined) s[peer.perProcess] = o.workers;
  for (const key of Object.keys(s)) {
    if (key !== 'processes' && !(key in peer.defaults)) {
      throw new Error(`${config.peer}: no setting '${key}' here (known: ${Object.keys(peer.defaults).join(', ')})`);
    }
  }
  return s;
}

// --- modes -------------------------------------------------------------------------

// An idle worker (one process); one job at a time at --rate per second;
// latency = handler start - just before the enqueue call, one clock. The
// first --warmup jobs are not counted.
async function latency(o, peer, s, r) {
  const total = o.warmup + o.jobs;
  const starts = new Starts(total);
  const before = new Float64Array(total);
  await peer.setUp(o, s);
  try {
    await peer.start(o, s, (seq) => starts.started(seq));
    const interval = 1000 / o.rate;
    const t0 = performance.now();
    for (let i = 0; i < total; ++i) {
      const due = t0 + interval * i;
      const now = performance.now();
      if (due > now) await sleep(due - now);
      before[i] = performance.now();
      await peer.enqueue(i);
      await starts.wait(i, 30000);
    }
  } finally {
    await peer.stop();
    await peer.tearDown();
  }
  const samples = [];
  for (let i = o.warmup; i < total; ++i) samples.push(starts.at[i] - before[i]);
  samples.sort((a, b) => a - b);
  const us = (ms) => ms * 1000;
  r.emit('latency_p50', us(percentile(samples, 0.5)), 'us');
  r.emit('latency_p90', us(percentile(samples, 0.9)), 'us');
  r.emit('latency_p99', us(percentile(samples, 0.99)), 'us');
  r.emit('latency_max', us(samples[samples.length - 1]), 'us');
}

// One forked worker process, driven by messages: prepare -> ready, go ->
// (runs jobs), stop -> stopped with its peak RSS and handler count.
class WorkerProcess {
  constructor(o, s) {
    this.child = fork(fileURLToPath(import.meta.url), ['--child'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.waiting = new Map();
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => {
      for (const [, { reject }] of this.waiting) reject(new Error(`a worker process exited (${signal ?? code})`));
      this.waiting.clear();
      resolve(code);
    }));
    this.child.on('message', (m) => {
      if (m.type === 'error') {
        for (const [, { reject }] of this.waiting) reject(new Error(`worker process: ${m.message}`));
        this.waiting.clear();
        return;
      }
      const w = this.waiting.get(m.type);
      if (w) { this.waiting.delete(m.type); w.resolve(m); }
    });
    this.o = o; this.s = s;
  }
  request(type, answer) {
    return new Promise((resolve, reject) => {
      this.waiting.set(answer, { resolve, reject });
      this.child.send({ type, o: { url: this.o.url, system: this.o.system }, s: this.s });
    });
  }
  kill() { if (this.child.exitCode === null) this.child.kill('SIGKILL'); }
}

async function childMain() {
  let peer, o, s, ran = 0, chain = Promise.resolve();
  process.on('message', (m) => {
    chain = chain.then(async () => {
      if (m.type === 'prepare') {
        ({ o, s } = m);
        peer = peers[configurations[o.system].peer];
        await peer.prepare(o, s);
        process.send({ type: 'ready' });
      } else if (m.type === 'go') {
        await peer.start(o, s, () => { ++ran; });
        process.send({ type: 'started' });
      } else if (m.type === 'stop') {
        await peer.stop();
        process.send({ type: 'stopped', maxRssKiB: process.resourceUsage().maxRSS, ran }, () => process.exit(0));
      }
    }).catch((e) => {
      process.send({ type: 'error', message: e.stack ?? String(e) }, () => process.exit(1));
    });
  });
  process.on('disconnect', () => process.exit(0));
}

// Bulk enqueue (the peer's own bulk API, 10,000 jobs a call), then fork
// --processes worker processes; process rate = jobs / time from telling
// them to start until the database shows every job completed. Peak RSS:
// the sum over the worker processes.
async function throughput(o, peer, s, r) {
  const workers = [];
  await peer.setUp(o, s);
  try {
    const t0 = performance.now();
    for (let first = 0; first < o.jobs; first += 10000) await peer.enqueueMany(first, Math.min(10000, o.jobs - first));
    r.emit('enqueue_jobs_per_s', o.jobs / ((performance.now() - t0) / 1000), 'jobs/s');
    for (let i = 0; i < s.processes; ++i) workers.push(new WorkerProcess(o, s));
    await Promise.all(workers.map((w) => w.request('prepare', 'ready')));
    await withClient(o.url, async (client) => {
      const t1 = performance.now();
      const started = Promise.all(workers.map((w) => w.request('go', 'started')));
      let failed;
      started.catch((e) => { failed = e; });
      const deadline = t1 + 600000;
      while (!(await peer.finished(client, o.jobs))) {
        if (failed) throw failed;
        if (performance.now() > deadline) throw new Error(`timed out after ${(deadline - t1) / 1000} s`);
        await sleep(10);
      }
      r.emit('process_jobs_per_s', o.jobs / ((performance.now() - t1) / 1000), 'jobs/s');
      await started;
    });
    const stopped = await Promise.all(workers.map((w) => w.request('stop', 'stopped')));
    const ran = stopped.reduce((sum, m) => sum + m.ran, 0);
    if (ran < o.jobs) console.error(`  (${ran} handler runs for ${o.jobs} jobs)`);
    r.emit('peak_rss_mib', stopped.reduce((sum, m) => sum + m.maxRssKiB, 0) / 1024, 'MiB');
    await Promise.all(workers.map((w) => w.exited));
  } finally {
    for (const w of workers) w.kill();
    await peer.tearDown();
  }
}

// --- report --------------------------------------------------------------------------

const notSettings = new Set(['run', 'mode', 'postgres', 'fsync', 'synchronous_commit']);
const fmt = (v) => Math.round(v).toLocaleString('en-US');
const settingsText = (params) => Object.entries(params).filter(([k]) => !notSettings.has(k))
  .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ');

// Medians per mode and configuration (a system and its settings: the same
// system run with different settings is told apart by the settings that
// differ, e.g. seesaw at 8 and at 24 workers), the settings next to each;
// then seesaw against the best peer configuration per metric.
function report(path) {
  const modes = new Map();  // mode -> key -> { system, params, metrics: Map(metric -> { unit, values }) }
  let server;
  for (const [n, line] of readFileSync(path, 'utf8').split('\n').entries()) {
    if (!line.trim()) continue;
    let doc;
    try { doc = JSON.parse(line); } catch { throw new Error(`${path}:${n + 1}: not a result line`); }
    const { run: _run, ...params } = doc.params;
    server ??= `${String(params.postgres).startsWith('PostgreSQL') ? '' : 'PostgreSQL '}${params.postgres}, ` +
               `fsync ${params.fsync}, synchronous_commit ${params.synchronous_commit}`;
    const mode = params.mode;
    if (!modes.has(mode)) modes.set(mode, new Map());
    const configs = modes.get(mode);
    const key = `${doc.system}\t${JSON.stringify(Object.entries(params).sort())}`;
    if (!configs.has(key)) configs.set(key, { system: doc.system, params, metrics: new Map() });
    const metrics = configs.get(key).metrics;
    if (!metrics.has(doc.metric)) metrics.set(doc.metric, { unit: doc.unit, values: [] });
    metrics.get(doc.metric).values.push(doc.value);
  }
  // Labels: the system, and the settings that tell its configurations apart.
  for (const configs of modes.values()) {
    const bySystem = new Map();
    for (const c of configs.values()) bySystem.set(c.system, [...(bySystem.get(c.system) ?? []), c]);
    for (const [system, list] of bySystem) {
      const keys = [...new Set(list.flatMap((c) => Object.keys(c.params)))].filter(
        (k) => new Set(list.map((c) => JSON.stringify(c.params[k]))).size > 1);
      for (const c of list) {
        c.label = keys.length ? `${system} (${keys.map((k) => `${k}=${c.params[k]}`).join(', ')})` : system;
      }
    }
  }
  const order = (a, b) => (a.system === 'seesaw') !== (b.system === 'seesaw') ? (a.system === 'seesaw' ? -1 : 1)
    : a.label.localeCompare(b.label, 'en', { numeric: true });
  // seesaw's latency_fast_*: a job enqueued in the dispatcher's own process
  // (its in-process fast path, on by default), as the peers' producers are.
  const tables = [['latency', ['latency_p50', 'latency_p90', 'latency_p99', 'latency_max', 'latency_fast_p50',
                               'latency_fast_p99']],
                  ['throughput', ['enqueue_jobs_per_s', 'process_jobs_per_s', 'peak_rss_mib']]];
  const med = (c, metric) => { const m = c.metrics.get(metric); return m ? median(m.values) : undefined; };
  console.log(`${path}: ${server}; medians (runs)\n`);
  for (const [mode, metrics] of tables) {
    const configs = [...(modes.get(mode)?.values() ?? [])].sort(order);
    if (!configs.length) continue;
    const units = metrics.map((m) => configs.map((c) => c.metrics.get(m)?.unit).find(Boolean) ?? '');
    console.log(`| ${mode} | ${metrics.map((m, i) => `${m} (${units[i]})`).join(' | ')} | settings |`);
    console.log(`|---|${metrics.map(() => '---:').join('|')}|---|`);
    for (const c of configs) {
      const cells = metrics.map((m) => {
        const v = c.metrics.get(m);
        return v ? `${fmt(median(v.values))} (${v.values.length})` : '-';
      });
      console.log(`| ${c.label} | ${cells.join(' | ')} | ${settingsText(c.params)} |`);
    }
    console.log('');
  }
  // seesaw / the best peer configuration (highest rate, lowest latency).
  const rows = [];
  // pooled: the peer side is one operation whatever the configuration (every
  // graphile-worker configuration enqueues with the same add_jobs): the
  // median of all their values rather than the best configuration's.
  // mineMetric: seesaw's figure for the same measure, when it has its own name.
  const compare = (mode, metric, higherIsBetter, peerFilter, what, pooled = false, mineMetric = metric) => {
    const configs = [...(modes.get(mode)?.values() ?? [])].sort(order);
    const mine = configs.filter((c) => c.system === 'seesaw' && med(c, mineMetric) !== undefined);
    const theirs = configs.filter((c) => c.system !== 'seesaw' && peerFilter(c) && med(c, metric) !== undefined);
    if (!mine.length || !theirs.length) return;
    let label, value;
    if (pooled) {
      const values = theirs.flatMap((c) => c.metrics.get(metric).values);
      [label, value] = [`${theirs.map((c) => c.label).join(', ')} (${values.length} runs pooled)`, median(values)];
    } else {
      const best = theirs.reduce((a, b) => ((higherIsBetter ? med(b, metric) > med(a, metric)
                                                             : med(b, metric) < med(a, metric)) ? b : a));
      [label, value] = [best.label, med(best, metric)];
    }
    for (const c of mine) {
      const unit = c.metrics.get(mineMetric).unit;
      rows.push(`| ${what} | ${c.label}: ${fmt(med(c, mineMetric))} ${unit} | ${label}: ${fmt(value)} ${unit} | ` +
                `${(med(c, mineMetric) / value).toFixed(2)} | ${higherIsBetter ? 'higher' : 'lower'} |`);
    }
  };
  compare('throughput', 'process_jobs_per_s', true, () => true, 'process rate, against the best peer');
  compare('throughput', 'enqueue_jobs_per_s', true, (c) => c.system.startsWith('graphile-worker'),
          "bulk enqueue, against graphile-worker's add_jobs", true);
  compare('latency', 'latency_p50', false, () => true, 'latency p50, against the best peer');
  compare('latency', 'latency_p99', false, () => true, 'latency p99, against the best peer');
  compare('latency', 'latency_p50', false, () => true,
          'latency p50, enqueued in the worker\'s process (seesaw: its fast path), against the best peer', false,
          'latency_fast_p50');
  compare('latency', 'latency_p99', false, () => true,
          'latency p99, enqueued in the worker\'s process (seesaw: its fast path), against the best peer', false,
          'latency_fast_p99');
  // The floor: seesaw-bench --mode floor's claim-and-complete on seesaw's
  // table (no dispatcher), next to the best peer's drain rate.
  for (const finish of ['update', 'delete']) {
    const floors = [...(modes.get('floor')?.values() ?? [])].filter((c) => c.system === 'seesaw');
    const floor = floors.map((c) => med(c, `floor_claim_complete_${finish}_jobs_per_s`)).find((v) => v !== undefined);
    const peers = [...(modes.get('throughput')?.values() ?? [])].filter((c) => c.system !== 'seesaw' &&
                                                                             med(c, 'process_jobs_per_s') !== undefined);
    if (floor === undefined || !peers.length) continue;
    const best = peers.reduce((a, b) => (med(b, 'process_jobs_per_s') > med(a, 'process_jobs_per_s') ? b : a));
    const value = med(best, 'process_jobs_per_s');
    rows.push(`| PostgreSQL's floor on seesaw's table (claim + ${finish === 'update' ? 'success update' : 'DELETE'}, ` +
              `no dispatcher) against the best peer | ${fmt(floor)} jobs/s | ${best.label}: ${fmt(value)} jobs/s | ` +
              `${(floor / value).toFixed(2)} | higher |`);
  }
  if (rows.length) {
    console.log('| seesaw / peer | seesaw | peer: the best configuration, or all pooled | ratio | better |');
    console.log('|---|---|---|---:|---|');
    for (const row of rows) console.log(row);
  }
}

// --- main --------------------------------------------------------------------------------

if (process.argv[2] === '--child') {
  await childMain();
} else {
  const o = parseArgs(process.argv.slice(2));
  if (o.report) {
    report(o.report);
  } else {
    try {
      const peer = peers[configurations[o.system].peer];
      const s = settingsOf(o);
      if (o.mode === 'latency' && s.processes !== 1) {
        // One idle worker process is the latency measurement; the settings
        // say what ran.
        console.error(`${o.system}: latency mode runs one process (the configuration has ${s.processes})`);
        s.processes = 1;
      }
      const effective = { ...peer.defaults, ...s };
      const params = { mode: o.mode, jobs: o.jobs, version: peer.version, processes: s.processes,
                       workers: s.processes * effective[peer.perProcess], ...effective,
                       ...(o.mode === 'latency' ? { rate: o.rate, warmup: o.warmup } : {}),
                       ...(await serverParams(o.url)) };
      for (let runNo = 1; runNo <= o.runs; ++runNo) {
        console.error(`${o.system} ${peer.version} ${o.mode}, run ${runNo} of ${o.runs}: ${settingsText(
          Object.fromEntries(Object.entries(params).filter(([k]) => !['mode', 'version'].includes(k))))}`);
        await (o.mode === 'latency' ? latency : throughput)(o, peer, s, new Report(o, { ...params, run: runNo }));
      }
    } catch (e) {
      console.error(`peers.mjs: ${e.stack ?? e.message}`);
      process.exit(1);
    }
  }
}
