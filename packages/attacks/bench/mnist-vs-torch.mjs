#!/usr/bin/env node
/**
 * MNIST attack speed, Parry (wasm backend) against PyTorch on the same machine (issue 17): FGSM and PGD-40 (Linf,
 * eps 0.3, step 0.01, random start) on the Wong et al. 2020 CNN of the image benchmarks, batch 256, at 1 and 2
 * threads, in one session with the runs alternating (engine order reversed every round), each run in a fresh process,
 * the load average and the CPU other processes used (2 s sample of /proc/stat) recorded before every run. A cell with a
 * run that started while more than half a core was in use (without a sample: at a 1-minute load average above the
 * core count + 0.5) is marked "busy" and its ratio is not a claim.
 *
 *   pnpm bench:mnist-torch                                    # build, measure (3 rounds), write the docs section
 *   node packages/attacks/bench/mnist-vs-torch.mjs [--rounds 3] [--threads 1,2] [--fgsm-batches 16] [--pgd-batches 4]
 *   node packages/attacks/bench/mnist-vs-torch.mjs --report   # rewrite the docs section from the log's latest session
 *
 * Options: `--steps <k>` PGD steps (default 40; fewer only for trials: the section then says PGD-<k>), `--log <file>`
 * the JSON-lines log (default runs/bench-mnist-torch/runs.jsonl; every measurement appends its run there, tagged with
 * the session, and the report reads the latest session), `--docs <file>` where the section goes (default
 * docs/benchmarks.md, between `<!-- mnist-vs-torch:start -->` and `<!-- mnist-vs-torch:end -->`), `--no-report`.
 *
 * One run = one process that builds the model with random weights, makes `--*-batches` batches of random images,
 * attacks one batch to warm up, then times the attack over all the batches together (images/s = images / seconds):
 * Parry in mnist-speed.mjs (next to this file, through `runAttack`), PyTorch in `scripts/bench-torch.py --once` with
 * Debian's python3-torch, which must map an optimised BLAS (`apt-get install libopenblas0-pthread`): otherwise the
 * PyTorch runs are skipped with a message, never compared.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import {
  BUSY_LOAD,
  CORES,
  PYTHON,
  docs,
  loadRange,
  BUSY_CPU,
  median,
  readRuns,
  root,
  roundOrder,
  runMeasurement,
  torchBlasProblem,
  writeDocsSection,
} from '../../../scripts/bench-utils.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
function usage(msg) {
  process.stderr.write(`mnist-vs-torch: ${msg}\n`);
  process.exit(2);
}
function count(name, dflt) {
  const v = Number(arg(name, dflt));
  if (!(Number.isInteger(v) && v >= 1)) usage(`--${name} ${arg(name)}: use a whole number of at least 1`);
  return v;
}

const log = path.resolve(arg('log', path.join(root, 'runs/bench-mnist-torch/runs.jsonl')));
const docsFile = path.resolve(arg('docs', docs));
const SECTION = 'mnist-vs-torch';
const ATTACKS = ['fgsm', 'pgd'];

function runOne(engine, attack, threads, o, extra) {
  const batches = String(attack === 'fgsm' ? o.fgsmBatches : o.pgdBatches);
  const common = ['--threads', String(threads), '--batches', batches, '--steps', String(o.steps)];
  const [cmd, args] =
    engine === 'torch'
      ? [PYTHON, [path.join(root, 'scripts/bench-torch.py'), '--once', attack, ...common]]
      : [process.execPath, [path.join(root, 'packages/attacks/bench/mnist-speed.mjs'), '--attack', attack, ...common]];
  return runMeasurement(cmd, args, {
    threads,
    log,
    label: `${engine} ${threads}t ${attack === 'fgsm' ? 'FGSM' : `PGD-${o.steps}`}`,
    fallback: { engine, attack, steps: attack === 'fgsm' ? 1 : o.steps },
    extra,
    describe: (out) => `${out.imagesPerSecond.toFixed(1)} img/s (${out.images} images in ${out.seconds.toFixed(2)} s)`,
  });
}

function measure() {
  const o = { rounds: count('rounds', '3'), fgsmBatches: count('fgsm-batches', '16'), pgdBatches: count('pgd-batches', '4'), steps: count('steps', '40') };
  const threadList = arg('threads', '1,2').split(',').map(Number);
  if (!threadList.every((t) => t === 1 || t === 2)) usage(`--threads ${arg('threads')}: use 1, 2 or 1,2`);
  const session = new Date().toISOString();
  process.stderr.write(`session ${session}: ${o.rounds} round(s), threads ${threadList.join(',')}, FGSM ${o.fgsmBatches} and PGD-${o.steps} ${o.pgdBatches} batches of 256 per run; log ${log}\n`);
  // PyTorch must run on an optimised BLAS; the probe run is logged but never counted
  const problem = torchBlasProblem(runOne('torch', 'fgsm', 1, { ...o, fgsmBatches: 1 }, { session, probe: true }));
  if (problem) process.stderr.write(`PyTorch runs skipped: ${problem}\n`);
  const engines = ['parry', ...(problem ? [] : ['torch'])];
  for (let round = 0; round < o.rounds; round++) {
    for (const threads of threadList) {
      for (const attack of ATTACKS) {
        for (const e of roundOrder(engines, round)) runOne(e, attack, threads, o, { session, round });
      }
    }
  }
}

function report() {
  const all = readRuns(log).filter((r) => r.session && !r.probe);
  if (!all.length) usage(`no measurements in ${log}; run this script without --report first`);
  const session = all.map((r) => r.session).sort().pop();
  const runs = all.filter((r) => r.session === session);
  const ok = runs.filter((r) => !r.error);
  const failed = runs.filter((r) => r.error);
  const rate = (v) => (v === undefined ? '–' : v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1));
  const parryInfo = ok.find((r) => r.engine === 'parry');
  const torchInfo = ok.find((r) => r.engine === 'torch');
  const steps = ok.find((r) => r.attack === 'pgd')?.steps ?? 40;
  const batchesOf = (attack) => ok.find((r) => r.attack === attack)?.batches;
  const lines = [
    `## MNIST attack speed against PyTorch, alternating runs`,
    '',
    `Session ${session.slice(0, 16).replace('T', ' ')} UTC, ${CORES} cores, ${os.cpus()[0].model}, ${Math.round(os.totalmem() / 2 ** 30)} GiB; produced by`,
    '`pnpm bench:mnist-torch` (`packages/attacks/bench/mnist-vs-torch.mjs`). The Wong et al. 2020 MNIST CNN of the image',
    'benchmarks above (conv 16 4x4 s2 same, conv 32 4x4 s2 same, dense 100, dense 10; the same shapes in',
    '`scripts/bench-torch.py`) with random weights on both sides (an attack\'s speed does not depend on them) and random',
    `images, batch 256, FGSM and PGD-${steps} (Linf, eps 0.3, step 0.01, random start); every batch also runs one forward pass`,
    `for the success criterion. A run is one fresh process: one warm-up batch, then ${batchesOf('fgsm') ?? '–'} (FGSM) or ${batchesOf('pgd') ?? '–'} (PGD) batches`,
    'timed together; images/s = images / seconds. Runs alternate between the engines with the order reversed every round;',
    'a number is the median over the rounds. Parry: `runAttack` from @parry/core with `fgsm()` / `pgd()` of @parry/attacks',
    `on the wasm backend (XNNPACK, tfjs ${parryInfo?.versions?.['@tensorflow/tfjs-core'] ?? '–'}, Node ${parryInfo?.versions?.node ?? '–'}; 2 threads through Parry's threaded-wasm shim; polyfills`,
    `${(parryInfo?.polyfills ?? []).join(', ') || '–'}). PyTorch ${torchInfo?.torch ?? '(not run)'} CPU from Debian, torch.set_num_threads(threads), BLAS`,
    `${torchInfo ? `${torchInfo.blas} (${(torchInfo.blasLibs ?? []).join(', ')})` : '–'}. Speed ratio = Parry images/s ÷ PyTorch images/s (goal: at least 1.0).`,
    '',
    '| attack | threads | Parry img/s (min–max) | PyTorch img/s (min–max) | Parry ÷ PyTorch speed | rounds | load avg (1 min); CPU in use before the runs |',
    '|---|---|---:|---:|---|---:|---|',
  ];
  const verdicts = [];
  for (const attack of ATTACKS) {
    for (const threads of [1, 2]) {
      const rs = ok.filter((r) => r.attack === attack && r.threads === threads);
      if (!rs.length) continue;
      const of = (engine) => {
        const v = rs.filter((r) => r.engine === engine).map((r) => r.imagesPerSecond);
        return v.length ? median(v) : undefined;
      };
      const parry = of('parry');
      const torch = of('torch');
      const load = loadRange(rs);
      const name = attack === 'fgsm' ? 'FGSM' : `PGD-${steps}`;
      let ratio = '–';
      if (parry !== undefined && torch !== undefined) {
        const x = parry / torch;
        ratio = `${x.toFixed(2)}${load.busy ? ' (busy machine: not a claim)' : ''}`;
        verdicts.push(`${name} at ${threads} thread${threads > 1 ? 's' : ''} ${load.busy ? `${x.toFixed(2)} (busy: not a claim)` : `${x.toFixed(2)} (goal ${x >= 1 ? 'met' : 'not met'})`}`);
      }
      const rounds = Math.max(...['parry', 'torch'].map((e) => rs.filter((r) => r.engine === e).length));
      const spread = (engine) => {
        const v = rs.filter((r) => r.engine === engine).map((r) => r.imagesPerSecond);
        return v.length > 1 ? ` (${rate(Math.min(...v))}–${rate(Math.max(...v))})` : '';
      };
      lines.push(`| ${name} | ${threads} | ${rate(parry)}${spread('parry')} | ${rate(torch)}${spread('torch')} | ${ratio} | ${rounds} | ${load.text} |`);
    }
  }
  const leaks = ok.filter((r) => r.engine === 'parry' && r.leakedTensors !== 0).length;
  lines.push(
    '',
    `Parry ÷ PyTorch: ${verdicts.join('; ') || 'no pair measured'}. Cells marked busy had a run that started while other processes`,
    `used more than ${BUSY_CPU} cores (sampled over the 2 s before it from /proc/stat; runs without a sample: a 1-minute load average above ${BUSY_LOAD}; the`,
    'load average lags, so back-to-back runs see their predecessor in it); the others ran with the machine otherwise idle, one session on one machine.',
    `Parry runs that left tensors behind: ${leaks}.`,
  );
  if (failed.length) lines.push('', `Failed runs (left out): ${failed.map((r) => `${r.engine} ${r.threads}t ${r.attack}: ${r.error}`).join('; ')}.`);
  writeDocsSection(SECTION, lines, docsFile);
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (!process.argv.includes('--report')) measure();
if (!process.argv.includes('--no-report')) report();
