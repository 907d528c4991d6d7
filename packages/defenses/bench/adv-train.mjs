#!/usr/bin/env node
/**
 * Adversarial-training benchmark on full MNIST (60k train / 10k test IDX files), eps 0.3, the Wong et al. 2020 CNN.
 *
 *   pnpm build && pnpm bench:adv-train                 # every config below, then the docs section
 *   node packages/defenses/bench/adv-train.mjs fgsm-rs                 # one config (results cached in runs/bench-adv/)
 *   node packages/defenses/bench/adv-train.mjs --report                # only re-render the docs section (refused while a
 *                                                                        # config has no result; --partial renders what is there)
 *
 * Each config trains with the built `parry` CLI (`parry train --data ... --defense ...`, checkpoints + --resume, so
 * an interrupted run continues), then measures PGD-50 with 10 restarts (step 0.01) on the first 1,000 test digits with
 * `parry eval`. The section between `<!-- adv-train:start -->` and `<!-- adv-train:end -->` in docs/benchmarks.md is
 * replaced; the rest of the file is kept. Data: PARRY_DATA_DIR or ../shared/data/mnist (skipped with a message if absent).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const cli = path.join(root, 'apps/cli/dist/bin.js');
const data = path.resolve(process.env.PARRY_DATA_DIR ?? path.join(root, '../shared/data/mnist'));
const work = path.join(root, 'runs/bench-adv');
const docs = path.join(root, 'docs/benchmarks.md');
const START = '<!-- adv-train:start -->';
const END = '<!-- adv-train:end -->';

const common = ['--data', data, '--batch-size', '100', '--lr', '5e-3', '--schedule', 'cyclic', '--dropout', '0', '--seed', '0', '--eps', '0.3', '--init', 'torch'];
/** name -> train flags (Wong et al.'s MNIST recipe: Adam, cyclic lr to 5e-3, batch 100, 10 epochs, PyTorch-default init). */
const CONFIGS = {
  clean: { label: 'clean (no defense)', train: [...common, '--epochs', '1', '--eval-pgd-steps', '0'], attack: false },
  'fgsm-rs': { label: 'FGSM-RS (alpha 0.375)', train: [...common, '--epochs', '10', '--defense', 'fgsm-rs', '--eval-pgd-steps', '10'] },
  'fgsm-rs-warmup': {
    label: 'FGSM-RS (alpha 0.375, eps warm-up over 2 epochs)',
    train: [...common, '--epochs', '10', '--defense', 'fgsm-rs', '--def-opt', 'fgsm-rs.warmupEpochs=2', '--eval-pgd-steps', '10'],
  },
  'pgd-at': {
    label: 'PGD-AT (3 steps of 0.1, eps warm-up over 2 epochs)',
    train: [...common, '--epochs', '6', '--defense', 'pgd-at', '--def-opt', 'pgd-at.steps=3', '--def-opt', 'pgd-at.warmupEpochs=2', '--def-opt', 'pgd-at.stepSize=0.1', '--eval-pgd-steps', '10'],
  },
};

