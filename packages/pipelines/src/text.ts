/**
 * Text pipelines: build a Transformer classifier from a spec (small from scratch, a config.json, or a pretrained
 * folder / Hub id), train it on text data and save it as a Hugging Face folder with `parry_training.json`; evaluate a
 * text model (clean metrics, then every text attack) into a results file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parryVictim } from '@parry/attacks';
import {
  type DefensePlugin,
  describeBackend,
  type GoalSpec,
  guardOutput,
  InputError,
  type ModelFamily,
  type Registry,
  parseGoal,
  type TextAttackExample,
  type TextAttackRecord,
  type TextAttackSummary,
  type TextTokenizer,
  type TextVictim,
  parseTruncation,
  type SentenceEncoder,
  type TruncationStrategy,
  UsageError,
} from '@parry/core';
import type { TextDataset } from '@parry/datasets';
import { augmentDataset, type EncodedTextSet, positiveWeightsFor, type TextEpochRecord, trainText } from '@parry/defenses';
import { multiLabelMetrics, type MultiLabelMetrics, type Results, singleLabelMetrics, type SingleLabelMetrics, type TextAttackEntry, tuneThresholds, validateResults, writeResults } from '@parry/metrics';
import {
  bertBaseUncasedTokenizer,
  buildWordPieceVocab,
  createTransformerClassifier,
  downloadProgressLines,
  type EncoderConfig,
  type HubOptions,
  loadPretrained,
  MODEL_FAMILIES,
  parseHfConfig,
  onnxClassifier,
  resolveModelSource,
  predictText,
  savePretrained,
  smallConfig,
  type TransformerClassifier,
  validateConfig,
  wordPieceTokenizer,
} from '@parry/text';
import { attackOptionsFromPairs, type OptionsByPlugin, resolveNames, resolveOptions } from './build-plugins.js';
import { openRegistry, type RegistrySource } from './image.js';
import { checkRunName, hooksOf, pct, resultsHeader, type RunHooks, setupBackend } from './run.js';
import { attackText, registryAttackRunner } from './text-attack.js';
import { type OpenedSentenceEncoder, openSentenceEncoder } from './sentence-encoder.js';
import { encodeDataset, loadTextSplit, type TextDataSpec } from './text-data.js';
import type { TruncationSection } from '@parry/metrics';
import { type Journal, openJournal } from './journal.js';
import { textDataSha256, textModelSha256 } from './fingerprint.js';
import { checkShard, type ShardSpec, shardBlock } from './shard.js';
import { countTruncation, truncationSection } from './truncation.js';
import { readTrainingInfo, TRAINING_FILE, type TrainingInfo, trainingInfoJson } from './training-info.js';

/** Hub options from the offline / force-download flags; download progress goes to `log` as plain lines. */
export function hubOptions(o: { offline?: boolean; forceDownload?: boolean; log?: (line: string) => void }): HubOptions {
  return { offline: o.offline, forceDownload: o.forceDownload, onProgress: o.log ? downloadProgressLines(o.log) : undefined };
}

/** True when `dir` is a Hugging Face model folder (has config.json), as `trainTextModel` writes. */
export function isTextModel(dir: string): boolean {
  return fs.existsSync(`${dir}/config.json`);
}

/** How to build the model to train. */
export interface TextModelSpec {
  /** A family (`bert`, `electra`, `distilbert`, `roberta`: small config from scratch), a config.json, a model folder or a Hub id. */
  model: string;
  maxLength: number;
  /** From scratch: `corpus` (WordPiece vocabulary built from the training texts, default) or `bert-base-uncased`. */
  vocab?: string;
  vocabSize?: number;
  hidden?: number;
  layers?: number;
  heads?: number;
  intermediate?: number;
  dropout?: number;
  seed: number;
  offline?: boolean;
  forceDownload?: boolean;
}

function isFamily(s: string): s is ModelFamily {
  return (MODEL_FAMILIES as readonly string[]).includes(s);
}

/**
 * The hidden size of the Transformer a text command builds or loads, read before the backend starts (the wasm thread
 * count must be fixed before wasm initialises; see `chooseWasmThreads`): `hidden` (default 128) for a family from
 * scratch, else the config.json given or the model folder's. A Hub id is downloaded here (with `hub`), so the loader
 * later finds it in the cache. Undefined when the config cannot be read: the loader then reports the problem.
 */
export async function textModelHiddenSize(model: string, o: { hidden?: number }, hub: HubOptions): Promise<number | undefined> {
  if (isFamily(model)) return o.hidden ?? 128;
  let file: string;
  if (model.endsWith('.json') && fs.existsSync(model) && fs.statSync(model).isFile()) file = model;
  else file = path.join((await resolveModelSource(model, hub)).dir, 'config.json');
  try {
    return parseHfConfig(JSON.parse(fs.readFileSync(file, 'utf8')), file).hiddenSize;
  } catch {
    return undefined;
  }
}

function scratchTokenizer(o: TextModelSpec, train: TextDataset): TextTokenizer {
  const vocab = o.vocab ?? 'corpus';
  if (vocab === 'bert-base-uncased') return bertBaseUncasedTokenizer();
  if (vocab === 'corpus') return wordPieceTokenizer(buildWordPieceVocab(train.examples.map((e) => e.text), { vocabSize: o.vocabSize ?? 8000 }), { lowercase: true });
  throw new UsageError(`--vocab "${vocab}" is not one of corpus, bert-base-uncased`);
}

