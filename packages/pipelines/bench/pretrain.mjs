#!/usr/bin/env node
/**
 * MLM pre-training benchmark (issue 15): pre-train a small BERT from scratch with `parry pretrain` on SST-2 train
 * sentences + GoEmotions train text + AG News train text (never a dev or test split; the last 5% of each source is the
 * held-out text of the masked-token accuracy), then fine-tune SST-2 from that checkpoint and from scratch with the
 * flags of the SST-2 from-scratch baseline of docs/benchmarks.md (text-train: 80.2% dev), and compare dev accuracy.
 *
 *   pnpm --filter "@parry/cli..." build
 *   node packages/pipelines/bench/pretrain.mjs                      # all three steps
 *   node packages/pipelines/bench/pretrain.mjs --only pretrain      # one or more of pretrain,finetune,scratch,go-finetune,go-scratch
 *   node packages/pipelines/bench/pretrain.mjs --only finetune,scratch --test   # also evaluate the test split once (final numbers only)
 *   node packages/pipelines/bench/pretrain.mjs --max-steps 800      # the pre-training budget (default 800 steps of 32 rows; the schedule spans them)
 *   node packages/pipelines/bench/pretrain.mjs --epochs 8 --max-steps 6000   # more passes over the corpus (default 3 epochs; ~1,500 steps each)
 *   node packages/pipelines/bench/pretrain.mjs --work runs/bench-pretrain-long --max-steps 2000   # another budget, in its own folder
 *   node packages/pipelines/bench/pretrain.mjs --sst2-repeat 4 --only pretrain   # SST-2's training sentences 4 times in the corpus (and its vocabulary)
 *   node packages/pipelines/bench/pretrain.mjs --only tapt,tapt-finetune   # continue pre-training the MLM on SST-2's training sentences
 *                                                   (`parry pretrain --init`, --tapt-epochs 20, --tapt-lr 5e-4), then fine-tune that
 *
 * Every step runs the built CLI (apps/cli/dist/bin.js) as a user would; its command is printed first. Outputs go to
 * runs/bench-pretrain/ (a step whose output folder exists is not run again; an interrupted pre-training continues with
 * --resume). The summary is printed and written to runs/bench-pretrain/summary.json; docs/benchmarks.md is not touched.
 * Data: PARRY_DATA_DIR or ../shared/data (exits with a message if absent).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const data = path.resolve(process.env.PARRY_DATA_DIR ?? path.join(root, '../shared/data'));
const bin = path.join(root, 'apps/cli/dist/bin.js');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const only = (arg('--only', 'pretrain,finetune,scratch')).split(',');
const work = path.resolve(arg('--work', path.join(root, 'runs/bench-pretrain')));
const maxSteps = arg('--max-steps', '800');
const epochs = arg('--epochs', '3');
/** How many times SST-2's training sentences are listed in the pre-training corpus (default 1). */
const sst2Repeat = Number(arg('--sst2-repeat', '1'));
const taptEpochs = arg('--tapt-epochs', '20');
const taptLr = arg('--tapt-lr', '5e-4');
if (!(Number.isInteger(sst2Repeat) && sst2Repeat >= 1)) {
  console.error(`bench:pretrain: --sst2-repeat must be an integer >= 1, got ${arg('--sst2-repeat')}`);
  process.exit(2);
}

for (const d of ['sst2', 'goemotions', 'ag_news']) {
  if (!fs.existsSync(path.join(data, d))) {
    console.error(`bench:pretrain: ${path.join(data, d)} not found; set PARRY_DATA_DIR to the shared data folder (skipped)`);
    process.exit(0);
  }
}
if (!fs.existsSync(bin)) {
  console.error('bench:pretrain: apps/cli/dist/bin.js not found; build first: npx -y pnpm@12.21.0 --filter "@parry/cli..." build');
  process.exit(1);
}
fs.mkdirSync(work, { recursive: true });

/** The encoder of the SST-2 from-scratch baseline (docs/benchmarks.md, text-train: 80.2% dev). */
const shape = ['--hidden', '128', '--layers', '2', '--heads', '2', '--intermediate', '512'];
/** Its training budget, used for both fine-tuning runs. */
const sst2Budget = ['--max-length', '64', '--epochs', '5', '--batch-size', '32', '--lr', '5e-4', '--weight-decay', '0.1', '--dropout', '0.3', '--warmup', '0.1', '--seed', '0',
  '--augment', 'eda', '--num-aug', '2', '--early-stop', '2'];
