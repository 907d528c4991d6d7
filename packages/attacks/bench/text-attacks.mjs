#!/usr/bin/env node
/**
 * Text-attack benchmark (issue 16): pwws, textfooler, deepwordbug and hotflip on 500 SST-2 dev and 500 AG News test
 * sentences, against a plain and an FGM-hardened 1-layer BERT-style encoder trained from scratch on each, run through
 * the library API (`attackText` of @parry/pipelines) twice per cell in the same process on the same model:
 *
 *   before = `{ cache: false, concurrency: 1 }` (every requested text scored and counted, one example at a time),
 *   after  = the defaults (per-example query cache, candidates of 8 examples batched into shared model calls).
 *
 * The two runs of a cell alternate their order from cell to cell; plain batched inference throughput of the same model
 * (tokenising included, the victim's batch size) is measured right before and after each run, and `os.loadavg()` is
 * recorded for each run. Models are trained with the `parry` CLI first (skipped when present).
 *
 *   pnpm --filter "@parry/cli..." build && pnpm bench:text-attacks     # everything (models, 16 cells), then the docs
 *   node packages/attacks/bench/text-attacks.mjs train                  # only the four models
 *   node packages/attacks/bench/text-attacks.mjs sst2:plain:pwws         # one cell (both runs; cached on disk)
 *   node packages/attacks/bench/text-attacks.mjs agnews:fgm:textfooler:after --n 100   # one run of a cell, 100 examples
 *   node packages/attacks/bench/text-attacks.mjs --report                # rewrite the docs section from what ran
 *
 * Cells are cached in runs/bench-text-attacks/cells/ (one JSON per run, plus its per-example records as JSONL), so an
 * interrupted run resumes; `--force` runs them again. `--n` (default 500) sets the examples of both runs,
 * `--before-n` those of the `before` run only (the slow one; its outcomes are the after run's on the same examples).
 * Replaces the section between `<!-- text-attacks:start -->` and `<!-- text-attacks:end -->` in docs/benchmarks.md.
 *
 * AG News: ../shared/data/ag_news has only the first 581 rows of the official train split (see PROVENANCE.md). Rows
 * 1-500 train, rows 501-581 are the dev split (best epoch), and the first 500 rows of the official test split are
 * attacked; text = title + " " + description, as in the Hugging Face `ag_news` dataset.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dataRoot, parry as sh, readJson, root, writeDocsSection } from '../../../scripts/bench-utils.mjs';

const work = path.join(root, 'runs/bench-text-attacks');
const cellsDir = path.join(work, 'cells');
const modelsDir = path.join(work, 'models');
const agDir = path.join(work, 'data/ag_news');
const RECIPES = ['pwws', 'textfooler', 'deepwordbug', 'hotflip'];
const MODES = ['before', 'after'];
/** Library options of each run (the rest are attackText's defaults). */
const MODE_OPTIONS = { before: { cache: false, concurrency: 1 }, after: {} };
/** The victim's batch size (texts per model call), as `parry eval` uses it. */
const BATCH = 32;

/** 1-layer BERT-style encoder from scratch: the text-harden table's SST-2 model. */
const sst2Base = ['--model', 'bert', '--hidden', '128', '--layers', '1', '--heads', '2', '--intermediate', '512', '--vocab', 'corpus', '--vocab-size', '8000',
  '--max-length', '64', '--epochs', '4', '--batch-size', '32', '--lr', '5e-4', '--weight-decay', '0.1', '--dropout', '0.3', '--warmup', '0.1', '--seed', '0'];
/** The same encoder on the 500 AG News training rows, with EDA (4 copies per row) and longer inputs. */
const agBase = ['--model', 'bert', '--hidden', '128', '--layers', '1', '--heads', '2', '--intermediate', '512', '--vocab', 'corpus', '--vocab-size', '8000',
  '--max-length', '128', '--epochs', '20', '--batch-size', '32', '--lr', '1e-3', '--weight-decay', '0.1', '--dropout', '0.3', '--warmup', '0.1', '--seed', '0',
  '--augment', 'eda', '--num-aug', '4', '--early-stop', '5'];