/** The model to train for `train`'s labels: small from-scratch config, a config.json, or a pretrained folder / Hub id to fine-tune. */
export async function buildTextModel(
  o: TextModelSpec,
  train: TextDataset,
  hooks: RunHooks = {},
): Promise<{ model: TransformerClassifier; tokenizer: TextTokenizer; from: string; pretrained: boolean }> {
  const { log } = hooksOf(hooks);
  const outputKind = train.multiLabel ? 'multi-label' : 'single-label';
  const labelNames = train.labelNames;
  const scratch = (base: EncoderConfig, tokenizer: TextTokenizer, from: string) => {
    if (base.vocabSize < tokenizer.vocabSize) throw new UsageError(`the config's vocab_size ${base.vocabSize} is smaller than the tokenizer's ${tokenizer.vocabSize}`);
    const config: EncoderConfig = { ...base, labelNames, numLabels: labelNames.length, outputKind };
    validateConfig(config, { source: 'flags' }); // the label count comes from the data
    return { model: createTransformerClassifier(config, { seed: o.seed }), tokenizer, from, pretrained: false };
  };
  if (isFamily(o.model)) {
    const tokenizer = scratchTokenizer(o, train);
    const hidden = o.hidden ?? 128;
    const config = smallConfig(o.model, {
      vocabSize: tokenizer.vocabSize,
      hiddenSize: hidden,
      numLayers: o.layers ?? 2,
      numHeads: o.heads ?? 2,
      intermediateSize: o.intermediate ?? 4 * hidden,
      hiddenDropout: o.dropout ?? 0.1,
      attentionDropout: o.dropout ?? 0.1,
      classifierDropout: o.dropout ?? 0.1,
      padTokenId: tokenizer.padId,
      maxPositions: o.model === 'roberta' ? o.maxLength + tokenizer.padId + 1 : o.maxLength,
      labelNames,
    }, { source: 'flags' });
    return scratch(config, tokenizer, `${o.model} from scratch`);
  }
  if (o.model.endsWith('.json') && fs.existsSync(o.model) && fs.statSync(o.model).isFile()) {
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(o.model, 'utf8'));
    } catch (e) {
      throw new InputError(`--model ${o.model} is not JSON (${(e as Error).message})`);
    }
    return scratch(parseHfConfig(json, o.model), scratchTokenizer(o, train), `${o.model} from scratch`);
  }
  // Fine-tuning from an encoder-only checkpoint is legitimate: a fresh head is asked for, and said so below.
  // --dropout given: it replaces every dropout rate of the checkpoint's config (else the checkpoint's rates stay).
  const pre = await loadPretrained(o.model, { labelNames, outputKind, seed: o.seed, ...hubOptions({ ...o, log: hooks.log }), newHead: true, dropout: o.dropout });
  if (!pre.tokenizer) {
    pre.model.dispose();
    throw new InputError(`--model ${o.model} has no tokenizer files (tokenizer.json or vocab.txt); add them to the folder`);
  }
  // A masked-LM folder says where the encoder came from and that the head is new, in one line; else the plain note.
  if (pre.notes.length) for (const note of pre.notes) log(note);
  else if (pre.newlyInitialized.length) log(`classifier head initialised randomly (${pre.newlyInitialized.join(', ')})`);
  if (o.dropout !== undefined) log(`dropout ${o.dropout} (--dropout) replaces the checkpoint's rates for fine-tuning`);
  return { model: pre.model, tokenizer: pre.tokenizer, from: `fine-tuned from ${o.model}`, pretrained: true };
}

/** The `model` section of a results file for a text classifier. */
export function textModelInfo(model: { labelNames: readonly string[]; outputKind: 'single-label' | 'multi-label' }, o: { name: string; path?: string; maxLength?: number; family?: string }) {
  return {
    modality: 'text' as const,
    ...(o.path !== undefined ? { path: o.path } : {}),
    name: o.name,
    numLabels: model.labelNames.length,
    labelNames: [...model.labelNames],
    outputKind: model.outputKind,
    ...(o.maxLength !== undefined ? { maxLength: o.maxLength } : {}),
    ...(o.family !== undefined ? { family: o.family } : {}),
  };
}

const encoderName = (model: TransformerClassifier) => `${model.family} (${model.config.numLayers}x${model.config.hiddenSize}, ${model.config.numHeads} heads)`;

/** Clean metrics of a text model from its probabilities `[n * labels]`: accuracy and macro-F1, or multi-label F1s per label. */
export interface TextCleanMetrics {
  single?: SingleLabelMetrics;
  multi?: MultiLabelMetrics;
}

/** Clean metrics from probabilities on examples with `labels` (class ids, or multi-hot rows when multi-label). */
export function textCleanMetrics(
  probs: Float32Array,
  labels: EncodedTextSet['labels'],
  model: { labelNames: readonly string[]; outputKind: 'single-label' | 'multi-label' },
  thresholds?: number[],
): TextCleanMetrics {
  const L = model.labelNames.length;
  if (model.outputKind === 'multi-label') {
    return { multi: multiLabelMetrics(probs, labels, L, { thresholds: thresholds ?? 0.5, labelNames: [...model.labelNames] }) };
  }
  const n = probs.length / L;
  const pred = Int32Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let j = 1; j < L; j++) if (probs[i * L + j] > probs[i * L + best]) best = j;
    return best;
  });
  return { single: singleLabelMetrics(pred, labels as Int32Array, L, [...model.labelNames]) };
}