/** The GoEmotions from-scratch baseline's budget (docs/benchmarks.md, text-train: test macro-F1 0.345 with dev thresholds). */
const goBudget = ['--max-length', '64', '--epochs', '3', '--batch-size', '32', '--lr', '1e-3', '--dropout', '0.1', '--warmup', '0.1', '--seed', '0', '--multi-label', '--pos-weight', 'auto'];
const mlm = path.join(work, 'mlm');
const tapt = path.join(work, 'mlm-sst2');
const steps = {
  pretrain: ['pretrain', ...Array.from({ length: sst2Repeat }, () => path.join(data, 'sst2')), path.join(data, 'goemotions'), path.join(data, 'ag_news'), ...shape, '--max-length', '64', '--vocab-size', '8000',
    '--batch-size', '32', '--lr', '1e-3', '--warmup', '0.06', '--epochs', epochs, '--max-steps', maxSteps, '--checkpoint-every', '250', '--seed', '0', '-o', mlm, '--json'],
  finetune: ['train', '--model', mlm, '--data', path.join(data, 'sst2'), ...sst2Budget, '-o', path.join(work, 'sst2-pretrained'), '--json'],
  scratch: ['train', '--model', 'bert', ...shape, '--vocab', 'corpus', '--vocab-size', '8000', '--data', path.join(data, 'sst2'), ...sst2Budget, '-o', path.join(work, 'sst2-scratch'), '--json'],
  'go-finetune': ['train', '--model', mlm, '--data', path.join(data, 'goemotions'), ...goBudget, '-o', path.join(work, 'go-pretrained'), '--json'],
  'go-scratch': ['train', '--model', 'bert', ...shape, '--vocab', 'corpus', '--vocab-size', '8000', '--data', path.join(data, 'goemotions'), ...goBudget, '-o', path.join(work, 'go-scratch'), '--json'],
  // task-adaptive pre-training (Gururangan et al. 2020): the MLM continued on SST-2's training sentences only
  tapt: ['pretrain', path.join(data, 'sst2'), '--init', mlm, '--max-length', '64', '--batch-size', '32', '--lr', taptLr, '--warmup', '0.06', '--epochs', taptEpochs,
    '--checkpoint-every', '1000', '--seed', '0', '-o', tapt, '--json'],
  'tapt-finetune': ['train', '--model', tapt, '--data', path.join(data, 'sst2'), ...sst2Budget, '-o', path.join(work, 'sst2-tapt'), '--json'],
};
const outOf = { tapt, 'tapt-finetune': path.join(work, 'sst2-tapt'), pretrain: mlm, finetune: path.join(work, 'sst2-pretrained'), scratch: path.join(work, 'sst2-scratch'), 'go-finetune': path.join(work, 'go-pretrained'), 'go-scratch': path.join(work, 'go-scratch') };
/** `--test`: evaluate the fine-tuned folders on their test split once (the numbers to report; tune on dev only). */
const withTest = process.argv.includes('--test');

const summaryFile = path.join(work, 'summary.json');
// re-read before each write: two steps may run in two processes at once (--only pretrain, --only scratch)
const readSummary = () => (fs.existsSync(summaryFile) ? JSON.parse(fs.readFileSync(summaryFile, 'utf8')) : {});
for (const name of only) {
  const args = steps[name];
  if (!args) throw new Error(`--only: unknown step ${name} (${Object.keys(steps).join(', ')})`);
  if (fs.existsSync(outOf[name])) {
    console.error(`${name}: ${outOf[name]} exists, not run again (delete it to re-run)`);
    if (withTest && name !== 'pretrain' && name !== 'tapt') testOnce(name);
    continue;
  }
  const pretraining = name === 'pretrain' || name === 'tapt';
  const resume = pretraining && fs.existsSync(`${outOf[name]}.checkpoints`) ? ['--resume'] : [];
  const cmd = [...args, ...resume];
  console.error(`\n$ parry ${cmd.map((a) => path.isAbsolute(a) ? path.relative(root, a) : a).join(' ')}`);
  const load0 = os.loadavg();
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [bin, ...cmd], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 256 * 1024 * 1024 });
  const wallSeconds = (Date.now() - t0) / 1000;
  if (r.status !== 0) {
    console.error(`${name} failed (exit ${r.status})`);
    process.exit(1);
  }
  const json = JSON.parse(r.stdout);
  const entry = { command: `parry ${cmd.join(' ')}`, wallSeconds, loadAverageBefore: load0, loadAverageAfter: os.loadavg() };
  if (pretraining) {
    Object.assign(entry, { ...(json.init ? { heldOutBefore: json.init.heldOutBefore } : {}), steps: json.steps, tokensSeen: json.tokensSeen, maskedTokensSeen: json.maskedSeen, trainSeconds: json.trainSeconds, heldOut: json.dev, history: json.history.map((h) => ({ step: h.step, tokensSeen: h.tokensSeen, loss: h.loss, accuracy: h.accuracy, heldOutAccuracy: h.dev.accuracy })), vocabSize: json.vocabSize, rows: { train: json.trainRows, dev: json.devRows } });
  } else {
    const t = json.training;
    Object.assign(entry, { devAccuracy: json.clean.accuracy, devN: json.clean.n, dev: json.clean, bestEpoch: t.hyperparameters.bestEpoch, perEpoch: t.epochs.map((e) => e.testAccuracy) });
  }
  writeSummary(name, entry);
  if (withTest && !pretraining) testOnce(name);
}

