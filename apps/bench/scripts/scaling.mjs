#!/usr/bin/env node
/**
 * Scaling benchmark (issue 18): one `parry eval` with 1 worker (one process) against 2 workers (`--shard 0/2` and
 * `--shard 1/2` in parallel, then `parry merge`) on this machine, and a projection of large evaluations onto N machines
 * from measured per-example costs. Everything goes through the built CLI, as a user would run it.
 *
 *   pnpm bench:scaling                                   # build the CLI, measure, rewrite the docs section
 *   node apps/bench/scripts/scaling.mjs --reps 1 --no-docs
 *   node apps/bench/scripts/scaling.mjs --render-only    # the section again from runs/bench-scaling/results.json
 *
 * Models (cached in runs/bench-scaling/, trained on first use): the Wong et al. 2020 MNIST CNN, 1 epoch on the first
 * 10,000 real MNIST training images (the model of `pnpm bench:attacks`), and a 1-layer BERT-style encoder (hidden 128)
 * trained for 2 epochs on 8,000 SST-2 training sentences. Data: ../shared/data/{mnist,sst2} (or PARRY_SHARED_DATA);
 * the benchmark exits with a message when they are absent.
 *
 * Only the section between `<!-- scaling:start -->` and `<!-- scaling:end -->` of docs/benchmarks.md is replaced
 * (appended if missing). Each figure carries the 1-minute load average before -> after and the share of CPU other
 * processes used in the 3 s before it started; a figure is marked "busy" when that share was above 25%.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const shared = path.resolve(process.env.PARRY_SHARED_DATA ?? path.join(root, '../shared/data'));
const bin = path.join(root, 'apps/cli/dist/bin.js');
const work = path.join(root, 'runs/bench-scaling');
const docs = path.join(root, 'docs/benchmarks.md');
const START = '<!-- scaling:start -->';
const END = '<!-- scaling:end -->';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const REPS = Number(opt('--reps', 2));
const WRITE_DOCS = !argv.includes('--no-docs');

const log = (m) => process.stderr.write(`[bench:scaling] ${m}\n`);
const rel = (p) => path.relative(root, p);

// ------------------------------------------------------------------------------------------------ measuring helpers

/** Share of CPU time (all cores) that was busy over `ms` milliseconds, from /proc/stat (null off Linux). */
async function cpuBusy(ms = 3000) {
  const read = () => {
    try {
      const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
      const idle = f[3] + (f[4] ?? 0);
      return { idle, total: f.reduce((a, b) => a + b, 0) };
    } catch {
      return null;
    }
  };
  const a = read();
  await new Promise((r) => setTimeout(r, ms));
  const b = read();
  if (!a || !b || b.total === a.total) return null;
  return 1 - (b.idle - a.idle) / (b.total - a.total);
}

/** Run `parry <args>`; wall time in ms (process start to exit). Throws with stderr on a non-zero exit. */
function parry(args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => {
      const ms = performance.now() - t0;
      if (code === 0) resolve({ ms, stdout });
      else reject(new Error(`parry ${args.join(' ')} exited ${code}:\n${stderr}${stdout}`));
    });
  });
}

/** Time `fn` with the machine's load around it. */
async function measured(label, fn) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await measuredOnce(label, fn);
    } catch (e) {
      // A workspace rebuild (tsup cleans dist/) can remove the CLI's modules under a running benchmark: wait, redo.
      if (attempt >= 5 || !/ERR_MODULE_NOT_FOUND|Cannot find module/.test(String(e))) throw e;
      log(`${label}: the CLI's modules vanished (a rebuild?); retrying in 30 s`);
      await new Promise((r) => setTimeout(r, 30_000));
    }
  }
}

async function measuredOnce(label, fn) {
  const busy = await cpuBusy();
  const loadBefore = os.loadavg()[0];
  const t0 = performance.now();
  const detail = await fn();
  const ms = performance.now() - t0;
  const loadAfter = os.loadavg()[0];
  log(`${label}: ${(ms / 1000).toFixed(1)} s (load ${loadBefore.toFixed(1)} -> ${loadAfter.toFixed(1)}, others' CPU ${busy === null ? '?' : `${Math.round(busy * 100)}%`})`);
  return { label, ms, loadBefore, loadAfter, busy, ...detail };
}