/** The `clean` (and multi-label `perLabel`) sections of a results file. */
export function textCleanSection(n: number, r: TextCleanMetrics) {
  if (r.multi) {
    const m = r.multi;
    return {
      clean: { accuracy: m.subsetAccuracy, n, microF1: m.microF1, macroF1: m.macroF1, hammingLoss: m.hammingLoss, subsetAccuracy: m.subsetAccuracy },
      perLabel: m.perLabel.map((l) => ({ label: l.label, support: l.support, accuracy: l.accuracy, precision: l.precision, recall: l.recall, f1: l.f1, threshold: l.threshold })),
    };
  }
  return { clean: { accuracy: r.single!.accuracy, n, macroF1: r.single!.macroF1 } };
}

export interface TrainTextOptions extends TextDataSpec, TextModelSpec, RunHooks, RegistrySource {
  /** True when `maxLength` was chosen by the user: above a checkpoint's positions it is then refused, not capped. */
  maxLengthGiven?: boolean;
  /**
   * Which tokens of an over-long text to keep (`--truncation`): `head` (default, the first), `tail` (the last) or
   * `head+tail` (a quarter of the budget from the start, the rest from the end). Saved in `parry_training.json`, so
   * evaluation and attacks of the model use it too.
   */
  truncation?: TruncationStrategy;
  epochs: number;
  batchSize: number;
  lr: number;
  warmup?: number;
  weightDecay?: number;
  /**
   * Layer-wise learning-rate decay in (0, 1] (`--layer-lr-decay`; default 1 = off), for fine-tuning a pre-trained
   * encoder: layer i of L learns at `lr * x^(L - i)`, the embeddings at `lr * x^(L + 1)`, the head at `lr` (see
   * `layerLrScales` of @parry/defenses). Recorded in the results' hyperparameters when not 1.
   */
  layerLrDecay?: number;
  maxGradNorm?: number;
  /** Micro-batches per optimizer step (`--grad-accum`; default 1): same step, less memory per pass. */
  gradAccum?: number;
  labelSmoothing?: number;
  earlyStop?: number;
  checkpointDir?: string;
  resume?: boolean;
  /** Replace `out` even when it is not a Parry text model folder holding only Parry's files. */
  force?: boolean;
  /** Use at most this many training examples. */
  limit?: number;
  /** Model folder to write. */
  out: string;
  backend?: string;
  /** wasm kernel threads, 1 or 2 (`--threads`; default `PARRY_THREADS`, else 2 for hidden size >= 512 on 2+ cores, else 1). */
  threads?: number;
  /** Text defense plugins (see `createDefenses`); attack-based ones (A2T) get the registry's text attacks. */
  defenses?: DefensePlugin[];
  /** Stop when a defense collapses training to the majority class (default true; see `TextTrainOptions.collapseGuard`). */
  collapseGuard?: boolean;
  /** Multi-label: `auto` (negatives / positives per label, capped at 20) or one weight for every label's positive BCE term. */
  posWeight?: string;
  augment?: 'eda' | 'char';
  numAug?: number;
  augRate?: number;
  command?: readonly string[];
}

export interface TrainTextOutcome {
  results: Results;
  /** Dev metrics of the saved model (multi-label: with the tuned thresholds). */
  dev: TextCleanMetrics;
  /** Multi-label: dev metrics at threshold 0.5. */
  devAt05?: TextCleanMetrics;
  devN: number;
  bestEpoch: number;
  thresholds?: number[];
  /** Training and dev texts cut by the token limit, and the share of their words the model saw. */
  truncation: TruncationSection;
}

/**
 * Train or fine-tune a Transformer text classifier: evaluate on the dev split each epoch, tune multi-label thresholds
 * on dev, and save a Hugging Face folder with `train-results.json` and `parry_training.json` (all or nothing).
 */