const agData = () => ['--data', path.join(agDir, 'train.jsonl'), '--dev', path.join(agDir, 'dev.jsonl'), '--test', path.join(agDir, 'test.jsonl'),
  '--text-column', 'text', '--label-column', 'label', '--label-names', agLabelNames().join(',')];
const agLabelNames = () => fs.readFileSync(path.join(dataRoot, 'ag_news/classes.txt'), 'utf8').trim().split(/\r?\n/).map((s) => s.trim());

const DATASETS = {
  sst2: {
    label: 'SST-2',
    split: 'first 500 dev sentences',
    source: 'sst2',
    models: {
      plain: () => [...sst2Base, '--data', path.join(dataRoot, 'sst2')],
      fgm: () => [...sst2Base, '--defense', 'fgm', '--data', path.join(dataRoot, 'sst2')],
    },
    async examples(datasets) {
      const ds = datasets.loadSst2(path.join(dataRoot, 'sst2'), 'dev');
      return { labelNames: ds.labelNames, examples: ds.examples };
    },
  },
  agnews: {
    label: 'AG News',
    split: 'first 500 rows of the official test split',
    source: 'ag_news',
    prepare: prepareAgNews,
    models: {
      plain: () => [...agBase, ...agData()],
      fgm: () => [...agBase, '--defense', 'fgm', ...agData()],
    },
    async examples(datasets) {
      const ds = datasets.loadTextFile(path.join(agDir, 'test.jsonl'), { textColumn: 'text', labelColumn: 'label', labelNames: agLabelNames(), labelMap: 'name' });
      return { labelNames: ds.labelNames, examples: ds.examples };
    },
  },
};

const lib = async () => ({
  pipelines: await import(path.join(root, 'packages/pipelines/dist/index.js')),
  text: await import(path.join(root, 'packages/text/dist/index.js')),
  attacks: await import(path.join(root, 'packages/attacks/dist/index.js')),
  datasets: await import(path.join(root, 'packages/datasets/dist/index.js')),
});

/** Write a file whole or not at all. */
function writeAtomic(file, text) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** AG News as JSONL: rows 1-500 of train_head581.csv train, 501-581 dev; the full test split (only its first 500 are attacked). */
async function prepareAgNews() {
  if (fs.existsSync(path.join(agDir, 'test.jsonl'))) return;
  const { datasets } = await lib();
  const src = path.join(dataRoot, 'ag_news');
  const names = agLabelNames();
  const read = (f) => datasets.loadTextFile(path.join(src, f), { format: 'csv', header: false, labelColumn: 0, textColumn: 1, pairColumn: 2, labelNames: names, labelMap: 'index', labelBase: 1 });
  const jsonl = (examples) => `${examples.map((e) => JSON.stringify({ text: `${e.text} ${e.pair}`, label: names[e.label] })).join('\n')}\n`;
  const train = read('train_head581.csv').examples;
  writeAtomic(path.join(agDir, 'train.jsonl'), jsonl(train.slice(0, 500)));
  writeAtomic(path.join(agDir, 'dev.jsonl'), jsonl(train.slice(500)));
  writeAtomic(path.join(agDir, 'test.jsonl'), jsonl(read('test.csv').examples));
}

const modelDir = (ds, model) => path.join(modelsDir, `${ds}-${model}`);

async function train(ds, model) {
  const dir = modelDir(ds, model);
  const log = `${dir}.train.json`;
  if (fs.existsSync(log) && fs.existsSync(dir)) return;
  await DATASETS[ds].prepare?.();
  const flags = DATASETS[ds].models[model]();
  const started = Date.now();
  const out = sh(['train', ...flags, '--out', dir, '--json', '--quiet']);
  writeAtomic(log, out);
  writeAtomic(`${dir}.bench.json`, JSON.stringify({ flags, wallSeconds: (Date.now() - started) / 1000, load: os.loadavg() }, null, 2));
}

