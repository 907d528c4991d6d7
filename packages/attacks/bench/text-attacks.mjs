#!/usr/bin/env node
/**
 * Text-attack benchmark: the TextAttack summary of pwws, textfooler, deepwordbug and hotflip on the first 500 SST-2 dev
 * sentences, against the from-scratch SST-2 model of `pnpm bench:text-harden` (plain) and its FreeLB-trained twin,
 * with wall time and model queries per second next to the plain batched inference throughput of the same model.
 *
 *   pnpm build && pnpm bench:text-harden && pnpm bench:text-attacks
 *   node packages/attacks/bench/text-attacks.mjs plain:pwws     # one cell (cached in runs/bench-text-attacks/)
 *   node packages/attacks/bench/text-attacks.mjs --report
 *
 * Replaces the section between `<!-- text-attacks:start -->` and `<!-- text-attacks:end -->` in docs/benchmarks.md.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dataRoot, parry as sh, readJson, root, writeDocsSection } from '../../../scripts/bench-utils.mjs';

const work = path.join(root, 'runs/bench-text-attacks');
const N = 500;

const MODELS = { plain: path.join(root, 'runs/bench-harden/sst2-plain'), freelb: path.join(root, 'runs/bench-harden/sst2-freelb3') };
const RECIPES = ['pwws', 'textfooler', 'deepwordbug', 'hotflip'];

/** Plain batched inference throughput (sentences/s, tokenising included) on the 872 dev sentences, median of 3. */
async function throughput(modelDir) {
  const core = { ...(await import(path.join(root, 'packages/core/dist/index.js'))), ...(await import(path.join(root, 'packages/text/dist/index.js'))) };
  const defenses = await import(path.join(root, 'packages/defenses/dist/index.js'));
  const datasets = await import(path.join(root, 'packages/datasets/dist/index.js'));
  await core.initBackend({});
  const pre = await core.loadPretrained(modelDir);
  const texts = datasets.loadSst2(path.join(dataRoot, 'sst2'), 'dev').examples.map((e) => e.text);
  const rates = [];
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    const enc = texts.map((t) => pre.tokenizer.encode(t, { maxLength: 64 }));
    await core.predictText(pre.model, enc, pre.tokenizer.padId, 64);
    rates.push(texts.length / ((performance.now() - t0) / 1000));
  }
  pre.model.dispose();
  return rates.sort((a, b) => a - b)[1];
}

async function run(cell) {
  const [model, recipe] = cell.split(':');
  const dir = MODELS[model];
  if (!fs.existsSync(dir)) {
    process.stderr.write(`skipping ${cell}: ${dir} not found (run pnpm bench:text-harden first)\n`);
    return;
  }
  const out = path.join(work, `${model}-${recipe}.results.json`);
  sh(['eval', '--model', dir, '--attack', recipe, '--limit', String(N), '--seed', '0', '-o', out, '--quiet']);
  const results = JSON.parse(fs.readFileSync(out, 'utf8'));
  fs.writeFileSync(path.join(work, `${model}-${recipe}.json`), JSON.stringify({ cell, load: os.loadavg(), summary: results.attacks[0] }, null, 2));
}

const pct = (v) => `${(100 * v).toFixed(1)}%`;

function report() {
  const read = (f) => readJson(path.join(work, f));
  const lines = [`### Text attacks on SST-2 (${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, ${os.cpus()[0].model})`, ''];
  lines.push('Produced by `pnpm bench:text-attacks` (packages/attacks/bench/text-attacks.mjs): first 500 SST-2 dev sentences, models from',
    '`pnpm bench:text-harden` (1-layer BERT-style encoder from scratch; "FreeLB" = the FreeLB-3 row there), white-box tfjs victim (wasm),',
    'no query budget. Columns as TextAttack reports them; "queries/s" is model queries per second during the attack, next to the plain',
    'batched inference throughput of the same model (tokenising included, batch 64).', '');
  lines.push('| model | recipe | successful / failed / skipped | original acc | acc under attack | success rate | perturbed words | words/input | avg queries | wall | queries/s | inference/s |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|');
  const tp = read('throughput.json') ?? {};
  for (const model of Object.keys(MODELS)) {
    for (const recipe of RECIPES) {
      const r = read(`${model}-${recipe}.json`);
      if (!r) continue;
      const s = r.summary.textSummary;
      lines.push(`| ${model} | ${recipe} | ${s.successful} / ${s.failed} / ${s.skipped} | ${pct(s.originalAccuracy)} | ${pct(s.accuracyUnderAttack)} | ${pct(s.attackSuccessRate)} | ${s.avgPerturbedWordPct.toFixed(1)}% | ${s.avgWordsPerInput.toFixed(1)} | ${s.avgQueries.toFixed(1)} | ${(r.summary.wallTimeMs / 1000).toFixed(0)} s | ${s.queriesPerSecond.toFixed(0)} | ${tp[model] ? tp[model].toFixed(0) : '-'} |`);
    }
  }
  const notes = new Set();
  for (const f of fs.existsSync(work) ? fs.readdirSync(work) : []) {
    if (!/^(plain|freelb)-\w+\.json$/.test(f)) continue;
    for (const n of read(f).summary.textSummary.notes ?? []) notes.add(`${read(f).summary.attack}: ${n}`);
  }
  if (notes.size) lines.push('', 'Recipe notes (deviations from TextAttack, printed by the runner):', '', ...[...notes].map((n) => `- ${n}`));
  writeDocsSection('text-attacks', lines);
}

fs.mkdirSync(work, { recursive: true });
const args = process.argv.slice(2);
if (!args.includes('--report')) {
  const cells = args.filter((a) => !a.startsWith('--'));
  for (const cell of cells.length ? cells : Object.keys(MODELS).flatMap((m) => RECIPES.map((r) => `${m}:${r}`))) {
    if (!args.includes('--force') && fs.existsSync(path.join(work, `${cell.replace(':', '-')}.json`))) continue;
    await run(cell);
  }
  if (!cells.length || args.includes('--throughput')) {
    const tp = {};
    for (const [m, dir] of Object.entries(MODELS)) if (fs.existsSync(dir)) tp[m] = await throughput(dir);
    fs.writeFileSync(path.join(work, 'throughput.json'), JSON.stringify(tp, null, 2));
  }
}
report();