export async function trainTextModel(o: TrainTextOptions): Promise<TrainTextOutcome> {
  const { log, progress } = hooksOf(o);
  if (!(o.maxLength >= 8)) throw new UsageError(`--max-length must be at least 8, got ${o.maxLength}`);
  if (o.layerLrDecay !== undefined && !(typeof o.layerLrDecay === 'number' && o.layerLrDecay > 0 && o.layerLrDecay <= 1)) {
    throw new UsageError(`--layer-lr-decay must be a number in (0, 1] (1 = off), got ${String(o.layerLrDecay)}`);
  }
  const truncation = parseTruncation(o.truncation ?? 'head', '--truncation');
  const defenses = o.defenses ?? [];
  for (const d of defenses) {
    if (d.modality !== 'text') throw new UsageError(`--defense ${d.name} trains image models; text models take fgm, pgd-embed, freelb, smart, r-drop (see \`parry list\`)`);
  }
  const checkpointDir = o.checkpointDir ?? (o.resume ? `${o.out.replace(/[\\/]+$/, '')}.checkpoints` : undefined);
  const protect = [
    { path: o.data, flag: '--data' },
    { path: o.dev, flag: '--dev' },
    { path: o.test, flag: '--test' },
    { path: fs.existsSync(o.model) ? o.model : undefined, flag: '--model' },
    { path: checkpointDir, flag: '--checkpoint-dir' },
  ];
  guardOutput(o.out, { kind: 'text-model', force: o.force, protect });
  const { registry } = await openRegistry(o);
  const full = await loadTextSplit(o, 'train');
  const loaded = o.limit ? { ...full, examples: full.examples.slice(0, o.limit) } : full;
  const train = o.augment
    ? augmentDataset(loaded, { method: o.augment, numAug: o.numAug ?? 4, seed: o.seed, ...(o.augment === 'eda' ? { alphaSr: o.augRate, alphaRi: o.augRate, alphaRs: o.augRate, pRd: o.augRate } : { charP: o.augRate }) })
    : loaded;
  const dev = await loadTextSplit(o, 'dev');
  if (o.test) await loadTextSplit(o, 'test'); // read now so a bad test file is refused before training, not at evaluation
  if (o.multiLabel && !train.multiLabel) throw new UsageError(`--multi-label given, but ${train.source} was read as single-label data`);
  const hiddenSize = await textModelHiddenSize(o.model, o, hubOptions({ ...o, log: o.log }));
  const backend = await setupBackend(o.backend, { threads: o.threads, workload: hiddenSize === undefined ? undefined : { hiddenSize } });
  // a Hub model was downloaded (again, with --force-download) just above: load it from the cache
  const { model, tokenizer, from, pretrained } = await buildTextModel({ ...o, forceDownload: false }, train, o);
  try {
    let maxLength = o.maxLength;
    // a fine-tuned checkpoint has a fixed number of positions: a longer --max-length would index past its table
    const positions = model.config.family === 'roberta' ? model.config.maxPositions - tokenizer.padId - 1 : model.config.maxPositions;
    if (maxLength > positions) {
      if (o.maxLengthGiven) throw new UsageError(`--max-length ${maxLength} is above the ${positions} positions of ${from}; pass --max-length ${positions} or less`);
      log(`--max-length ${maxLength} (the default) is above the ${positions} positions of ${from}: using ${positions}`);
      maxLength = positions;
    }
    const trainSet = encodeDataset(train, tokenizer, maxLength, { truncation });
    const devSet = encodeDataset(dev, tokenizer, maxLength, { truncation });
    const cut = truncationSection(truncation, maxLength, [
      countTruncation(train.examples, tokenizer, maxLength, truncation, 'train'),
      countTruncation(dev.examples, tokenizer, maxLength, truncation, 'dev'),
    ]);
    const c = model.config;
    log(`${from}: ${c.family} ${c.numLayers} layers, hidden ${c.hiddenSize}, ${c.numHeads} heads, vocab ${c.vocabSize}; ${trainSet.encodings.length} training / ${devSet.encodings.length} dev examples, backend ${describeBackend(backend)}`);
    let positiveWeights: number[] | undefined;
    if (o.posWeight != null) {
      if (!train.multiLabel) throw new UsageError('--pos-weight is for multi-label data (per-label BCE)');
      const w = Number(o.posWeight);
      if (o.posWeight === 'auto') positiveWeights = positiveWeightsFor(trainSet.labels, model.numLabels);
      else if (w > 0 && Number.isFinite(w)) positiveWeights = new Array(model.numLabels).fill(w);
      else throw new UsageError(`--pos-weight must be "auto" or a number > 0, got "${o.posWeight}"`);
    }
    const steps = Math.ceil(trainSet.encodings.length / o.batchSize);
    let bar = progress('epoch 1', steps);
    const result = await trainText(model, trainSet, {
      epochs: o.epochs,
      batchSize: o.batchSize,
      learningRate: o.lr,
      seed: o.seed,
      padId: tokenizer.padId,
      weightDecay: o.weightDecay ?? 0.01,
      layerLrDecay: o.layerLrDecay,
      warmupRatio: o.warmup ?? 0.1,
      maxGradNorm: o.maxGradNorm ?? 1,
      gradAccum: o.gradAccum,
      labelSmoothing: o.labelSmoothing,
      positiveWeights,
      defenses,
      // from scratch, the embedding-space defenses scale their radii to the embedding norm and start after a clean epoch
      pretrained,
      // a defense that collapses training to the majority class stops the run with one line (nothing is written)
      collapseGuard: o.collapseGuard ?? true,
      attacks: registryAttackRunner(registry),
      tokenizer,
      maxLength,
      truncation,
      evalSet: devSet,
      earlyStop: o.earlyStop,
      checkpointDir,
      resume: o.resume,
      onBatch: ({ step, loss }) => bar.update(step, `loss ${loss.toFixed(4)}`),
      onEpoch: (r: TextEpochRecord) => {
        const dv = r.dev ? (r.dev.macroF1 != null ? `dev macro-F1 ${r.dev.macroF1.toFixed(3)}` : `dev accuracy ${pct(r.dev.accuracy)}`) : '';
        bar.stop(`epoch ${r.epoch}: loss ${r.loss.toFixed(4)} ${dv} (${r.seconds.toFixed(1)} s)`);
        if (r.epoch < o.epochs) bar = progress(`epoch ${r.epoch + 1}`, steps);
      },
    });
    const multi = model.outputKind === 'multi-label';
    const devProbs = await predictText(model, devSet.encodings, tokenizer.padId);
    const first = textCleanMetrics(devProbs, devSet.labels, model);
    const thresholds = multi ? tuneThresholds(devProbs, devSet.labels, model.numLabels) : undefined;
    const final = multi ? textCleanMetrics(devProbs, devSet.labels, model, thresholds) : first;
    const bad = result.epochs.find((e) => !Number.isFinite(e.loss));
    if (bad) throw new UsageError(`training diverged (loss ${bad.loss} in epoch ${bad.epoch}): nothing was written to ${o.out}; lower --lr (now ${o.lr})`);
    const results = validateResults({
      ...resultsHeader('train', o.command, o.seed),
      dataset: { name: dev.name, source: dev.source, split: 'dev', n: devSet.encodings.length },
      model: textModelInfo(model, { name: encoderName(model), path: o.out, maxLength, family: model.family }),
      ...textCleanSection(devSet.encodings.length, final),
      truncation: cut,
      training: {
        hyperparameters: {
          ...result.hyperparameters,
          from,
          maxLength,
          augment: o.augment ? { method: o.augment, numAug: o.numAug ?? 4, rate: o.augRate ?? 0.1, trainExamples: train.examples.length } : null,
          bestEpoch: result.bestEpoch,
          thresholds: thresholds ?? null,
        },
        epochs: result.epochs.map((e) => ({
          epoch: e.epoch,
          loss: e.loss,
          testAccuracy: e.dev?.accuracy ?? 0,
          ...(e.dev?.macroF1 != null ? { macroF1: e.dev.macroF1, microF1: e.dev.microF1 } : {}),
          seconds: e.seconds,
          trainSeconds: e.trainSeconds,
        })),
      },
    }, 'results to write');
    // the model, its training facts and its results appear together or not at all
    await savePretrained(
      o.out,
      model,
      tokenizer,
      { [TRAINING_FILE]: trainingInfoJson(o, maxLength, thresholds, truncation), 'train-results.json': `${JSON.stringify(results, null, 2)}\n` },
      { force: o.force, protect },
    );
    return { results, dev: final, devAt05: multi ? first : undefined, devN: devSet.encodings.length, bestEpoch: result.bestEpoch, thresholds, truncation: cut };
  } finally {
    model.dispose();
  }
}

