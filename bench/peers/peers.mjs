// The same latency and throughput measurements as seesaw-bench, for the
// Node job queues people use today, on the same database: graphile-worker
// and pg-boss, each with its defaults except the worker count (and pg-boss's
// polling interval at its minimum, since it does not LISTEN), plus
// graphile-worker with its batching turned on (a local queue of 100 jobs
// and batched completions: graphile-worker-batched). One JSON
// object per line on stdout, as seesaw-bench prints; a table on stderr.
//
//   node peers.mjs --database-url URL --system graphile-worker|graphile-worker-batched|pg-boss
//                  --mode latency|throughput [--jobs N] [--rate R] [--workers N] [--runs K]
//   node peers.mjs --report FILE.jsonl     medians of every system side by side
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { run, makeWorkerUtils } from 'graphile-worker';
import { PgBoss } from 'pg-boss';

// Not require('x/package.json'): graphile-worker 0.18's "exports" does not list it.
const versionOf = (name) => JSON.parse(readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url))).version;

function parseArgs(argv) {
  const o = { url: process.env.SEESAW_DATABASE_URL, system: '', mode: '', jobs: 0, rate: 200, workers: 8, runs: 1 };
  const names = { '--database-url': 'url', '--system': 'system', '--mode': 'mode', '--jobs': 'jobs',
                  '--rate': 'rate', '--workers': 'workers', '--runs': 'runs', '--report': 'report' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = names[argv[i]];
    if (!key || i + 1 >= argv.length) usage(`unknown or incomplete option '${argv[i]}'`);
    o[key] = ['jobs', 'rate', 'workers', 'runs'].includes(key) ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (o.report) return o;
  if (!o.url) usage('--database-url is required (or set SEESAW_DATABASE_URL)');
  if (!Object.keys(systems).includes(o.system)) {
    usage(`--system must be one of ${Object.keys(systems).join(', ')}, got '${o.system}'`);
  }
  if (!['latency', 'throughput'].includes(o.mode)) usage(`--mode must be latency or throughput, got '${o.mode}'`);
  for (const k of ['rate', 'workers', 'runs']) if (!(o[k] > 0)) usage(`--${k} must be a positive number`);
  if (!o.jobs) o.jobs = o.mode === 'latency' ? 2000 : 100000;
  return o;
}

function usage(message) {
  console.error(`peers.mjs: ${message}\nusage: node peers.mjs --database-url URL ` +
                '--system graphile-worker|graphile-worker-batched|pg-boss ' +
                '--mode latency|throughput [--jobs N] [--rate R] [--workers N] [--runs K]\n' +
                '       node peers.mjs --report FILE.jsonl');
  process.exit(2);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
const median = (values) => percentile([...values].sort((a, b) => a - b), 0.5);
const silentLogger = { scope: () => silentLogger, debug() {}, info() {}, warn() {}, error: (m) => console.error(m) };

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

// --- the two systems, behind one small interface ------------------------------

const graphileSchema = 'peer_graphile_worker';
const bossSchema = 'peer_pgboss';

const systems = {
  'graphile-worker': {
    version: versionOf('graphile-worker'),
    async setUp(o) {
      await dropSchema(o.url, graphileSchema);
      this.utils = await makeWorkerUtils({ connectionString: o.url, schema: graphileSchema, logger: silentLogger });
      await this.utils.migrate();
    },
    preset: undefined,
    async start(o, onJob) {
      this.runner = await run({
        connectionString: o.url, schema: graphileSchema, concurrency: o.workers, noHandleSignals: true,
        logger: silentLogger, taskList: { noop: async (payload) => onJob(payload.seq) },
        ...(this.preset ? { preset: this.preset } : {}),
      });
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
      if (this.runner) await this.runner.stop();
      await this.utils.release();
      this.runner = undefined;
    },
  },
  'pg-boss': {
    version: versionOf('pg-boss'),
    async setUp(o) {
      await dropSchema(o.url, bossSchema);
      this.boss = new PgBoss({ connectionString: o.url, schema: bossSchema, max: o.workers + 2 });
      this.boss.on('error', (e) => console.error(e));
      await this.boss.start();
      await this.boss.createQueue('noop');
    },
    async start(o, onJob) {
      // pg-boss polls (no LISTEN); 0.5 s is its shortest interval. One
      // work() per worker, as its docs suggest for concurrency.
      for (let i = 0; i < o.workers; ++i) {
        await this.boss.work('noop', { pollingIntervalSeconds: 0.5, batchSize: o.mode === 'latency' ? 1 : 100 },
                             async (jobs) => { for (const job of jobs) onJob(job.data.seq); });
      }
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
    async tearDown() { await this.boss.stop({ graceful: true, close: true }); },
  },
};

// graphile-worker's batching (off by default): fetch up to 100 jobs at a
// time into a local queue, complete them in batches.
systems['graphile-worker-batched'] = {
  ...systems['graphile-worker'],
  preset: { worker: { localQueue: { size: 100 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
};

// --- modes -------------------------------------------------------------------------

// An idle worker; one job at a time at --rate per second; latency = handler
// start - just before the enqueue call, one clock.
async function latency(o, system, r) {
  const warmup = 50, total = warmup + o.jobs;
  const starts = new Starts(total);
  const before = new Float64Array(total);
  await system.start(o, (seq) => starts.started(seq));
  const interval = 1000 / o.rate;
  const t0 = performance.now();
  for (let i = 0; i < total; ++i) {
    const due = t0 + interval * i;
    const now = performance.now();
    if (due > now) await sleep(due - now);
    before[i] = performance.now();
    await system.enqueue(i);
    await starts.wait(i, 30000);
  }
  const samples = [];
  for (let i = warmup; i < total; ++i) samples.push(starts.at[i] - before[i]);
  samples.sort((a, b) => a - b);
  const us = (ms) => ms * 1000;
  r.emit('latency_p50', us(percentile(samples, 0.5)), 'us');
  r.emit('latency_p90', us(percentile(samples, 0.9)), 'us');
  r.emit('latency_p99', us(percentile(samples, 0.99)), 'us');
  r.emit('latency_max', us(samples[samples.length - 1]), 'us');
}

// Bulk enqueue, then drain with --workers; process rate = jobs / time from
// the workers' start until the database shows every job completed.
async function throughput(o, system, r) {
  const t0 = performance.now();
  for (let first = 0; first < o.jobs; first += 10000) await system.enqueueMany(first, Math.min(10000, o.jobs - first));
  r.emit('enqueue_jobs_per_s', o.jobs / ((performance.now() - t0) / 1000), 'jobs/s');
  let ran = 0;
  await withClient(o.url, async (client) => {
    const t1 = performance.now();
    await system.start(o, () => { ++ran; });
    const deadline = t1 + 600000;
    while (!(await system.finished(client, o.jobs))) {
      if (performance.now() > deadline) throw new Error(`timed out: ${ran} of ${o.jobs} handlers ran`);
      await sleep(10);
    }
    r.emit('process_jobs_per_s', o.jobs / ((performance.now() - t1) / 1000), 'jobs/s');
  });
  r.emit('peak_rss_mib', process.resourceUsage().maxRSS / 1024, 'MiB');
}

// --- report --------------------------------------------------------------------------

function report(path) {
  const series = new Map();
  for (const [n, line] of readFileSync(path, 'utf8').split('\n').entries()) {
    if (!line.trim()) continue;
    let doc;
    try { doc = JSON.parse(line); } catch { throw new Error(`${path}:${n + 1}: not a result line`); }
    const key = `${doc.params.mode}\t${doc.metric}`;
    if (!series.has(key)) series.set(key, new Map());
    const bySystem = series.get(key);
    if (!bySystem.has(doc.system)) bySystem.set(doc.system, { unit: doc.unit, values: [] });
    bySystem.get(doc.system).values.push(doc.value);
  }
  const systemsSeen = [...new Set([...series.values()].flatMap((m) => [...m.keys()]))].sort(
    (a, b) => (a === 'seesaw' ? -1 : b === 'seesaw' ? 1 : a.localeCompare(b)));
  const wanted = ['latency\tlatency_p50', 'latency\tlatency_p90', 'latency\tlatency_p99', 'latency\tlatency_max',
                  'throughput\tenqueue_jobs_per_s', 'throughput\tprocess_jobs_per_s', 'throughput\tpeak_rss_mib'];
  console.log(`| mode | metric | ${systemsSeen.join(' | ')} |`);
  console.log(`|---|---|${systemsSeen.map(() => '---:').join('|')}|`);
  for (const key of wanted) {
    const bySystem = series.get(key);
    if (!bySystem) continue;
    const [mode, metric] = key.split('\t');
    const cells = systemsSeen.map((s) => {
      const v = bySystem.get(s);
      return v ? `${Math.round(median(v.values)).toLocaleString('en-US')} ${v.unit} (${v.values.length})` : '-';
    });
    console.log(`| ${mode} | ${metric} | ${cells.join(' | ')} |`);
  }
}

// --- main --------------------------------------------------------------------------------

const o = parseArgs(process.argv.slice(2));
if (o.report) {
  report(o.report);
} else {
  const system = systems[o.system];
  const params = { mode: o.mode, jobs: o.jobs, workers: o.workers, version: system.version,
                   ...(o.mode === 'latency' ? { rate: o.rate } : {}), ...(await serverParams(o.url)) };
  try {
    for (let runNo = 1; runNo <= o.runs; ++runNo) {
      console.error(`${o.system} ${system.version} ${o.mode}, run ${runNo} of ${o.runs}`);
      await system.setUp(o);
      try {
        await (o.mode === 'latency' ? latency : throughput)(o, system, new Report(o, { ...params, run: runNo }));
      } finally {
        await system.tearDown();
      }
    }
  } catch (e) {
    console.error(`peers.mjs: ${e.message}`);
    process.exit(1);
  }
}