const readJson = (f) => JSON.parse(fs.readFileSync(f, 'utf8'));
const attackMs = (file) => readJson(file).attacks.reduce((a, e) => a + (e.wallTimeMs ?? 0), 0);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * How much CPU the machine gives one more process right now: a single-threaded integer loop run for 3 s alone, then
 * as two processes at once; the ratio of the work done (2 = two free cores, 1 = the second process took its CPU from
 * the first). Independent of Parry, so it separates the machine from the evaluation.
 */
async function spinProbe() {
  const spin = () =>
    new Promise((resolve, reject) => {
      const code = 'let x=0,n=0;const end=Date.now()+3000;while(Date.now()<end){for(let i=0;i<1e5;i++)x=(x*1103515245+12345)|0;n++}console.log(n)';
      const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('exit', (c) => (c === 0 ? resolve(Number(out)) : reject(new Error('spin probe failed'))));
    });
  const one = await spin();
  const two = await Promise.all([spin(), spin()]);
  const ratio = (two[0] + two[1]) / one;
  log(`spin probe: 2 processes did ${ratio.toFixed(2)}x the work of 1 (load ${os.loadavg()[0].toFixed(1)})`);
  return { one, two, ratio, load: os.loadavg()[0] };
}

// ---------------------------------------------------------------------------------------------------------- models

const MNIST_MODEL = path.join(work, 'mnist-cnn');
const SST2_MODEL = path.join(work, 'sst2-bert');
const MNIST_TRAIN = ['train', '--data', path.join(shared, 'mnist'), '--limit', '10000', '--epochs', '1', '--batch-size', '64', '--lr', '2e-3', '--seed', '0', '-o', MNIST_MODEL, '-q'];
const SST2_TRAIN = ['train', '--model', 'bert', '--layers', '1', '--hidden', '128', '--heads', '2', '--intermediate', '512', '--vocab', 'corpus', '--vocab-size', '8000', '--max-length', '64', '--limit', '8000', '--epochs', '2', '--batch-size', '32', '--lr', '5e-4', '--seed', '0', '--data', path.join(shared, 'sst2'), '-o', SST2_MODEL, '-q'];

async function ensureModel(dir, args) {
  if (fs.existsSync(path.join(dir, 'parry.json')) || fs.existsSync(path.join(dir, 'config.json'))) return { cached: true };
  log(`training ${rel(dir)}`);
  const { ms } = await parry(args);
  return { cached: false, ms };
}

// ------------------------------------------------------------------------------------------------------ workloads

const IMAGE = {
  id: 'pgd',
  what: 'PGD-40 (linf, eps 0.3, random start) on the first 2,048 real MNIST test digits, batches of 256 (8 batches, 4 per shard), MNIST CNN',
  args: ['eval', '--model', MNIST_MODEL, '--data', path.join(shared, 'mnist'), '--attack', 'pgd', '--eps', '0.3', '-n', '2048', '--batch-size', '256', '--seed', '0', '-q'],
};
const TEXT = {
  id: 'pwws',
  what: 'PWWS on the first 300 SST-2 dev sentences (150 per shard), 1-layer encoder',
  args: ['eval', '--model', SST2_MODEL, '--attack', 'pwws', '-n', '300', '--seed', '0', '-q'],
};

/** One evaluation with 1 worker, and with 2 (two shard processes at once, then merge); the files must agree. */
async function oneVsTwo(w, rep, order) {
  const dir = path.join(work, w.id);
  fs.mkdirSync(dir, { recursive: true });
  const single = path.join(dir, 'single.json');
  const shards = [0, 1].map((i) => path.join(dir, `shard-${i}.json`));
  const merged = path.join(dir, 'merged.json');
  const one = () =>
    measured(`${w.id} 1 worker (rep ${rep})`, async () => {
      await parry([...w.args, '-o', single]);
      return { attackMs: attackMs(single) };
    });
  const two = () =>
    measured(`${w.id} 2 workers (rep ${rep})`, async () => {
      const runs = await Promise.all(shards.map((s, i) => parry([...w.args, '--shard', `${i}/2`, '-o', s])));
      const m = await parry(['merge', ...shards, '-o', merged]);
      return { shardMs: runs.map((r) => r.ms), shardAttackMs: shards.map(attackMs), mergeMs: m.ms };
    });
  const out = {};
  for (const k of order) out[k] = k === 1 ? await one() : await two();
  // Timing fields aside (wall times; text queries per second, which divides by them).
  const strip = (f) => JSON.stringify({ ...readJson(f), createdAt: 0, command: 0, environment: 0 }, (k, v) => (k === 'wallTimeMs' || k === 'queriesPerSecond' ? undefined : v));
  if (strip(single) !== strip(merged)) throw new Error(`${w.id}: the merged 2-worker results differ from the 1-worker results`);
  return out;
}