export type TextSplitName = 'train' | 'dev' | 'test';

export interface EvaluateTextOptions extends Partial<TextDataSpec>, RunHooks, RegistrySource {
  /** A Parry / Hugging Face model folder or a Hub id. */
  model: string;
  /** Default `dev`; `test` reads the data's test split (`test` file for csv/tsv/jsonl). */
  split?: TextSplitName;
  /** Evaluate (and attack) the first n examples only (default: all; 100 when attacking). */
  limit?: number;
  /** Text attacks to run after the clean metrics (recipes of `parry list`). */
  attacks?: string[];
  attackOptions?: OptionsByPlugin;
  /** `--opt <attack>.<key>=<value>` pairs, checked against `attacks`. */
  optionPairs?: string[];
  /** Goal of every attack: a `GoalSpec` or its text (`untargeted`, `targeted:K`, `flip-label:K`, `flip-any-gold`, `remove-all-gold`). */
  goal?: GoalSpec | string;
  queryBudget?: number;
  wordVectors?: string;
  /**
   * The sentence encoder of the sentence-similarity constraint (TextFooler; `--sentence-encoder`): a Parry / Hugging
   * Face encoder folder or an ONNX sentence-embedding folder (see `openSentenceEncoder`). Default: mean word vectors.
   */
  sentenceEncoder?: string;
  /** A masked-LM folder for the recipes that need one (`bae`, `bert-attack`; `--masked-lm`). */
  maskedLm?: string;
  /** A ready victim (e.g. the black-box ONNX one) to attack instead of the Parry encoder in `model`. */
  victim?: TextVictim;
  /** Where the encoder's forward passes run: `tfjs` (default) or `onnx` (ONNX Runtime; see `textRobustness`). */
  runtime?: 'tfjs' | 'onnx';
  maxLength?: number;
  /** Truncation strategy of over-long texts (default: the one the model was trained with, else `head`); a ready `victim` keeps its own. */
  truncation?: TruncationStrategy;
  batchSize?: number;
  seed?: number;
  /** Per-example records kept per attack (default 50). */
  keepExamples?: number;
  /** Results file to write (atomically, validated). */
  out?: string;
  force?: boolean;
  backend?: string;
  /** wasm kernel threads, 1 or 2 (`--threads`; default `PARRY_THREADS`, else 2 for hidden size >= 512 on 2+ cores unless sharded, else 1). */
  threads?: number;
  offline?: boolean;
  forceDownload?: boolean;
  command?: readonly string[];
  /** The run's name in results and reports (`--name`; default: the report names it after the model folder). */
  runName?: string;
  /** Called after each example of each attack. */
  onAttackExample?: (attack: string, status: 'successful' | 'failed' | 'skipped', done: number, total: number) => void;
  /** Attack only shard `index` of `count` (`--shard i/N`, see `shardBlock`; clean metrics stay on every example); merge with `mergeResults`. */
  shard?: ShardSpec;
  /**
   * Keep a per-example record journal next to `out` (`<out>.records.jsonl`) and continue from it: a run killed at any
   * point and started again with the same options attacks only the examples it had not finished (`--resume`).
   */
  resume?: boolean;
}

export interface EvaluateTextOutcome {
  results: Results;
  split: TextSplitName;
  /** The data set file or folder evaluated. */
  source: string;
  n: number;
  /** Absent for a black-box victim. */
  clean?: TextCleanMetrics;
  thresholds?: number[];
  attacks: Array<{ summary: TextAttackSummary; entry: TextAttackEntry }>;
  /** Texts of the split cut by the token limit (absent for a black-box victim). */
  truncation?: TruncationSection;
}

/** The data spec of an evaluation: the given data, or the model's training data with the given dev/test files. */
function evalSpec(o: EvaluateTextOptions, info: Partial<TrainingInfo>): TextDataSpec {
  if (o.data) return { ...(o as TextDataSpec) };
  if (!info.data) {
    const given = o.dev ? '--dev' : o.test ? '--test' : undefined;
    throw new UsageError(`--data is needed${given ? ` with ${given}` : ''}: ${o.model} has no ${TRAINING_FILE} naming its data`);
  }
  for (const k of ['format', 'textColumn', 'pairColumn', 'labelColumn', 'labelNames'] as const) {
    if (o[k] !== undefined && o[k] !== info.data[k]) {
      const flag = { format: '--data-format', textColumn: '--text-column', pairColumn: '--pair-column', labelColumn: '--label-column', labelNames: '--label-names' }[k];
      throw new UsageError(`${flag} applies with --data; without it ${o.model} is evaluated on its training data's columns (pass --data too)`);
    }
  }
  return { ...info.data, ...(o.dev ? { dev: o.dev } : {}), ...(o.test ? { test: o.test } : {}) };
}