/** Plain batched inference (sentences/s, tokenising included) of `victim.predict` over the texts, median of 3. */
async function inferenceRate(victim, texts) {
  const rates = [];
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    await victim.predict(texts);
    rates.push(texts.length / ((performance.now() - t0) / 1000));
  }
  return rates.sort((a, b) => a - b)[1];
}

const cellFile = (ds, model, recipe, mode) => path.join(cellsDir, `${ds}-${model}-${recipe}-${mode}.json`);

/** Run the missing runs of one cell (both modes, alternating which goes first), in this process. */
async function runCell(ds, model, recipe, modes, n, beforeN, force, order) {
  const todo = modes.filter((m) => force || !fs.existsSync(cellFile(ds, model, recipe, m)));
  if (!todo.length) return;
  await train(ds, model);
  const { pipelines, text, attacks, datasets } = await lib();
  const backend = await pipelines.setupBackend(undefined);
  const pre = await text.loadPretrained(modelDir(ds, model));
  try {
    const info = JSON.parse(fs.readFileSync(path.join(modelDir(ds, model), 'parry_training.json'), 'utf8'));
    const { labelNames, examples: all } = await DATASETS[ds].examples(datasets);
    const registry = pipelines.createParryRegistry();
    if (order % 2 === 1) todo.reverse();
    for (const mode of todo) {
      const size = mode === 'before' ? Math.min(n, beforeN) : n;
      const examples = all.slice(0, size).map((e) => ({ text: e.text, label: e.label }));
      const texts = examples.map((e) => e.text);
      const mk = () => attacks.parryVictim(pre.model, pre.tokenizer, { maxLength: info.maxLength, batchSize: BATCH, name: `${ds}-${model}` });
      const inferBefore = await inferenceRate(mk(), texts);
      const loadBefore = os.loadavg();
      const victim = mk();
      process.stderr.write(`${ds}:${model}:${recipe}:${mode} on ${size} examples (${JSON.stringify(MODE_OPTIONS[mode])}), load ${loadBefore.map((x) => x.toFixed(1)).join(' ')}\n`);
      let last = Date.now();
      const r = await pipelines.attackText({
        registry,
        attack: recipe,
        victim,
        examples,
        labelNames,
        seed: 0,
        keepExamples: 0,
        ...MODE_OPTIONS[mode],
        onExample: (_rec, done, total) => {
          if (Date.now() - last > 30000 || done === total) {
            last = Date.now();
            process.stderr.write(`  ${done}/${total}\n`);
          }
        },
      });
      const loadAfter = os.loadavg();
      const inferAfter = await inferenceRate(mk(), texts);
      const base = cellFile(ds, model, recipe, mode).replace(/\.json$/, '');
      writeAtomic(`${base}.records.jsonl`, `${r.records.map((x) => JSON.stringify(x)).join('\n')}\n`);
      writeAtomic(`${base}.json`, JSON.stringify({
        dataset: ds, model, recipe, mode, n: size, options: MODE_OPTIONS[mode], batchSize: BATCH, maxLength: info.maxLength,
        backend: backend.name, load: { before: loadBefore, after: loadAfter }, inference: { before: inferBefore, after: inferAfter },
        summary: r.summary, date: new Date().toISOString(), node: process.version,
      }, null, 2));
      const s = r.summary;
      process.stderr.write(`  success ${(100 * s.attackSuccessRate).toFixed(1)}%, ${s.avgQueries.toFixed(1)} queries/example, ${s.queriesPerSecond.toFixed(0)} q/s vs ${((inferBefore + inferAfter) / 2).toFixed(0)} inference/s, ${s.wallSeconds.toFixed(0)} s\n`);
    }
  } finally {
    pre.model.dispose();
  }
}

/**
 * Why TextFooler and HotFlip fail on these models: each recipe at its defaults and with its word-vector constraints
 * loosened, on the first 100 SST-2 dev sentences against the plain model (after-mode runs).
 */