function sh(args) {
  process.stderr.write(`$ parry ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`parry ${args[0]} failed with exit code ${r.status}`);
  return r.stdout;
}

/** Epoch-time ratio FGSM-RS / clean, interleaved on 6,000 digits (3 runs each) so that load changes hit both alike. */
function runRatio() {
  const times = { clean: [], 'fgsm-rs': [] };
  const load = os.loadavg();
  for (let rep = 0; rep < 3; rep++) {
    for (const kind of ['clean', 'fgsm-rs']) {
      const out = path.join(work, `ratio-${kind}`);
      const flags = [...common, '--epochs', '1', '--limit', '6000', '--eval-pgd-steps', '0', ...(kind === 'clean' ? [] : ['--defense', 'fgsm-rs'])];
      const r = JSON.parse(sh(['train', ...flags, '--out', out, '--checkpoint-dir', `${out}.checkpoints`, '--json', '--quiet']));
      fs.rmSync(`${out}.checkpoints`, { recursive: true, force: true });
      times[kind].push(r.training.hyperparameters.curves[0].trainSeconds);
    }
  }
  const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const summary = { name: 'ratio', times, ratio: median(times['fgsm-rs']) / median(times.clean), loadAverageAtStart: load.map((v) => Number(v.toFixed(2))), loadAverageAtEnd: os.loadavg().map((v) => Number(v.toFixed(2))) };
  fs.writeFileSync(path.join(work, 'ratio.json'), `${JSON.stringify(summary, null, 2)}\n`);
}

function runConfig(name) {
  if (name === 'ratio') return runRatio();
  const c = CONFIGS[name];
  if (!c) throw new Error(`unknown config ${name}; known: ${Object.keys(CONFIGS).join(', ')}`);
  const out = path.join(work, name);
  const load = os.loadavg();
  const t0 = Date.now();
  const trained = JSON.parse(sh(['train', ...c.train, '--out', out, '--checkpoint-dir', `${out}.checkpoints`, '--resume', '--json', '--quiet']));
  const wall = (Date.now() - t0) / 1000;
  let attack = null;
  if (c.attack !== false) {
    const ev = JSON.parse(sh(['eval', '--model', out, '--attack', 'pgd', '--eps', '0.3', '--opt', 'pgd.steps=50', '--opt', 'pgd.restarts=10', '--n', '1000', '--out', path.join(work, `${name}-eval.json`), '--json', '--quiet']));
    const a = ev.attacks[0];
    attack = { cleanAccuracy: a.cleanAccuracy, robustAccuracy: a.perEpsilon[0].robustAccuracy, n: a.n, wallTimeMs: a.wallTimeMs, options: a.options };
  }
  const h = trained.training.hyperparameters;
  const summary = {
    name,
    label: c.label,
    command: `parry train ${c.train.join(' ')}`.replace(data, '<mnist>'),
    testAccuracy: trained.clean.accuracy,
    epochs: trained.training.epochs,
    curves: h.curves,
    stopped: h.stopped,
    resumedFrom: h.resumedFrom,
    trainWallSeconds: wall,
    trainSeconds: trained.training.epochs.reduce((s, e) => s + e.seconds, 0),
    attack,
    backend: `${h.backend} (${h.threads} thread${h.threads === 1 ? '' : 's'})`,
    loadAverageAtStart: load.map((v) => Number(v.toFixed(2))),
    loadAverageAtEnd: os.loadavg().map((v) => Number(v.toFixed(2))),
    cpus: `${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}`,
    date: new Date().toISOString(),
  };
  fs.writeFileSync(path.join(work, `${name}.json`), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

const pct = (v) => (v == null ? '-' : `${(100 * v).toFixed(2)}%`);
const meanEpoch = (s) => s.curves.reduce((a, c) => a + (c.trainSeconds ?? 0), 0) / s.curves.length;

function render() {
  const files = Object.keys(CONFIGS).map((n) => path.join(work, `${n}.json`));
  const missing = files.filter((f) => !fs.existsSync(f));
  // The section is rebuilt from runs/bench-adv/ alone: with a config missing there (e.g. one config re-run on a fresh
  // clone), rewriting it would drop the rows measured before. Keep the docs and say so unless --partial is given.
  if (missing.length && !process.argv.includes('--partial')) {
    process.stderr.write(`docs/benchmarks.md not updated: no results for ${missing.map((f) => path.basename(f, '.json')).join(', ')} in ${path.relative(root, work)}/ (run them, or pass --partial to render only what is there)\n`);
    return;
  }
  const got = files.filter((f) => fs.existsSync(f)).map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
  const clean = got.find((s) => s.name === 'clean');
  const ratioFile = path.join(work, 'ratio.json');
  const ratio = fs.existsSync(ratioFile) ? JSON.parse(fs.readFileSync(ratioFile, 'utf8')) : null;
  const lines = [
    START,
    '## Adversarial training (MNIST, eps 0.3)',
    '',
    'Full MNIST from IDX (60,000 train / 10,000 test), the Wong et al. 2020 CNN with PyTorch\'s default initialisation',
    '(`--init torch`), Adam with a cyclic learning rate (0 -> 5e-3 at 40% of the run -> 0), batch 100, seed 0, no dropout.',
    'Per-epoch PGD-10 accuracy (step 2.5 eps / 10) is measured on the *last* 1,000 test digits (it feeds FGSM-RS\'',
    'catastrophic-overfitting guard); the final PGD-50 x 10 restarts (step 0.01, random start) is on the *first* 1,000 test digits. Clean accuracy is on all 10,000 test digits.',
    'Regenerate: `pnpm build && pnpm bench:adv-train` (about an hour on 2 cores; `node',
    'packages/defenses/bench/adv-train.mjs <config>` runs one config).',
    '',
    '| training | epochs | clean acc (10k) | PGD-50x10 acc (first 1k) | train wall time (loaded machine) | s / epoch (training steps) | stopped by guard |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const s of got.filter((s) => s.name !== 'clean')) {
    lines.push(`| ${s.label} | ${s.epochs.length} | ${pct(s.testAccuracy)} | ${pct(s.attack?.robustAccuracy)} | ${(s.trainWallSeconds / 60).toFixed(1)} min | ${meanEpoch(s).toFixed(1)} | ${s.stopped ? s.stopped.reason : 'no'} |`);
  }
  if (clean) {
    lines.push(
      '',
      `Clean training (same settings, no defense, 1 epoch): ${pct(clean.testAccuracy)} clean accuracy, ${meanEpoch(clean).toFixed(1)} s of training steps`,
      `(load average ${clean.loadAverageAtStart.join(' ')}; the s / epoch column above was measured under different load, so do not divide them).`,
    );
  }
  if (ratio) {
    const f = (v) => v.map((t) => t.toFixed(1)).join(', ');
    lines.push(
      '',
      `Controlled ratio (6,000 digits, one epoch, clean and FGSM-RS runs interleaved 3 times, load average ${ratio.loadAverageAtStart.join(' ')}):`,
      `clean ${f(ratio.times.clean)} s, FGSM-RS ${f(ratio.times['fgsm-rs'])} s; median FGSM-RS epoch / clean epoch = **${ratio.ratio.toFixed(2)}**.`,
    );
  }
  lines.push('', 'Per-epoch curves (loss, clean held-out accuracy, PGD-10 accuracy on the last 1,000 test digits):', '');
  for (const s of got.filter((s) => s.name !== 'clean')) {
    lines.push(`- ${s.label}: ` + s.epochs.map((e) => `${e.epoch}: ${e.loss.toFixed(3)} / ${pct(e.testAccuracy)} / ${pct(e.robustAccuracy)}`).join('; '));
  }
  const notes = path.join(path.dirname(fileURLToPath(import.meta.url)), 'adv-train-notes.md');
  if (fs.existsSync(notes)) lines.push('', fs.readFileSync(notes, 'utf8').trim());
  lines.push('', 'Machine and load:', '');
  for (const s of got) {
    lines.push(`- ${s.label}: ${s.backend}, ${s.cpus}, load average ${s.loadAverageAtStart.join(' ')} at start and ${s.loadAverageAtEnd.join(' ')} at the end, ${s.date.slice(0, 16)}Z${s.resumedFrom ? `, resumed after epoch ${s.resumedFrom}` : ''}.`);
  }
  lines.push('', 'Commands: ' + got.map((s) => `\`${s.command}\``).join('; '), END);
  const section = lines.join('\n');
  const before = fs.existsSync(docs) ? fs.readFileSync(docs, 'utf8') : '# Benchmarks\n';
  const i = before.indexOf(START);
  const j = before.indexOf(END);
  const next = i >= 0 && j > i ? before.slice(0, i) + section + before.slice(j + END.length) : `${before.replace(/\n*$/, '\n\n')}${section}\n`;
  fs.mkdirSync(path.dirname(docs), { recursive: true });
  const tmp = `${docs}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, next);
  fs.renameSync(tmp, docs);
  process.stderr.write(`updated ${path.relative(root, docs)} (${got.length} configs)\n`);
}

if (!fs.existsSync(data)) {
  console.log(`adv-train bench skipped: no MNIST IDX files at ${data} (set PARRY_DATA_DIR)`);
  process.exit(0);
}
if (!fs.existsSync(cli)) {
  console.error(`adv-train bench: ${cli} is missing; run \`pnpm build\` first`);
  process.exit(2);
}
fs.mkdirSync(work, { recursive: true });
const args = process.argv.slice(2);
if (!args.includes('--report')) for (const name of args.length ? args : [...Object.keys(CONFIGS), 'ratio']) runConfig(name);
render();