// ---------------------------------------------------------------------------------------------- per-example costs

/** Per-example attack cost of one process, and its fixed cost (start, model and data load, clean pass, writing). */
async function perExample(label, args, n, file) {
  const r = await measured(label, async () => {
    const { ms } = await parry([...args, '-o', file]);
    const res = readJson(file);
    const a = res.attacks[0];
    return { processMs: ms, attackMs: attackMs(file), n, stages: a?.perEpsilon?.[0]?.stages, robust: a?.perEpsilon?.[0]?.robustAccuracy ?? a?.robustAccuracy, avgQueries: a?.avgQueries };
  });
  return { ...r, perExampleMs: r.attackMs / n };
}

async function main() {
  if (argv.includes('--render-only')) return writeSection(readJson(path.join(work, 'results.json')));
  for (const d of ['mnist', 'sst2'])
    if (!fs.existsSync(path.join(shared, d))) {
      log(`no ${d} data in ${shared} (set PARRY_SHARED_DATA); skipping the scaling benchmark`);
      return;
    }
  if (!fs.existsSync(bin)) throw new Error(`build the CLI first (${rel(bin)} is missing): pnpm --filter "@parry/cli..." build`);
  fs.mkdirSync(work, { recursive: true });
  const started = new Date();
  const load0 = os.loadavg();
  const training = { mnist: await ensureModel(MNIST_MODEL, MNIST_TRAIN), sst2: await ensureModel(SST2_MODEL, SST2_TRAIN) };

  // 1 vs 2 workers, alternating which goes first.
  const workers = { image: [], text: [] };
  const probes = [await spinProbe()];
  for (let rep = 0; rep < REPS; rep++) {
    const order = rep % 2 ? [2, 1] : [1, 2];
    workers.image.push(await oneVsTwo(IMAGE, rep, order));
    workers.text.push(await oneVsTwo(TEXT, rep, order));
    probes.push(await spinProbe());
  }

  // Per-example costs for the projection.
  const pdir = path.join(work, 'projection');
  fs.mkdirSync(pdir, { recursive: true });
  const mnist = ['--model', MNIST_MODEL, '--data', path.join(shared, 'mnist'), '--seed', '0', '-q'];
  const costs = {
    // Undefended CNN at eps 0.3: APGD-CE breaks (nearly) every digit, the later stages have (nearly) nothing left.
    aaEasy: await perExample('AutoAttack-standard eps 0.3, 256 digits', ['eval', ...mnist, '--attack', 'autoattack', '--eps', '0.3', '-n', '256', '--batch-size', '256'], 256, path.join(pdir, 'aa-easy.json')),
    // The same model at eps 0.01: almost nothing breaks, so all four stages run their full budgets on (nearly) every
    // digit — the per-digit compute of a model robust to every stage (cost per step does not depend on the weights).
    aaHard: await perExample('AutoAttack-standard eps 0.01, 32 digits', ['eval', ...mnist, '--attack', 'autoattack', '--eps', '0.01', '-n', '32', '--batch-size', '32'], 32, path.join(pdir, 'aa-hard.json')),
    textfooler: await perExample('TextFooler, 200 SST-2 dev sentences', ['eval', '--model', SST2_MODEL, '--attack', 'textfooler', '-n', '200', '--seed', '0', '-q'], 200, path.join(pdir, 'textfooler.json')),
    // Fixed cost per process at the projected sizes: start, model and data load, clean pass over all examples
    // (every shard measures clean metrics on the whole run), writing; FGSM adds ~one gradient per digit.
    fixedImage: await perExample('fixed cost: FGSM on 10,000 digits', ['eval', ...mnist, '--attack', 'fgsm', '--eps', '0.3', '-n', '10000'], 10000, path.join(pdir, 'fgsm-10000.json')),
    fixedText: await perExample('fixed cost: clean pass on 872 SST-2 dev sentences', ['eval', '--model', SST2_MODEL, '-q'], 872, path.join(pdir, 'clean-872.json')),
  };
  // Merge cost at 10,000 digits, with 2 and 8 shards of the FGSM run.
  const merges = {};
  for (const k of [2, 8]) {
    const files = [];
    for (let i = 0; i < k; i += 2)
      await Promise.all(
        [i, i + 1].map((j) => {
          files[j] = path.join(pdir, `fgsm-${k}-${j}.json`);
          return parry(['eval', ...mnist, '--attack', 'fgsm', '--eps', '0.3', '-n', '10000', '--shard', `${j}/${k}`, '-o', files[j]]);
        }),
      );
    merges[k] = await measured(`merge ${k} shards of 10,000 digits`, async () => ({ mergeMs: (await parry(['merge', ...files, '-o', path.join(pdir, `fgsm-${k}-merged.json`)])).ms }));
  }

  const result = { started: started.toISOString(), load0, load1: os.loadavg(), machine: machine(), training, workers, probes, costs, merges };
  fs.writeFileSync(path.join(work, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeSection(result);
}

/** Print the section and put it between the markers of docs/benchmarks.md (unless --no-docs). */
function writeSection(result) {
  const section = render(result);
  process.stdout.write(`${section}\n`);
  if (WRITE_DOCS) {
    const text = fs.readFileSync(docs, 'utf8');
    const i = text.indexOf(START);
    const j = text.indexOf(END);
    const next = i >= 0 && j > i ? `${text.slice(0, i)}${section}${text.slice(j + END.length)}` : `${text.trimEnd()}\n\n${section}\n`;
    fs.writeFileSync(`${docs}.tmp`, next);
    fs.renameSync(`${docs}.tmp`, docs);
    log(`wrote the scaling section of ${rel(docs)}`);
  }
}

function machine() {
  const cpus = os.cpus();
  return { cpu: cpus[0]?.model.trim() ?? '?', cores: cpus.length, memGiB: os.totalmem() / 2 ** 30, node: process.version, platform: `${os.platform()} ${os.release()} ${os.arch()}` };
}

// ----------------------------------------------------------------------------------------------------- the section

const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
const pct = (x) => (x === null || x === undefined ? '?' : `${Math.round(x * 100)}%`);
const BUSY = 0.25;
const loadCell = (m) => `${m.loadBefore.toFixed(1)} → ${m.loadAfter.toFixed(1)}; ${pct(m.busy)}${m.busy === null || m.busy > BUSY ? ' **busy**' : ''}`;

/**
 * Projected wall time on `machines` machines of 2 cores. A machine runs 2 shard processes when the measured 2-worker
 * speedup is above 1 (each at speedup / 2 of a lone process's speed), else 1 process.
 */
function project({ units, perUnitMs, fixedMs, speedup2, mergeMs }, machines) {
  const perMachine = speedup2 > 1 ? 2 : 1;
  const procs = perMachine * machines;
  const unitsPerProc = Math.ceil(units / procs);
  const attack = (unitsPerProc * perUnitMs) / (perMachine === 2 ? speedup2 / 2 : 1);
  return { ms: fixedMs + attack + mergeMs(procs), idle: Math.max(0, procs - units), procs };
}

function render(r) {
  const m = r.machine;
  const L = [];
  const anyBusy = [...r.workers.image, ...r.workers.text].some((x) => [x[1], x[2]].some((y) => y.busy === null || y.busy > BUSY)) || Object.values(r.costs).some((c) => c.busy === null || c.busy > BUSY);
  L.push(START, '', `### Scaling: 1 vs 2 workers, and a projection to N machines (${r.started.slice(0, 10)}, ${m.cores} cores, ${m.cpu})`, '');
  L.push(`Written by \`pnpm bench:scaling\` (apps/bench/scripts/scaling.mjs) on ${r.started}: ${m.cpu}, ${m.cores} cores, ${m.memGiB.toFixed(1)} GiB, ${m.platform}, Node ${m.node}; every run through the built CLI (\`parry eval\`, wasm backend, 1 thread per process). Load average (1/5/15 min) at the start ${r.load0.map((x) => x.toFixed(1)).join(' / ')}, at the end ${r.load1.map((x) => x.toFixed(1)).join(' / ')}.`);
  L.push('');
  L.push(`**Load.** Each figure gives the 1-minute load average before → after it and the share of the CPU that other processes used in the 3 s before it started; **busy** marks a figure taken while that share was above ${pct(BUSY)}.${anyBusy ? ' Figures marked busy are indicative only: the machine was shared with other agents\' builds and tests, which take CPU from both workers unevenly. Rerun `pnpm bench:scaling` on an idle machine for the numbers to quote.' : ''}`);
  L.push('');
  L.push('Models: the Wong et al. 2020 MNIST CNN, 1 epoch (Adam 2e-3, batch 64, seed 0) on the first 10,000 real MNIST training images (the model of `pnpm bench:attacks`); a 1-layer BERT-style encoder (hidden 128, 2 heads, feed-forward 512, corpus WordPiece 8,000, max length 64), 2 epochs on the first 8,000 SST-2 training sentences.');
  L.push('');
  L.push('#### 1 worker vs 2 workers on this machine');
  L.push('');
  L.push('1 worker: one `parry eval` process. 2 workers: `--shard 0/2` and `--shard 1/2` started together, then `parry merge`; wall time from the start of the shards to the end of the merge. The merged file equals the 1-worker file (checked on every repetition). Repetitions alternate which mode goes first.');
  L.push('');
  L.push('| evaluation | rep | 1 worker | 2 workers (shards; merge) | speedup | attack time in the process: 1 worker; each shard | load 1 worker | load 2 workers |');
  L.push('|---|---:|---:|---:|---:|---|---|---|');
  const speed = {};
  for (const [kind, w] of [['image', IMAGE], ['text', TEXT]]) {
    const reps = r.workers[kind];
    reps.forEach((x, i) => {
      L.push(`| ${w.what} | ${i + 1} | ${s(x[1].ms)} | ${s(x[2].ms)} (${x[2].shardMs.map(s).join(', ')}; ${s(x[2].mergeMs)}) | ${(x[1].ms / x[2].ms).toFixed(2)}x | ${s(x[1].attackMs)}; ${x[2].shardAttackMs.map(s).join(', ')} | ${loadCell(x[1])} | ${loadCell(x[2])} |`);
    });
    speed[kind] = median(reps.map((x) => x[1].ms / x[2].ms));
  }
  const img = r.workers.image;
  const overhead = median(img.map((x) => x[1].ms - x[1].attackMs));
  const txt = r.workers.text;
  const overheadT = median(txt.map((x) => x[1].ms - x[1].attackMs));
  L.push('');
  L.push(`Median speedup: ${speed.image.toFixed(2)}x (PGD, image), ${speed.text.toFixed(2)}x (PWWS, text); the ideal on 2 cores is 2x.`);
  L.push('');
  const probes = r.probes ?? [];
  const bound = (reps) => {
    // Two free cores and a perfect split: T1 = attack + fixed, T2 = attack / 2 + fixed + merge.
    const a = median(reps.map((x) => x[1].attackMs));
    const f = median(reps.map((x) => x[1].ms - x[1].attackMs));
    const m = median(reps.map((x) => x[2].mergeMs));
    return (a + f) / (a / 2 + f + m);
  };
  if (probes.length)
    L.push(`**How much CPU a second process got.** A spin probe (a single-threaded integer loop, not Parry) run for 3 s alone and then as two processes at once did ${probes.map((p) => `${p.ratio.toFixed(2)}x`).join(', ')} the work of one process (before the runs, then after each repetition; 1-minute load ${probes.map((p) => p.load.toFixed(1)).join(', ')}). ${median(probes.map((p) => p.ratio)) < 1.5 ? 'So while these figures were taken the machine had no free second core to give: the second worker took its CPU from the first, and the 2-worker runs paid the per-process costs twice for no extra CPU, hence a speedup below 1.' : 'So the second worker had (most of) a core of its own.'} With two free cores and a perfect split, the parts measured here (attack time, the rest of the process, the merge — all inflated by the load) would bound the speedup at (attack + rest) / (attack / 2 + rest + merge) = ${bound(img).toFixed(2)}x for this PGD run and ${bound(txt).toFixed(2)}x for this PWWS run.`);
  L.push('');
  L.push(`**What limits it.** (1) Cores: two single-threaded processes can use at most the 2 cores, and any other load on the machine takes from them (the load columns and the spin probe); the wall time is the slower shard's. (2) Per-process fixed cost, paid by every shard: start, model and data load, and the clean pass (each shard measures clean metrics on the whole run) — ${s(overhead)} of the 1-worker PGD process and ${s(overheadT)} of the PWWS process were outside the attack — plus the merge (${s(median(img.map((x) => x[2].mergeMs)))} PGD, ${s(median(txt.map((x) => x[2].mergeMs)))} PWWS), which the 1-worker run does not pay. (3) Memory bandwidth and caches: the two processes share the last-level cache and the memory bus, so even on idle cores each runs somewhat slower than a lone process (compare the attack times inside the processes on an idle run; on a busy one the CPU share dominates). (4) Load balance: blocks are whole batches (image) or examples (text) of equal count, not equal cost; a PWWS example costs what its length and the model's confidence make it. On 2 cores, threads inside one process (\`PARRY_THREADS=2\`) are the alternative; the attack benchmark above measured PGD-40 slower with 2 wasm threads than with 1, so separate processes are the better use of the cores here.`);
  L.push('');

  // Projection.
  const c = r.costs;
  const mergeAt = (procs) => {
    // Linear in the number of shard files, through the measured merges of 2 and 8 shards of 10,000 digits.
    // (never below the 2-shard merge: under load the two can come out in either order).
    const [a, b] = [r.merges[2].mergeMs, r.merges[8].mergeMs];
    return a + Math.max(0, (b - a) / 6) * Math.max(0, procs - 2);
  };
  const fixedImage = c.fixedImage.processMs - c.fixedImage.attackMs;
  const fixedText = ((c.fixedText.processMs - c.fixedText.attackMs) * 1000) / 872;
  const scenarios = [
    { label: 'AutoAttack standard, 10,000 MNIST digits, undefended CNN (APGD-CE breaks nearly all)', units: 40, perUnitMs: c.aaEasy.perExampleMs * 256, fixedMs: fixedImage, speedup2: speed.image, mergeMs: mergeAt, unit: 'batch of 256' },
    { label: 'AutoAttack standard, 10,000 MNIST digits, a model robust to every stage (all stages at full budget)', units: 40, perUnitMs: c.aaHard.perExampleMs * 256, fixedMs: fixedImage, speedup2: speed.image, mergeMs: mergeAt, unit: 'batch of 256' },
    { label: 'TextFooler, 1,000 SST-2 sentences, 1-layer encoder', units: 1000, perUnitMs: c.textfooler.perExampleMs, fixedMs: fixedText, speedup2: speed.text, mergeMs: mergeAt, unit: 'sentence' },
  ];
  const NS = [1, 2, 4, 8, 16, 32];
  const fmt = (ms) => (ms >= 3600e3 ? `${(ms / 3600e3).toFixed(1)} h` : ms >= 60e3 ? `${(ms / 60e3).toFixed(1)} min` : s(ms));
  L.push('#### Projection to N machines from measured per-example costs');
  L.push('');
  L.push('Measured on this machine, one process each:');
  L.push('');
  L.push('| measurement | examples | attack time | per example | process wall | outside the attack | load |');
  L.push('|---|---:|---:|---:|---:|---:|---|');
  const rows = [
    ['AutoAttack standard (linf), eps 0.3, MNIST CNN, one batch of 256 (robust accuracy after: ' + pct(c.aaEasy.robust) + ')', c.aaEasy],
    ['AutoAttack standard (linf), eps 0.01, MNIST CNN, one batch of 32 (robust accuracy after: ' + pct(c.aaHard.robust) + '; nearly every digit goes through all four stages)', c.aaHard],
    ['TextFooler, first 200 SST-2 dev sentences, 1-layer encoder (word vectors: the model\'s own embeddings; accuracy under attack ' + pct(c.textfooler.robust) + ', ' + c.textfooler.avgQueries.toFixed(1) + ' queries per sentence)', c.textfooler],
    ['fixed cost per image process: FGSM on 10,000 test digits (start, load, clean pass of 10,000, ~1 gradient per digit)', c.fixedImage],
    ['fixed cost per text process: clean pass over the 872 SST-2 dev sentences', c.fixedText],
  ];
  for (const [label, x] of rows) L.push(`| ${label} | ${x.n.toLocaleString('en')} | ${x.attackMs ? s(x.attackMs) : '—'} | ${x.attackMs ? `${x.perExampleMs.toFixed(x.perExampleMs < 10 ? 2 : 0)} ms` : '—'} | ${s(x.processMs)} | ${s(x.processMs - x.attackMs)} | ${loadCell(x)} |`);
  L.push(`| \`parry merge\` of 2 / 8 shards of 10,000 digits (FGSM) | 10,000 | | | ${s(r.merges[2].mergeMs)} / ${s(r.merges[8].mergeMs)} | | ${loadCell(r.merges[2])}; ${loadCell(r.merges[8])} |`);
  L.push('');
  const perMachine = (sp) => (sp > 1 ? 2 : 1);
  const pm = (sp) => (perMachine(sp) === 2 ? '2 shard processes per machine, 2N shards' : '1 shard process per machine, N shards');
  L.push(`Projected wall time (each machine: 2 cores; images: ${pm(speed.image)}; text: ${pm(speed.text)}):`);
  L.push('');
  L.push(`| evaluation | ${NS.map((n) => `N = ${n}`).join(' | ')} |`);
  L.push(`|---|${NS.map(() => '---:').join('|')}|`);
  for (const sc of scenarios) L.push(`| ${sc.label} | ${NS.map((n) => { const p = project(sc, n); return `${fmt(p.ms)}${p.idle ? ` (${p.idle} idle)` : ''}`; }).join(' | ')} |`);
  L.push('');
  const rule = (sp, what) => (sp > 1 ? `${what}: 2 processes per machine, each at ${sp.toFixed(2)} / 2 of a lone process's speed (the measured 2-worker speedup)` : `${what}: 1 process per machine, since the measured 2-worker speedup (${sp.toFixed(2)}x) was not above 1 — a second process on a machine that cannot give it a core only adds its fixed cost; on idle machines the idle rerun's speedup applies and the times shrink by up to that factor`);
  const rules = speed.image <= 1 && speed.text <= 1 ? `1 process per machine, since the measured 2-worker speedups (${speed.image.toFixed(2)}x, ${speed.text.toFixed(2)}x) were not above 1 — a second process on a machine that cannot give it a core only adds its fixed cost; on idle machines the idle rerun's speedup applies and the times shrink by up to that factor` : `${rule(speed.image, 'images')}; ${rule(speed.text, 'text')}`;
  L.push(`Assumptions: T(N) = fixed cost of one process + ceil(units / shards) × cost per unit ÷ per-process speed + merge, with ${rules}. Units are what a shard takes: whole batches of 256 for images (10,000 digits = 40 batches, so with more than 40 shards some sit idle — "(k idle)" — unless \`--batch-size\` is lowered), single sentences for text. The split is otherwise perfect (equal cost per unit; AutoAttack's cost per batch varies with how many digits survive each stage). Fixed cost per process is measured at the projected size for images (10,000 digits: every shard runs the clean pass over all of them) and scaled from 872 to 1,000 sentences for text; it includes the CLI start, so a machine's own boot, container pull and data copy come on top. Merge time grows linearly with the number of shard files through the two measured merges of 10,000-digit shards (used for text too, an upper bound: 1,000 sentence records are smaller files). The robust-model AutoAttack row uses the per-digit cost measured in a batch of 32; in batches of 256 a digit costs less (larger kernels), so that row is an upper bound. Machines are assumed as fast as this one and idle; per-example costs were taken on this machine under the load shown. TextFooler here uses the model's own input embeddings as word vectors (no counter-fitted vectors in ../shared/data), which offer few candidates, so it makes far fewer queries per sentence than with counter-fitted vectors; cost scales with the queries per sentence (see the text-attack table above) and with the cost of one forward pass of the model attacked.`);
  L.push('', END);
  return L.join('\n');
}

main().catch((e) => {
  process.stderr.write(`[bench:scaling] ${e.stack ?? e}\n`);
  process.exit(1);
});