const ABLATIONS = [
  ['textfooler', {}],
  ['textfooler', { partOfSpeech: false }],
  ['textfooler', { sentenceSimilarity: false }],
  ['textfooler', { partOfSpeech: false, sentenceSimilarity: false }],
  ['textfooler', { partOfSpeech: false, sentenceSimilarity: false, minCosine: -1 }],
  ['hotflip', {}],
  ['hotflip', { minCosine: -1 }],
  ['hotflip', { topNOver: 'word' }],
  ['hotflip', { topNOver: 'word', minCosine: -1 }],
];
const ABLATION_N = 100;

/** Share of the model's whole-word vocabulary whose nearest neighbour (victim embeddings) reaches each cosine. */
async function neighbourStats(text, pre) {
  const wv = await text.modelWordVectors(pre.model, pre.tokenizer);
  const vocab = text.wholeWordVocabulary(pre.tokenizer).map((x) => x.word).filter((w, i) => /^[a-z]+$/.test(w) && i % 5 === 0);
  let n = 0;
  const at = { 0.5: 0, 0.8: 0 };
  for (const w of vocab) {
    const nb = wv.neighbours(w, 1);
    if (!nb.length) continue;
    n++;
    for (const t of Object.keys(at)) if (nb[0].cosine >= Number(t)) at[t]++;
  }
  return { sampled: n, share05: at[0.5] / n, share08: at[0.8] / n, examples: Object.fromEntries(['good', 'bad', 'funny', 'boring'].map((w) => [w, wv.neighbours(w, 4)])) };
}

async function runAblation(force) {
  const file = path.join(work, 'ablation.json');
  if (!force && fs.existsSync(file)) return;
  await train('sst2', 'plain');
  const { pipelines, text, attacks, datasets } = await lib();
  await pipelines.setupBackend(undefined);
  const pre = await text.loadPretrained(modelDir('sst2', 'plain'));
  try {
    const info = JSON.parse(fs.readFileSync(path.join(modelDir('sst2', 'plain'), 'parry_training.json'), 'utf8'));
    const { labelNames, examples: all } = await DATASETS.sst2.examples(datasets);
    const examples = all.slice(0, ABLATION_N).map((e) => ({ text: e.text, label: e.label }));
    const registry = pipelines.createParryRegistry();
    const rows = [];
    for (const [recipe, attackOptions] of ABLATIONS) {
      const victim = attacks.parryVictim(pre.model, pre.tokenizer, { maxLength: info.maxLength, batchSize: BATCH });
      const { summary: s } = await pipelines.attackText({ registry, attack: recipe, attackOptions, victim, examples, labelNames, seed: 0, keepExamples: 0 });
      process.stderr.write(`ablation ${recipe} ${JSON.stringify(attackOptions)}: success ${pct(s.attackSuccessRate)}, ${s.avgQueries.toFixed(1)} queries\n`);
      rows.push({ recipe, attackOptions, successful: s.successful, failed: s.failed, attackSuccessRate: s.attackSuccessRate, avgPerturbedWordPct: s.avgPerturbedWordPct, avgQueries: s.avgQueries });
    }
    writeAtomic(file, JSON.stringify({ n: ABLATION_N, model: 'sst2-plain', neighbours: await neighbourStats(text, pre), rows, load: os.loadavg(), date: new Date().toISOString() }, null, 2));
  } finally {
    pre.model.dispose();
  }
}