/**
 * Evaluate a text model on a split: clean metrics (multi-label: with the thresholds tuned at training), then every
 * text attack in `attacks` on the same examples. Writes `out` when given, atomically, after everything ran.
 */
export async function evaluateTextModel(o: EvaluateTextOptions): Promise<EvaluateTextOutcome> {
  const { log } = hooksOf(o);
  const split = o.split ?? 'dev';
  if (o.dev && split !== 'dev') throw new UsageError(`--dev ${o.dev} is the dev file, but --split is ${split}; drop --dev or use --split dev`);
  if (o.test && split !== 'test') throw new UsageError(`--test ${o.test} is the test file, but --split is ${split}; pass --split test to evaluate it`);
  if (o.limit !== undefined && !(Number.isInteger(o.limit) && o.limit > 0)) throw new UsageError(`--limit must be a positive integer, got ${o.limit}`);
  const runName = checkRunName(o.runName);
  const attacksGiven = o.attacks ?? [];
  const protect = [{ path: fs.existsSync(o.model) ? o.model : undefined, flag: '--model' }, { path: o.data, flag: '--data' }, { path: o.dev, flag: '--dev' }, { path: o.test, flag: '--test' }];
  if (o.out) guardOutput(o.out, { kind: 'results', force: o.force, protect });
  const goal = typeof o.goal === 'string' ? parseGoal(o.goal, '--goal') : o.goal;
  if (goal && !attacksGiven.length) throw new UsageError('--goal applies to attacks; add --attack <recipe> (see `parry list`)');
  if (o.queryBudget !== undefined && !attacksGiven.length) throw new UsageError('--query-budget applies to attacks; add --attack <recipe>');
  if (o.wordVectors !== undefined && !attacksGiven.length) throw new UsageError('--word-vectors applies to attacks; add --attack <recipe>');
  if (o.sentenceEncoder !== undefined && !attacksGiven.length) throw new UsageError('--sentence-encoder applies to attacks; add --attack <recipe> (e.g. textfooler)');
  if (o.sentenceEncoder !== undefined && !(fs.existsSync(o.sentenceEncoder) && fs.statSync(o.sentenceEncoder).isDirectory())) {
    throw new InputError(`--sentence-encoder ${o.sentenceEncoder}: no such folder; give an encoder folder (config.json, model.safetensors, tokenizer files) or an ONNX sentence-embedding folder (onnx/model.onnx)`);
  }
  if (o.maskedLm !== undefined && !attacksGiven.length) throw new UsageError('--masked-lm applies to attacks; add --attack bae or --attack bert-attack');
  const { registry, defaults } = await openRegistry(o);
  const attackNames = resolveNames(registry, attacksGiven, 'attack', '--attack');
  const options = resolveOptions(registry, o.attackOptions, 'attack');
  for (const [k, v] of Object.entries(attackOptionsFromPairs(registry, attackNames, o.optionPairs))) options.set(k, { ...(options.get(k) ?? {}), ...v });
  for (const name of attackNames) {
    const info = registry.info('attack').find((p) => p.name === name);
    if (info?.modality !== 'text') throw new UsageError(`--attack ${name} attacks image models; text models take text attacks (see \`parry list\`)`);
    if (!o.maskedLm && info.facts.needs?.split(', ').includes('masked-lm')) {
      throw new UsageError(`--attack ${name} needs a masked language model: pass --masked-lm <folder> (a masked-LM folder, e.g. bert-base-uncased or one written by parry pretrain)`);
    }
  }
  const info = readTrainingInfo(o.model, { withData: !o.data });
  const spec = evalSpec(o, info);
  const truncation = o.truncation !== undefined ? parseTruncation(o.truncation, '--truncation') : (info.truncation ?? 'head');
  const ds = await loadTextSplit(spec, split);
  const limit = o.limit ?? (attackNames.length ? 100 : undefined);
  const limited: TextDataset = limit ? { ...ds, examples: ds.examples.slice(0, limit) } : ds;
  // a black-box victim runs outside tfjs: no workload, the default thread count
  const hiddenSize = o.victim ? undefined : await textModelHiddenSize(o.model, {}, hubOptions({ ...o, log: o.log }));
  const workload = hiddenSize === undefined ? undefined : { hiddenSize, sharded: o.shard !== undefined };
  const backend = await setupBackend(o.backend, { threads: o.threads, workload });
  // a Hub model was downloaded (again, with --force-download) just above: load it from the cache
  const pre = o.victim ? undefined : await loadPretrained(o.model, hubOptions({ ...o, forceDownload: false, log: o.log }));
  try {
    if (pre && !pre.tokenizer) throw new InputError(`${o.model} has no tokenizer files (tokenizer.json or vocab.txt)`);
    const maxLength = o.maxLength ?? info.maxLength ?? (pre ? Math.min(pre.config.maxPositions, 512) : undefined);
    const n = limited.examples.length;
    if (o.shard) checkShard(o.shard);
    if (o.resume && !o.out) throw new UsageError('--resume keeps its record journal next to the results file; give --out');
    const range = o.shard ? shardBlock(o.shard, n, 1) : undefined;
    const part = o.shard && range ? `, shard ${o.shard.index}/${o.shard.count}: attacking examples ${range.start}..${range.end - 1}` : '';
    log(`evaluating ${o.model} on ${n} ${split} examples of ${ds.name} (${ds.source}), backend ${describeBackend(backend)}${part}`);
    const journal =
      o.resume && o.out
        ? openJournal(o.out, { model: o.model, data: spec, split, n, seed: o.seed ?? 0, attacks: attackNames, options: Object.fromEntries(options), goal: goal ?? null, queryBudget: o.queryBudget ?? null, wordVectors: o.wordVectors ?? null, ...(o.sentenceEncoder ? { sentenceEncoder: o.sentenceEncoder } : {}), ...(o.maskedLm ? { maskedLm: o.maskedLm } : {}), maxLength: maxLength ?? null, truncation, shard: o.shard ?? null, blackBox: o.victim?.name ?? null, runtime: o.runtime ?? 'tfjs' }, { force: o.force, resume: true })
        : undefined;
    if (journal?.resumed.records) log(`resuming: ${journal.resumed.records} finished examples read from ${journal.file}${journal.resumed.dropped ? ` (${journal.resumed.dropped} cut or damaged lines dropped)` : ''}`);
    const run = await textRobustness(pre ? { model: pre.model, tokenizer: pre.tokenizer! } : undefined, limited, {
      ...o,
      registry,
      defaults,
      attacks: attackNames,
      attackOptions: Object.fromEntries(options),
      goal,
      maxLength,
      truncation,
      thresholds: info.thresholds,
      name: o.model,
      splitName: split,
      range,
      journal,
    }).finally(() => journal?.close());
    const { victim, clean, attacks } = run;
    const data = {
      ...resultsHeader('eval', o.command, o.seed ?? 0),
      // sha256: all n examples (also in a shard) and the Parry encoder's weights as loaded (none for a black-box victim)
      dataset: { name: ds.name, source: ds.source, split, n, sha256: textDataSha256(limited.examples) },
      model: {
        ...(pre
          ? textModelInfo(pre.model, { name: o.victim ? victim.name : encoderName(pre.model), path: o.model, maxLength, family: pre.model.family })
          : textModelInfo(victim, { name: victim.name, path: o.model })),
        ...(runName ? { runName } : {}),
        ...(pre ? { sha256: textModelSha256(pre.model) } : {}),
      },
      ...(clean ? textCleanSection(n, clean) : {}),
      attacks: attacks.map((a) => a.entry),
      ...(run.truncation ? { truncation: run.truncation } : {}),
      ...(o.shard && range ? { shard: { ...o.shard, total: n, ...range, unit: 1, attacks: attacks.map((a) => textShardValues(a.records)) } } : {}),
    };
    const results = o.out ? writeResults(o.out, data) : validateResults(data, 'results');
    journal?.remove(); // the results file holds every record now
    return { results, split, source: ds.source, n, clean, thresholds: info.thresholds, attacks, truncation: run.truncation };
  } finally {
    pre?.model.dispose();
  }
}