function writeSummary(name, entry) {
  const tmp = `${summaryFile}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify({ ...readSummary(), [name]: entry }, null, 2)}\n`);
  fs.renameSync(tmp, summaryFile);
}

/** The test split of a fine-tuned folder, evaluated once (kept in the summary; a second call reads it back). */
function testOnce(name) {
  const s = readSummary()[name];
  if (!s || s.test) return;
  const out = path.join(work, `${path.basename(outOf[name])}-test.json`);
  const cmd = ['eval', '--model', outOf[name], '--split', 'test', '-o', out, '--json', '--quiet'];
  console.error(`\n$ parry ${cmd.map((a) => path.isAbsolute(a) ? path.relative(root, a) : a).join(' ')}`);
  const r = spawnSync(process.execPath, [bin, ...cmd], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    console.error(`${name}: test evaluation failed (exit ${r.status})`);
    process.exit(1);
  }
  writeSummary(name, { ...s, test: JSON.parse(r.stdout).clean });
}
const summary = readSummary();

const p = summary.pretrain;
const pct = (x) => `${(100 * x).toFixed(1)}%`;
console.log('\n| run | result | wall time |\n|---|---|---|');
if (p) console.log(`| pre-training (${p.steps} steps, ${p.tokensSeen} tokens, ${p.maskedTokensSeen} masked) | held-out masked-token accuracy ${pct(p.heldOut.accuracy)} (loss ${p.heldOut.loss.toFixed(3)}, ${p.heldOut.masked} tokens) | ${(p.wallSeconds / 60).toFixed(1)} min |`);
const t = summary.tapt;
if (t) console.log(`| continued on SST-2 train (${t.steps} steps, ${t.tokensSeen} tokens) | held-out SST-2 masked-token accuracy ${pct(t.heldOutBefore.accuracy)} before, ${pct(t.heldOut.accuracy)} after (${t.heldOut.masked} tokens) | ${(t.wallSeconds / 60).toFixed(1)} min |`);
const sst2Label = { finetune: 'fine-tuned from the MLM', scratch: 'from scratch', 'tapt-finetune': 'fine-tuned from the MLM continued on SST-2' };
for (const k of ['finetune', 'tapt-finetune', 'scratch']) {
  const s = summary[k];
  if (s) console.log(`| SST-2 ${sst2Label[k]} | dev accuracy ${pct(s.devAccuracy)} on ${s.devN} (per epoch ${s.perEpoch.map((a) => (100 * a).toFixed(1)).join(' ')}, best ${s.bestEpoch})${s.test ? `; test accuracy ${pct(s.test.accuracy)} on ${s.test.n}` : ''} | ${(s.wallSeconds / 60).toFixed(1)} min |`);
}
for (const k of ['go-finetune', 'go-scratch']) {
  const s = summary[k];
  const f1 = (m) => `macro-F1 ${m.macroF1.toFixed(3)}, micro-F1 ${m.microF1.toFixed(3)}`;
  if (s) console.log(`| GoEmotions ${k === 'go-finetune' ? 'fine-tuned from the MLM' : 'from scratch'} | dev ${f1(s.dev)} (tuned thresholds, best epoch ${s.bestEpoch})${s.test ? `; test ${f1(s.test)} on ${s.test.n} (dev thresholds)` : ''} | ${(s.wallSeconds / 60).toFixed(1)} min |`);
}