/** Plain inference rate of the SST-2 plain model when the same 480 dev sentences arrive 1, 4, 8, 32 or 96 per call (second of two passes). */
async function runCallSize(force) {
  const file = path.join(work, 'call-size.json');
  if (!force && fs.existsSync(file)) return;
  await train('sst2', 'plain');
  const { pipelines, text, attacks, datasets } = await lib();
  await pipelines.setupBackend(undefined);
  const pre = await text.loadPretrained(modelDir('sst2', 'plain'));
  try {
    const info = JSON.parse(fs.readFileSync(path.join(modelDir('sst2', 'plain'), 'parry_training.json'), 'utf8'));
    const texts = (await DATASETS.sst2.examples(datasets)).examples.slice(0, 480).map((e) => e.text);
    const rates = {};
    const load = [os.loadavg()];
    for (const pass of [0, 1]) {
      for (const per of [1, 4, 8, 32, 96]) {
        const victim = attacks.parryVictim(pre.model, pre.tokenizer, { maxLength: info.maxLength, batchSize: BATCH });
        const t0 = performance.now();
        for (let i = 0; i < texts.length; i += per) await victim.predict(texts.slice(i, i + per));
        if (pass) rates[per] = texts.length / ((performance.now() - t0) / 1000);
      }
    }
    load.push(os.loadavg());
    writeAtomic(file, JSON.stringify({ rates, load, date: new Date().toISOString() }, null, 2));
  } finally {
    pre.model.dispose();
  }
}

const pct = (v) => `${(100 * v).toFixed(1)}%`;
const f1 = (v) => v.toFixed(1);
const load = (c) => `${c.load.before[0].toFixed(1)}→${c.load.after[0].toFixed(1)}`;
const infer = (c) => (c.inference.before + c.inference.after) / 2;

/** A run's per-example records, or undefined. */
function records(ds, model, recipe, mode) {
  const f = cellFile(ds, model, recipe, mode).replace(/\.json$/, '.records.jsonl');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : undefined;
}

/** Mean queries over the attacked (not skipped) examples among the first k records. */
function avgQueriesFirst(recs, k) {
  const attacked = recs.slice(0, k).filter((r) => r.status !== 'skipped');
  return attacked.reduce((s, r) => s + r.queries, 0) / Math.max(1, attacked.length);
}

/** Examples whose outcome (status and perturbed text) differs between the two runs, over the examples both attacked. */
function outcomeDiffs(ds, model, recipe) {
  const [b, a] = [records(ds, model, recipe, 'before'), records(ds, model, recipe, 'after')];
  if (!b || !a) return undefined;
  const k = Math.min(a.length, b.length);
  let diff = 0;
  for (let i = 0; i < k; i++) if (a[i].status !== b[i].status || a[i].perturbed !== b[i].perturbed) diff++;
  return { diff, k };
}

function trainedLine(ds, model) {
  const dir = modelDir(ds, model);
  let r;
  try {
    r = readJson(`${dir}.train.json`);
  } catch {
    return undefined; // still training
  }
  const b = readJson(`${dir}.bench.json`);
  if (!r) return undefined;
  const t = r.training;
  const epochs = t.epochs.map((e) => (100 * e.testAccuracy).toFixed(1)).join(' ');
  const flags = (b?.flags ?? []).map((x) => (x.startsWith(root) ? path.relative(root, x) : x.startsWith(dataRoot) ? path.join('../shared/data', path.relative(dataRoot, x)) : x));
  const attacked = RECIPES.map((rc) => readJson(cellFile(ds, model, rc, 'after'))).find(Boolean);
  const acc = attacked ? `, ${pct(attacked.summary.originalAccuracy)} on the ${attacked.n} attacked ${ds === 'sst2' ? 'dev' : 'test'} examples` : '';
  return `- ${DATASETS[ds].label} ${model}: dev accuracy ${pct(r.clean.accuracy)} on ${r.clean.n} (best epoch ${t.hyperparameters.bestEpoch}; per epoch ${epochs})${acc}, \`parry train ${flags.join(' ')}\``;
}