export interface TextRobustnessOptions extends RunHooks {
  registry: Registry;
  /** Config defaults per full plugin name, under `attackOptions`. */
  defaults?: OptionsByPlugin;
  /** Full names of registered text attacks. */
  attacks: readonly string[];
  /** Options per full attack name. */
  attackOptions?: OptionsByPlugin;
  goal?: GoalSpec;
  queryBudget?: number;
  wordVectors?: string;
  /** The sentence encoder of the sentence-similarity constraint: a folder (loaded once for all the attacks, released at the end) or a loaded encoder (the caller keeps it). */
  sentenceEncoder?: string | SentenceEncoder;
  /** A masked-LM folder for the recipes that need one (`bae`, `bert-attack`). */
  maskedLm?: string;
  seed?: number;
  keepExamples?: number;
  /** Multi-label decision thresholds (default 0.5). */
  thresholds?: number[];
  /** Tokens per input (default: the model's positions, at most 512). */
  maxLength?: number;
  /** Which tokens of an over-long text the Parry encoder sees (default `head`). */
  truncation?: TruncationStrategy;
  batchSize?: number;
  /** A ready victim (black-box) instead of the Parry encoder; then no clean metrics are measured. */
  victim?: TextVictim;
  /**
   * Where the Parry encoder's forward passes run (`--runtime`): `tfjs` (default) or `onnx` (the model exported in-process
   * and scored on ONNX Runtime: clean metrics and every attack query; gradients stay in tfjs).
   */
  runtime?: 'tfjs' | 'onnx';
  /** The victim's name in logs and results. */
  name?: string;
  /** For log lines. */
  splitName?: string;
  /** Attack only examples `[start, end)` (a shard's block); clean metrics are still measured on every example. */
  range?: { start: number; end: number };
  /** The record journal of a resumable run (`openJournal`): finished examples are read from it, new ones appended. */
  journal?: Journal;
  onAttackExample?: (attack: string, status: 'successful' | 'failed' | 'skipped', done: number, total: number) => void;
}

/**
 * Clean metrics of a Parry text model on every example of `ds`, then every text attack on the same examples: the
 * text part of a results file.
 */