function report() {
  const cpu = os.cpus();
  const cells = [];
  for (const ds of Object.keys(DATASETS)) for (const model of ['plain', 'fgm']) for (const recipe of RECIPES) {
    const runs = Object.fromEntries(MODES.map((m) => [m, readJson(cellFile(ds, model, recipe, m))]));
    if (runs.before || runs.after) cells.push({ ds, model, recipe, ...runs });
  }
  const dates = cells.flatMap((c) => [c.before?.date, c.after?.date]).filter(Boolean).sort();
  const day = (dates.at(-1) ?? new Date().toISOString()).slice(0, 10);
  const backend = cells.find((c) => c.after)?.after.backend ?? '?';
  const lines = [`### Text attacks on SST-2 and AG News, before and after the query cache and batching (${day}, ${cpu.length} cores, ${cpu[0].model})`, ''];
  lines.push('Produced by `pnpm bench:text-attacks` (packages/attacks/bench/text-attacks.mjs; one cell: `node packages/attacks/bench/text-attacks.mjs sst2:plain:pwws`).',
    `Each cell runs \`attackText\` of @parry/pipelines twice in one process on the same model: **before** = \`{ cache: false, concurrency: 1 }\` (every text a`,
    'search asks for is scored and counted, one example at a time, as Parry did before the cache) and **after** = the defaults (a per-example',
    'query cache, candidates of 8 examples in flight batched into shared model calls); the two runs alternate which goes first. White-box',
    `tfjs victim (backend ${backend}; \`parryVictim\`, ${BATCH} texts per model call, the model's max length), seed 0, no query budget, recipes at their defaults.`,
    '"inference/s" is plain batched inference of the same model on the same texts (tokenising included, the same batch size, median of 3),',
    'measured right before and after each run and averaged; the ratio is queries/s ÷ inference/s. Models (1-layer BERT-style encoder, hidden 128,',
    '2 heads, feed-forward 512, corpus WordPiece vocabulary, trained from scratch; FGM = `--defense fgm` with its defaults: radius 0.1 × the mean',
    'token-embedding norm, after one clean epoch):', '');
  for (const ds of Object.keys(DATASETS)) for (const model of ['plain', 'fgm']) {
    const l = trainedLine(ds, model);
    if (l) lines.push(l);
  }
  lines.push('', 'AG News: ../shared/data/ag_news holds only the first 581 rows of the official training split, so rows 1–500 train (EDA, 4 copies each),',
    'rows 501–581 are the dev split that picks the epoch, and the **first 500 rows of the official test split** are attacked (never trained or',
    'tuned on); text = title + " " + description, as in the Hugging Face `ag_news` dataset. SST-2: the first 500 dev sentences.', '',
    '**Machine load.** The 2 cores were shared with other agents\' builds and tests throughout, so every time and rate below was taken on a busy',
    'machine (1-minute load average at the start→end of each run in the last column): read the throughput columns as indicative, not as claims.',
    'Success rates, perturbed words and query counts do not depend on load.', '');
  for (const ds of Object.keys(DATASETS)) {
    const rows = cells.filter((c) => c.ds === ds && c.after);
    if (!rows.length) continue;
    lines.push(`#### ${DATASETS[ds].label} (${DATASETS[ds].split})`, '');
    const beforeNs = [...new Set(rows.filter((c) => c.before).map((c) => c.before.n))];
    const afterNs = [...new Set(rows.map((c) => c.after.n))];
    const same = beforeNs.length === 1 && afterNs.length === 1 && beforeNs[0] === afterNs[0];
    lines.push(same
      ? `Both runs of every cell attack the same ${afterNs[0]} examples.`
      : `After runs: ${afterNs.join(' / ')} examples (\`--n ${afterNs.join('/')}\`); before runs: the first ${beforeNs.join(' / ') || '-'} (\`--before-n ${beforeNs.join('/') || '-'}\`, to fit the time box), their queries compared with the after run's on the same examples.`, '');
    lines.push('| model | recipe | successful / failed / skipped | original acc | acc under attack | success rate | perturbed words | words/input | avg queries | avg queries before → after (same examples) | queries/s before → after | inference/s | ratio before → after | wall before → after | load (1 min) before; after |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const c of rows) {
      const s = c.after.summary;
      const b = c.before;
      const bs = b?.summary;
      let same = '-';
      if (bs) {
        const recs = records(c.ds, c.model, c.recipe, 'after');
        const k = Math.min(b.n, c.after.n);
        const after = recs ? avgQueriesFirst(recs, k) : s.avgQueries;
        same = `${f1(bs.avgQueries)} → ${f1(after)}${k < c.after.n ? ` (first ${k})` : ''} (−${(100 * (1 - after / bs.avgQueries)).toFixed(0)}%)`;
      }
      const rate = bs ? `${bs.queriesPerSecond.toFixed(0)} → ` : '- → ';
      const ratio = bs ? `${(bs.queriesPerSecond / infer(b)).toFixed(2)} → ` : '- → ';
      lines.push(`| ${c.model} | ${c.recipe} | ${s.successful} / ${s.failed} / ${s.skipped} | ${pct(s.originalAccuracy)} | ${pct(s.accuracyUnderAttack)} | ${pct(s.attackSuccessRate)} | ${f1(s.avgPerturbedWordPct)}% | ${f1(s.avgWordsPerInput)} | ${f1(s.avgQueries)} | ${same} | ${rate}${s.queriesPerSecond.toFixed(0)} | ${infer(c.after).toFixed(0)} | ${ratio}${(s.queriesPerSecond / infer(c.after)).toFixed(2)} | ${bs ? `${bs.wallSeconds.toFixed(0)} s${b.n < c.after.n ? ` (first ${b.n})` : ''} → ` : ''}${s.wallSeconds.toFixed(0)} s | ${b ? load(b) : '-'}; ${load(c.after)} |`);
    }
    const counts = [...new Set(rows.map((c) => c.after.summary.truncated))];
    const trunc = counts.length === 1 ? (counts[0] ? `${counts[0]} of ${rows[0].after.n} in every cell` : '') : rows.map((c) => `${c.model}/${c.recipe} ${c.after.summary.truncated}`).join(', ');
    if (trunc) lines.push('', `Texts longer than the model's max length (${rows[0].after.maxLength} tokens), of which only the visible words are searched and counted: ${trunc}.`);
    lines.push('');
  }
  const cs = readJson(path.join(work, 'call-size.json'));
  if (cs) {
    lines.push(`What batching can give on this backend (\`node packages/attacks/bench/text-attacks.mjs call-size\`): plain inference of the SST-2 plain model on 480 dev sentences sent ${Object.keys(cs.rates).join(' / ')} per call: ${Object.values(cs.rates).map((r) => r.toFixed(0)).join(' / ')} sentences/s (load ${cs.load[0][0].toFixed(1)}→${cs.load[1][0].toFixed(1)}).`, '');
  }
  const diffs = cells.map((c) => ({ c, d: outcomeDiffs(c.ds, c.model, c.recipe) })).filter((x) => x.d);
  if (diffs.length) {
    const bad = diffs.filter((x) => x.d.diff > 0);
    lines.push(`Outcomes before vs after (status and perturbed text of every example both runs attacked): ${bad.length ? bad.map((x) => `${x.c.ds}/${x.c.model}/${x.c.recipe}: ${x.d.diff} of ${x.d.k} differ`).join('; ') : `identical in all ${diffs.length} cells that ran both`}.`, '');
  }
  const ab = readJson(path.join(work, 'ablation.json'));
  if (ab) {
    const nb = ab.neighbours;
    lines.push(`**Why TextFooler and HotFlip fail here** (\`node packages/attacks/bench/text-attacks.mjs ablation\`: the first ${ab.n} SST-2 dev sentences, plain model, after-mode runs; options as \`--opt <recipe>.<key>=<value>\`).`,
      `Both take their word vectors from the victim's own input embeddings (no counter-fitted file on this machine). Trained from scratch on 6,920 sentences, those`,
      `embeddings group words by the label they predict, not by meaning: of ${nb.sampled} sampled whole words, ${pct(nb.share05)} have a nearest neighbour at cosine >= 0.5`,
      `(TextFooler's threshold) and ${pct(nb.share08)} at >= 0.8 (HotFlip's); e.g. ${Object.entries(nb.examples).map(([w, v]) => `${w} → ${v.map((x) => `${x.word} ${x.cosine.toFixed(2)}`).join(', ')}`).join('; ')}.`, '');
    lines.push('| recipe | options | successful / failed | success rate | perturbed words | avg queries |', '|---|---|---|---|---|---|');
    for (const r of ab.rows) {
      const o = Object.entries(r.attackOptions).map(([k, v]) => `${k}=${v}`).join(', ') || 'defaults';
      lines.push(`| ${r.recipe} | ${o} | ${r.successful} / ${r.failed} | ${pct(r.attackSuccessRate)} | ${f1(r.avgPerturbedWordPct)}% | ${f1(r.avgQueries)} |`);
    }
    lines.push('');
  }
  const notes = new Map();
  for (const c of cells) {
    for (const run of [c.before, c.after]) for (const n of run?.summary.notes ?? []) if (!/texts were cut by the model's token limit/.test(n)) notes.set(`${run.summary.attack}: ${n}`, true);
  }
  if (notes.size) lines.push('Recipe notes (deviations from TextAttack, printed by the runner):', '', ...[...notes.keys()].sort().map((n) => `- ${n}`));
  writeDocsSection('text-attacks', lines);
}

function parseArgs(argv) {
  const o = { cells: [], n: 500, beforeN: Infinity, force: false, report: false, train: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--n' || a === '--before-n') {
      const v = Number(argv[++i]);
      if (!(Number.isInteger(v) && v > 0)) {
        process.stderr.write(`${a} ${argv[i]}: expected a positive integer, e.g. ${a} 100\n`);
        process.exit(2);
      }
      o[a === '--n' ? 'n' : 'beforeN'] = v;
    } else if (a === '--force') o.force = true;
    else if (a === '--report') o.report = true;
    else if (a === 'train') o.train = true;
    else if (a === 'ablation') o.ablation = true;
    else if (a === 'call-size') o.callSize = true;
    else if (!a.startsWith('--')) o.cells.push(a);
    else {
      process.stderr.write(`unknown option ${a}; use --n <k>, --before-n <k>, --force, --report, train, or cells like sst2:plain:pwws[:before|after]\n`);
      process.exit(2);
    }
  }
  return o;
}

fs.mkdirSync(cellsDir, { recursive: true });
const opts = parseArgs(process.argv.slice(2));
if (opts.ablation) {
  await runAblation(opts.force);
  await runCallSize(opts.force);
} else if (opts.callSize) await runCallSize(opts.force);
else if (!opts.report) {
  if (!fs.existsSync(path.join(dataRoot, 'sst2')) || !fs.existsSync(path.join(dataRoot, 'ag_news'))) {
    process.stderr.write(`data not found under ${dataRoot} (needs sst2/ and ag_news/): set PARRY_DATA_DIR\n`);
    process.exit(2);
  }
  if (opts.train || !opts.cells.length) for (const ds of Object.keys(DATASETS)) for (const model of ['plain', 'fgm']) await train(ds, model);
  if (!opts.train || opts.cells.length) {
    const all = Object.keys(DATASETS).flatMap((ds) => ['plain', 'fgm'].flatMap((m) => RECIPES.map((r) => `${ds}:${m}:${r}`)));
    const wanted = opts.cells.length ? opts.cells : all;
    let order = 0;
    for (const cell of wanted) {
      const [ds, model, recipe, mode] = cell.split(':');
      if (!DATASETS[ds] || !['plain', 'fgm'].includes(model) || !RECIPES.includes(recipe) || (mode && !MODES.includes(mode))) {
        process.stderr.write(`cell ${cell}: expected <${Object.keys(DATASETS).join('|')}>:<plain|fgm>:<${RECIPES.join('|')}>[:before|after]\n`);
        process.exit(2);
      }
      await runCell(ds, model, recipe, mode ? [mode] : MODES, opts.n, opts.beforeN, opts.force, order++);
    }
    if (!opts.cells.length) {
      await runAblation(opts.force);
      await runCallSize(opts.force);
    }
  }
}
report();