export async function textRobustness(
  encoder: { model: TransformerClassifier; tokenizer: TextTokenizer } | undefined,
  ds: TextDataset,
  o: TextRobustnessOptions,
): Promise<{ victim: TextVictim; clean?: TextCleanMetrics; attacks: Array<{ summary: TextAttackSummary; entry: TextAttackEntry; records: TextAttackRecord[] }>; truncation?: TruncationSection }> {
  const { log, progress } = hooksOf(o);
  if (!encoder && !o.victim) throw new UsageError('textRobustness needs a Parry encoder or a victim');
  const maxLength = o.maxLength ?? (encoder ? Math.min(encoder.model.config.maxPositions, 512) : undefined);
  const n = ds.examples.length;
  const truncation = parseTruncation(o.truncation ?? 'head', 'truncation');
  let clean: TextCleanMetrics | undefined;
  let cut: TruncationSection | undefined;
  const runtime = o.runtime ?? 'tfjs';
  if (runtime !== 'tfjs' && runtime !== 'onnx') throw new UsageError(`--runtime must be tfjs or onnx, got ${JSON.stringify(runtime)}`);
  if (runtime === 'onnx' && !encoder) throw new UsageError('--runtime onnx scores a Parry model; a ready (black-box) victim runs on its own runtime');
  const scorer = runtime === 'onnx' && encoder ? await onnxClassifier(encoder.model) : undefined;
  if (scorer) log('forward passes on ONNX Runtime (the model exported in-process); gradients in tfjs');
  let sentenceEncoder: OpenedSentenceEncoder | undefined;
  try {
    // loaded before the clean metrics, so a folder it cannot read fails the run at once
    if (typeof o.sentenceEncoder === 'string' && o.attacks.length) {
      sentenceEncoder = await openSentenceEncoder(o.sentenceEncoder);
      log(`sentence encoder: ${sentenceEncoder.name}`);
    }
    if (encoder) {
      const set = encodeDataset(ds, encoder.tokenizer, maxLength!, { truncation });
      cut = truncationSection(truncation, maxLength!, [countTruncation(ds.examples, encoder.tokenizer, maxLength!, truncation, o.splitName ?? 'eval')]);
      const probs = scorer ? await scorer.predict(set.encodings, encoder.tokenizer.padId) : await predictText(encoder.model, set.encodings, encoder.tokenizer.padId);
      clean = textCleanMetrics(probs, set.labels, encoder.model, o.thresholds);
    }
    const victim = o.victim ?? parryVictim(encoder!.model, encoder!.tokenizer, { maxLength, truncation, batchSize: o.batchSize ?? 32, name: o.name ?? encoder!.model.family, scorer });
    if (o.attacks.length && ds.examples.some((e) => e.pair !== undefined)) throw new UsageError(`--data ${ds.source}: text-pair data sets cannot be attacked yet; use single texts`);
    if (o.attacks.length && victim.labelNames.length !== ds.labelNames.length) {
      throw new InputError(`${victim.name} has ${victim.labelNames.length} labels but ${ds.source} has ${ds.labelNames.length}; attack it with its own data`);
    }
    const { start, end } = o.range ?? { start: 0, end: n };
    if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= n)) throw new UsageError(`range ${start}..${end} is not a block of the ${n} examples`);
    const examples: TextAttackExample[] = ds.examples.slice(start, end).map((e) => ({ text: e.text, label: e.label, labels: e.labels }));
    const attacks: Array<{ summary: TextAttackSummary; entry: TextAttackEntry; records: TextAttackRecord[] }> = [];
    for (const name of o.attacks) {
      log(`${name} on ${examples.length}${o.splitName ? ` ${o.splitName}` : ''} examples against ${victim.name}`);
      const bar = progress(name, examples.length);
      const tally = { successful: 0, failed: 0, skipped: 0 };
      const k = attacks.length;
      const finished = new Map([...(o.journal?.done(k) ?? [])].filter(([i]) => i >= start && i < end).map(([i, rec]) => [i - start, rec]));
      const q0 = victim.queries;
      if (finished.size) log(`${name}: ${finished.size} of ${examples.length} examples finished before, attacking the other ${examples.length - finished.size}`);
      const r = await attackText({
        registry: o.registry,
        attack: name,
        attackOptions: { ...(o.defaults?.[name] ?? {}), ...(o.attackOptions?.[name] ?? {}) },
        goal: o.goal,
        victim,
        examples,
        labelNames: ds.labelNames,
        queryBudget: o.queryBudget,
        seed: o.seed ?? 0,
        wordVectors: o.wordVectors,
        sentenceEncoder: sentenceEncoder ?? (typeof o.sentenceEncoder === 'string' ? undefined : o.sentenceEncoder),
        maskedLm: o.maskedLm,
        keepExamples: o.keepExamples,
        offset: start,
        done: finished,
        onExample: (rec, done, total) => {
          o.journal?.append(k, rec);
          tally[rec.status] += 1;
          bar.update(done, `${tally.successful} successful, ${tally.failed} failed, ${tally.skipped} skipped`);
          o.onAttackExample?.(name, rec.status, done, total);
        },
      });
      bar.stop();
      if (o.journal) log(`${name}: ${victim.queries - q0} queries sent by this process`);
      attacks.push({ summary: r.summary, entry: r.entry, records: r.records });
    }
    return { victim, clean, attacks, truncation: cut };
  } finally {
    await sentenceEncoder?.dispose();
    await scorer?.dispose();
  }
}

/** What a shard keeps per text attack beyond its compact records: the per-example counts they leave out (see `mergeResults`). */
export function textShardValues(records: readonly TextAttackRecord[]) {
  return {
    records: records.map((r) => ({
      words: r.words,
      ...(r.visibleWords !== undefined ? { visibleWords: r.visibleWords } : {}),
      ...(r.visibleTailWords !== undefined ? { visibleTailWords: r.visibleTailWords } : {}),
      gradientCalls: r.gradientCalls,
      ...(r.reason === 'budget' ? { budget: true as const } : {}),
    })),
  };
}
