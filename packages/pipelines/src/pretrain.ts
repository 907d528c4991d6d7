/**
 * Masked-language-model pre-training from scratch (`parry pretrain`): BERT's MLM objective (Devlin et al. 2019) with
 * RoBERTa's dynamic masking (Liu et al. 2019) on the text a user has, writing a Hugging Face `*ForMaskedLM` folder that
 * `parry train --model <folder>` fine-tunes and the BAE / BERT-Attack recipes query.
 *
 * - Corpus: one or more sources: a plain-text file (one document per line), a csv/tsv/jsonl file (its text column),
 *   or a dataset folder whose *training* split is read (SST-2, GoEmotions, AG News; their dev/test splits never).
 *   A document longer than `maxLength` is cut into consecutive pieces of `maxLength - 2` tokens, each its own row.
 * - Held-out text: `dev` (a file), or the last `devFraction` of each source's documents (default 5%), never trained on.
 *   Its masks are drawn once (fixed seed), so every evaluation scores the same masked tokens.
 * - Vocabulary: WordPiece built from the training documents (`buildWordPieceVocab`), lower-cased.
 * - Masking: 15% of the tokens, 80/10/10 (`maskTokens`), a fresh draw for every batch of every epoch; optionally whole
 *   words. Loss: cross-entropy over the selected positions only (the head runs on those rows only).
 * - Optimisation: AdamW (no decay on biases and LayerNorm), linear warm-up then linear decay to 0 over the run's
 *   steps, global gradient-norm clipping, gradient accumulation over micro-batches (the step equals the full batch's:
 *   each micro-batch's summed loss is divided by the batch's masked-token count).
 * - Checkpoints (`<checkpointDir>/step-NNNNNNNN/`, atomic) every `checkpointEvery` steps and at the end of each epoch;
 *   `resume` continues from the newest one and ends with the weights of an uninterrupted run: batch order, masks and
 *   dropout are functions of (seed, step), not of a stream that a restart would reset.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { createRng, describeBackend, guardOutput, InputError, type ModelFamily, readOutputManifest, type TextTokenizer, UsageError } from '@parry/core';
import { loadGoEmotions, loadSst2, loadTextCorpus, loadTextFile } from '@parry/datasets';
import { clipByGlobalNorm, createOptimizer, epochSeed, listCheckpoints, microBatches, readCheckpoint, warmupLinearRate, writeCheckpoint } from '@parry/defenses';
import {
  bucketedBatches,
  buildWordPieceVocab,
  createMaskedLm,
  type EncoderConfig,
  type HubOptions,
  IGNORE_INDEX,
  loadMaskedLm,
  parseHfConfig,
  resolveModelSource,
  usablePositions,
  lengthSortedBatches,
  maskedLmHfConfig,
  type MaskedLm,
  type MaskingVocabulary,
  maskingVocabulary,
  maskTokens,
  MODEL_FAMILIES,
  padBatch,
  saveMaskedLm,
  smallConfig,
  wordPieceTokenizer,
} from '@parry/text';
import { hooksOf, type RunHooks, setupBackend } from './run.js';
import { hubOptions } from './text.js';

/** The file `parry pretrain` writes next to the model: the corpus, the settings and the held-out results. */
export const PRETRAINING_FILE = 'parry_pretraining.json';

export interface PretrainOptions extends RunHooks {
  /** Corpus sources: plain-text files (one document per line), csv/tsv/jsonl files, or SST-2 / GoEmotions / AG News folders (training split). */
  sources: readonly string[];
  /** Held-out file (same layouts as a source); default: the last `devFraction` of each source. */
  dev?: string;
  /** Share of each source's documents held out when no `dev` is given (default 0.05). */
  devFraction?: number;
  /** csv/tsv/jsonl sources: column (header name or 0-based index) or JSON key of the text (default `text`). */
  textColumn?: string;
  /**
   * Continue pre-training this masked LM (a folder `parry pretrain` or `saveMaskedLm` wrote, any Hugging Face
   * `*ForMaskedLM` folder, or a Hub id such as `bert-base-uncased`) instead of starting from random weights: its
   * architecture, weights and tokenizer are kept (domain- or task-adaptive pre-training, Gururangan et al. 2020), the
   * optimizer starts afresh. The architecture and vocabulary options must then be left out; `dropout` may be given.
   */
  init?: string;
  /** `init` given as a Hub id: never download (the cache only) / download again. */
  offline?: boolean;
  forceDownload?: boolean;
  /** Model family (default `bert`; with `init`, the checkpoint's). */
  model?: ModelFamily;
  /** Most WordPiece entries (default 8000). */
  vocabSize?: number;
  hidden?: number;
  layers?: number;
  heads?: number;
  intermediate?: number;
  dropout?: number;
  /** Tokens per row, special tokens included (default 128; with `init`, at most what its position table holds). */
  maxLength?: number;
  /** Passes over the corpus (default 1). */
  epochs?: number;
  /** Stop after this many optimizer steps (the schedule spans them); default: every step of `epochs`. */
  maxSteps?: number;
  batchSize?: number;
  /** Micro-batches per optimizer step (default 1). */
  gradAccum?: number;
  /** Peak learning rate (default 5e-4). */
  lr?: number;
  /** Fraction of the steps of linear warm-up (default 0.06). */
  warmup?: number;
  weightDecay?: number;
  /** Clip the global gradient norm (default 1; 0 = off). */
  maxGradNorm?: number;
  /** Share of tokens selected for prediction (default 0.15). */
  maskProbability?: number;
  wholeWordMasking?: boolean;
  seed?: number;
  /** Default `<out>.checkpoints`. */
  checkpointDir?: string;
  /** Checkpoint (and evaluate on the held-out text) every this many steps, besides each epoch's end (default 1000; 0 = epochs only). */
  checkpointEvery?: number;
  /** Keep the newest k checkpoints (default 2; 0 = all). */
  keepCheckpoints?: number;
  resume?: boolean;
  /** The masked-LM folder to write. */
  out: string;
  /** Replace `out` even when it is not a folder `parry pretrain` wrote. */
  force?: boolean;
  backend?: string;
  /** wasm kernel threads, 1 or 2 (`--threads`; default `PARRY_THREADS`, else 2 for hidden size >= 512 on 2+ cores, else 1). */
  threads?: number;
  evalBatchSize?: number;
  command?: readonly string[];
  /** After every optimizer step. */
  onStep?: (info: PretrainStepInfo) => void;
}

export interface PretrainStepInfo {
  step: number;
  totalSteps: number;
  epoch: number;
  /** Non-padding tokens of the rows trained on so far. */
  tokensSeen: number;
  loss: number;
  /** Share of this step's masked tokens whose argmax was the original token. */
  accuracy: number;
  learningRate: number;
}

export interface HeldOutMetrics {
  /** Mean cross-entropy over the masked tokens. */
  loss: number;
  /** Masked-token accuracy (argmax = original token). */
  accuracy: number;
  /** Masked tokens scored. */
  masked: number;
}

/** One entry of the run's history: the interval since the previous checkpoint. */
export interface PretrainRecord {
  step: number;
  epoch: number;
  tokensSeen: number;
  /** Mean training loss and masked-token accuracy of the interval's steps (weighted by masked tokens). */
  loss: number;
  accuracy: number;
  dev: HeldOutMetrics;
  /** Wall seconds of the interval's training steps. */
  seconds: number;
}

export interface PretrainOutcome {
  steps: number;
  tokensSeen: number;
  maskedSeen: number;
  /** Wall seconds of training (this process and the runs it resumed). */
  trainSeconds: number;
  dev: HeldOutMetrics;
  history: PretrainRecord[];
  /** Steps done before this process started (0 for a fresh run). */
  resumedFrom: number;
  vocabSize: number;
  trainRows: number;
  devRows: number;
  documents: { train: number; dev: number };
  hyperparameters: Record<string, unknown>;
  /** With `init`: where the weights came from and its held-out masked-token metrics before this run trained it. */
  init?: InitInfo;
}

export interface InitInfo {
  source: string;
  /** The local folder it was read from (the Hub cache snapshot for a Hub id). */
  dir: string;
  /** sha256 of its `model.safetensors`. */
  sha256: string;
  /** Held-out metrics of the checkpoint as loaded, on the same masked tokens as every later evaluation. */
  heldOutBefore: HeldOutMetrics;
}

interface RunState {
  configKey: string;
  step: number;
  tokensSeen: number;
  maskedSeen: number;
  trainSeconds: number;
  history: PretrainRecord[];
  /** With `init`: the held-out metrics before the first step (kept across a resume). */
  initialDev?: HeldOutMetrics;
  /** Running sums of the interval since the last checkpoint (empty at a checkpoint). */
  interval: { lossSum: number; correct: number; masked: number; seconds: number };
}

/** The documents of one source, read from a file or a dataset folder's training split. */
function readSource(src: string, textColumn: string | undefined, flag: string): string[] {
  if (!fs.existsSync(src)) throw new InputError(`${flag} ${src} not found; give a text file (one document per line), a csv/tsv/jsonl file or an SST-2 / GoEmotions / AG News folder`);
  if (fs.statSync(src).isDirectory()) {
    const has = (f: string) => fs.existsSync(path.join(src, f));
    if (has('labels.txt') && has('train.tsv')) return loadGoEmotions(src, 'train').examples.map((e) => e.text);
    if (has('stsa.binary.train') || has('train.tsv')) return loadSst2(src, 'train').examples.map((e) => e.text);
    const agTrain = has('classes.txt') ? fs.readdirSync(src).filter((f) => /^train.*\.csv$/.test(f)).sort() : [];
    if (agTrain.length) {
      // AG News: "class","title","description"; the description marks its line breaks with a backslash
      return agTrain.flatMap((f) =>
        loadTextFile(path.join(src, f), { format: 'csv', header: false, textColumn: 2, pairColumn: 1, labelColumn: 0, labelBase: 1 }).examples.map((e) => `${e.pair} ${e.text}`.replace(/\\/g, ' ')),
      );
    }
    throw new InputError(`${flag} ${src} is a folder but not SST-2 (stsa.binary.train / train.tsv), GoEmotions (labels.txt + train.tsv) or AG News (classes.txt + train*.csv); give text files instead`);
  }
  const column = textColumn === undefined ? undefined : /^\d+$/.test(textColumn) ? Number(textColumn) : textColumn;
  return loadTextCorpus(src, { textColumn: column, textColumnName: '--text-column' }).texts;
}

/**
 * Token rows of documents: each document's WordPiece ids cut into pieces of at most `maxLength - 2`, each wrapped in
 * [CLS] ... [SEP]. Returns the rows and the number of documents that gave at least one.
 */
export function documentRows(texts: readonly string[], tokenizer: TextTokenizer, maxLength: number): number[][] {
  const rows: number[][] = [];
  const piece = maxLength - 2;
  for (const text of texts) {
    const ids = tokenizer.encode(text).ids;
    const body = ids[0] === tokenizer.clsId && ids.at(-1) === tokenizer.sepId ? ids.slice(1, -1) : ids;
    for (let i = 0; i < body.length; i += piece) rows.push([tokenizer.clsId, ...body.slice(i, i + piece), tokenizer.sepId]);
  }
  return rows;
}

/**
 * Mean cross-entropy of `logits` `[N, V]` against `labels` (length N), over the rows whose label is not
 * {@link IGNORE_INDEX} only (torch's `CrossEntropyLoss(ignore_index=-100)`); 0 when every row is ignored.
 */
export function maskedCrossEntropy(logits: tf.Tensor2D, labels: readonly number[]): tf.Scalar {
  if (labels.length !== logits.shape[0]) throw new UsageError(`maskedCrossEntropy: ${labels.length} labels for ${logits.shape[0]} rows`);
  const rows = labels.flatMap((l, i) => (l === IGNORE_INDEX ? [] : [i]));
  return tf.tidy(() => {
    if (rows.length === 0) return tf.scalar(0);
    const picked = tf.gather(logits, tf.tensor1d(rows, 'int32'));
    return tf.div(crossEntropySum(picked as tf.Tensor2D, rows.map((i) => labels[i])), rows.length) as tf.Scalar;
  });
}

/** Summed cross-entropy of rows `[N, V]` against their (valid) labels. */
function crossEntropySum(logits: tf.Tensor2D, labels: readonly number[]): tf.Scalar {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits, 1);
    const target = tf.oneHot(tf.tensor1d(labels as number[], 'int32'), logits.shape[1]);
    return tf.neg(tf.sum(tf.mul(logp, target))) as tf.Scalar;
  });
}

/**
 * The MLM terms of one padded batch: summed cross-entropy and correct argmax count over the positions whose label is
 * not {@link IGNORE_INDEX} (`labels` flat `[B * T]`), the masked-LM head run on those positions only.
 */
export function maskedLmTerms(
  model: MaskedLm,
  batch: Parameters<MaskedLm['mlmLogitsAt']>[0],
  labels: readonly number[],
  forward: { training?: boolean; seed?: number } = {},
): { lossSum: tf.Scalar; correct: tf.Scalar; count: number } {
  const positions = labels.flatMap((l, i) => (l === IGNORE_INDEX ? [] : [i]));
  const targets = positions.map((p) => labels[p]);
  return tf.tidy(() => {
    if (positions.length === 0) return { lossSum: tf.scalar(0), correct: tf.scalar(0), count: 0 };
    const logits = model.mlmLogitsAt(batch, positions, forward);
    const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.tensor1d(targets, 'int32')), 'float32')) as tf.Scalar;
    return { lossSum: crossEntropySum(logits, targets), correct, count: positions.length };
  });
}

/** Rows padded as a batch, with their labels laid out flat `[B * T]` in the same padding. */
function paddedBatch(inputIds: readonly number[][], labels: readonly number[][], padId: number) {
  const encodings = inputIds.map((ids) => ({ ids: ids as number[], typeIds: new Array<number>(ids.length).fill(0) }));
  const batch = padBatch(encodings, encodings.map((_, i) => i), padId, 8);
  const T = batch.inputIds.shape[1];
  const flat = new Array<number>(inputIds.length * T).fill(IGNORE_INDEX);
  labels.forEach((row, r) => row.forEach((l, t) => (flat[r * T + t] = l)));
  return { batch, labels: flat };
}

/** Held-out masked-token loss and accuracy (no dropout) over rows masked once. */
export async function heldOutMetrics(model: MaskedLm, masked: { inputIds: number[][]; labels: number[][] }, padId: number, batchSize = 64): Promise<HeldOutMetrics> {
  let lossSum = 0;
  let correct = 0;
  let count = 0;
  for (const idx of lengthSortedBatches(masked.inputIds.map((r) => r.length), batchSize)) {
    const { batch, labels } = paddedBatch(idx.map((i) => masked.inputIds[i]), idx.map((i) => masked.labels[i]), padId);
    try {
      const t = maskedLmTerms(model, batch, labels);
      const [l, c] = await Promise.all([t.lossSum.data(), t.correct.data()]);
      tf.dispose([t.lossSum, t.correct]);
      lossSum += l[0];
      correct += c[0];
      count += t.count;
    } finally {
      tf.dispose([batch.inputIds, batch.attentionMask, ...(batch.tokenTypeIds ? [batch.tokenTypeIds] : [])]);
    }
  }
  return { loss: count ? lossSum / count : 0, accuracy: count ? correct / count : 0, masked: count };
}

const sha256 = (parts: readonly string[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\n');
  return h.digest('hex');
};

/** sha256 of a file, read in pieces (a base-size checkpoint is ~440 MB). */
function fileSha256(file: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(8 << 20);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/**
 * The config of the model `--init` names (a Hub id is downloaded here, so the loader finds it in the cache), checked
 * against `--model` and `--max-length` before any text is read. Undefined when config.json cannot be read: the
 * loader then names the problem.
 */
async function initialConfig(source: string, hub: HubOptions, o: { family?: ModelFamily; maxLength?: number }): Promise<EncoderConfig | undefined> {
  const file = path.join((await resolveModelSource(source, hub)).dir, 'config.json');
  let c: EncoderConfig;
  try {
    c = parseHfConfig(JSON.parse(fs.readFileSync(file, 'utf8')), file);
  } catch {
    return undefined;
  }
  if (o.family && o.family !== c.family) throw new UsageError(`--model ${o.family} does not match --init ${source}, a ${c.family} masked LM; drop --model`);
  const positions = usablePositions(c);
  if (o.maxLength !== undefined && o.maxLength > positions) {
    throw new UsageError(`--max-length ${o.maxLength} is longer than --init ${source} can read (${positions} positions); use --max-length ${positions} or less`);
  }
  return c;
}

/**
 * The masked LM `--init` names, ready to train on: its weights (with `dropout` replacing the checkpoint's rates when
 * given), tokenizer and the row length (`maxLength`, checked against its position table; default 128 or fewer).
 */
async function initialMaskedLm(
  source: string,
  o: { seed: number; hub: HubOptions; dropout?: number; maxLength?: number },
): Promise<{ model: MaskedLm; tokenizer: TextTokenizer; config: EncoderConfig; dir: string; sha256: string; maxLength: number }> {
  const loaded = await loadMaskedLm(source, { ...o.hub, seed: o.seed });
  let model = loaded.model;
  try {
    const c = loaded.config;
    if (!loaded.tokenizer) throw new InputError(`--init ${source} has no tokenizer files (vocab.txt or tokenizer.json); add the tokenizer the model was pre-trained with to ${loaded.dir}`);
    let config = c;
    if (o.dropout !== undefined) {
      config = { ...c, hiddenDropout: o.dropout, attentionDropout: o.dropout };
      const rebuilt = createMaskedLm(config, { seed: o.seed });
      try {
        rebuilt.loadStateDict(loaded.model.stateDict(), { strict: false, source });
      } catch (e) {
        rebuilt.dispose();
        throw e;
      }
      loaded.model.dispose();
      model = rebuilt;
    }
    const sha256 = fileSha256(path.join(loaded.dir, 'model.safetensors'));
    return { model, tokenizer: loaded.tokenizer, config, dir: loaded.dir, sha256, maxLength: o.maxLength ?? Math.min(128, usablePositions(c)) };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** Whether `dir` is a folder `parry pretrain` wrote (a Parry text-model folder with `parry_pretraining.json`). */
function isPretrainOutput(dir: string): boolean {
  return readOutputManifest(dir)?.kind === 'text-model' && fs.existsSync(path.join(dir, PRETRAINING_FILE));
}

/**
 * Pre-train a masked language model from scratch on a corpus and write it as a Hugging Face folder (`config.json` with
 * the `*ForMaskedLM` architecture, `model.safetensors`, the tokenizer files, {@link PRETRAINING_FILE}); see the module
 * comment. `out` is refused up front when it holds anything but an earlier `parry pretrain` output (unless `force`).
 */
export async function pretrainMaskedLm(o: PretrainOptions): Promise<PretrainOutcome> {
  const { log, progress } = hooksOf(o);
  let family = o.model ?? 'bert';
  if (!(MODEL_FAMILIES as readonly string[]).includes(family)) throw new UsageError(`--model ${family} is not one of ${MODEL_FAMILIES.join(', ')}`);
  if (o.init) {
    const fixed = [['vocabSize', '--vocab-size'], ['hidden', '--hidden'], ['layers', '--layers'], ['heads', '--heads'], ['intermediate', '--intermediate']] as const;
    for (const [key, flag] of fixed) {
      if (o[key] !== undefined) throw new UsageError(`${flag} comes from --init ${o.init} (its config.json and tokenizer); drop ${flag}, or leave out --init to pre-train from scratch`);
    }
  }
  if (!o.sources.length) throw new UsageError('no corpus given: name one or more text files (one document per line), csv/tsv/jsonl files or SST-2 / GoEmotions / AG News folders');
  let maxLength = o.maxLength ?? 128;
  const epochs = o.epochs ?? 1;
  const batchSize = o.batchSize ?? 32;
  const gradAccum = o.gradAccum ?? 1;
  const lr = o.lr ?? 5e-4;
  const warmup = o.warmup ?? 0.06;
  const weightDecay = o.weightDecay ?? 0.01;
  const maxGradNorm = o.maxGradNorm ?? 1;
  const probability = o.maskProbability ?? 0.15;
  const seed = o.seed ?? 0;
  const devFraction = o.devFraction ?? 0.05;
  const checkpointEvery = o.checkpointEvery ?? 1000;
  const keep = o.keepCheckpoints ?? 2;
  const int = (flag: string, v: number, min: number) => {
    if (!(Number.isInteger(v) && v >= min)) throw new UsageError(`${flag} must be an integer >= ${min}, got ${v}`);
  };
  int('--max-length', maxLength, 8);
  int('--epochs', epochs, 1);
  int('--batch-size', batchSize, 1);
  int('--grad-accum', gradAccum, 1);
  int('--checkpoint-every', checkpointEvery, 0);
  int('--keep-checkpoints', keep, 0);
  if (o.maxSteps !== undefined) int('--max-steps', o.maxSteps, 1);
  if (gradAccum > batchSize) throw new UsageError(`--grad-accum ${gradAccum} is more micro-batches than --batch-size ${batchSize}; use at most ${batchSize}`);
  if (!(lr > 0 && Number.isFinite(lr))) throw new UsageError(`--lr must be a number > 0, got ${lr}`);
  if (!(warmup >= 0 && warmup < 1)) throw new UsageError(`--warmup must be in [0, 1), got ${warmup}`);
  if (!(probability > 0 && probability < 1)) throw new UsageError(`--mask-prob must be in (0, 1), got ${probability}`);
  if (!(devFraction > 0 && devFraction < 1)) throw new UsageError(`--dev-fraction must be in (0, 1), got ${devFraction}`);
  if (o.dev && o.devFraction !== undefined) throw new UsageError('--dev and --dev-fraction both give the held-out text; use one of them');

  const out = o.out;
  const checkpointDir = o.checkpointDir ?? `${out.replace(/[\\/]+$/, '')}.checkpoints`;
  const protect = [
    ...o.sources.map((s) => ({ path: s, flag: 'corpus' })),
    { path: o.dev, flag: '--dev' },
    { path: checkpointDir, flag: '--checkpoint-dir' },
    { path: o.init && fs.existsSync(o.init) ? o.init : undefined, flag: '--init' },
  ];
  guardOutput(out, { kind: 'text-model', force: o.force, protect });
  if (!o.force && fs.existsSync(out) && fs.statSync(out).isDirectory() && fs.readdirSync(out).length && !isPretrainOutput(out)) {
    throw new UsageError(`--out ${out} holds a model that parry pretrain did not write; choose another path, or pass --force to replace it`);
  }
  const existing = listCheckpoints(checkpointDir, 'step');
  if (!o.resume && existing.length) {
    throw new UsageError(`--checkpoint-dir ${checkpointDir} holds checkpoints of an earlier run (${path.basename(existing.at(-1)!.path)}); pass --resume to continue it, or another --checkpoint-dir`);
  }

  // --init: its config.json decides the family and the longest row; checked before the corpus is read
  const hub = hubOptions({ offline: o.offline, forceDownload: o.forceDownload, log });
  const initConfig = o.init ? await initialConfig(o.init, hub, { family: o.model, maxLength: o.maxLength }) : undefined;

  // corpus: each source's documents, the last devFraction of each held out unless --dev is given
  const train: string[] = [];
  const dev: string[] = [];
  for (const src of o.sources) {
    const docs = readSource(src, o.textColumn, 'corpus');
    if (o.dev) train.push(...docs);
    else {
      const held = Math.min(docs.length - 1, Math.max(1, Math.round(docs.length * devFraction)));
      if (held < 1) throw new InputError(`${src} has only ${docs.length} document; give more text, or a held-out file with --dev`);
      train.push(...docs.slice(0, docs.length - held));
      dev.push(...docs.slice(docs.length - held));
    }
    log(`corpus: ${src}: ${docs.length} documents`);
  }
  if (o.dev) dev.push(...readSource(o.dev, o.textColumn, '--dev'));

  const backend = await setupBackend(o.backend, { threads: o.threads, workload: { hiddenSize: initConfig?.hiddenSize ?? o.hidden ?? 128 } });
  const start = o.init ? await initialMaskedLm(o.init, { seed, hub, dropout: o.dropout, maxLength: o.maxLength }) : undefined;
  if (start) {
    family = start.config.family;
    maxLength = start.maxLength;
  }
  const vocab = start ? undefined : buildWordPieceVocab(train, { vocabSize: o.vocabSize ?? 8000 });
  const tokenizer = start ? start.tokenizer : wordPieceTokenizer(vocab!, { lowercase: true });
  const trainRows = documentRows(train, tokenizer, maxLength);
  const devRows = documentRows(dev, tokenizer, maxLength);
  if (!trainRows.length || !devRows.length) start?.model.dispose();
  if (!trainRows.length) throw new InputError('the corpus has no tokens to train on; give more text');
  if (!devRows.length) throw new InputError('the held-out text has no tokens; give a larger --dev file or more text');
  const masking: MaskingVocabulary = maskingVocabulary(tokenizer);
  const wholeWord = o.wholeWordMasking ?? false;
  const hidden = start?.config.hiddenSize ?? o.hidden ?? 128;
  const config = start?.config ?? smallConfig(family, {
    vocabSize: tokenizer.vocabSize,
    hiddenSize: hidden,
    numLayers: o.layers ?? 2,
    numHeads: o.heads ?? 2,
    intermediateSize: o.intermediate ?? 4 * hidden,
    hiddenDropout: o.dropout ?? 0.1,
    attentionDropout: o.dropout ?? 0.1,
    padTokenId: tokenizer.padId,
    maxPositions: family === 'roberta' ? maxLength + tokenizer.padId + 1 : maxLength,
  }, { source: 'flags' });

  const stepsPerEpoch = Math.ceil(trainRows.length / batchSize);
  const totalSteps = Math.min(stepsPerEpoch * epochs, o.maxSteps ?? Infinity);
  const warmupSteps = Math.round(warmup * totalSteps);
  const lengths = trainRows.map((r) => r.length);
  const hyperparameters = {
    family, vocabSize: tokenizer.vocabSize, hidden, layers: config.numLayers, heads: config.numHeads, intermediate: config.intermediateSize, dropout: config.hiddenDropout,
    maxLength, epochs, maxSteps: o.maxSteps ?? null, totalSteps, batchSize, gradAccum, learningRate: lr,
    optimizer: { kind: 'adamw', beta1: 0.9, beta2: 0.999, epsilon: 1e-6, weightDecay, noDecay: 'bias, LayerNorm' },
    schedule: { warmupRatio: warmup, warmupSteps, after: 'linear' }, maxGradNorm,
    masking: { probability, maskRate: 0.8, randomRate: 0.1, wholeWord, dynamic: 'a fresh draw per batch and epoch' },
    seed, checkpointEvery,
    ...(o.init ? { init: o.init } : {}),
  };
  const corpusHash = sha256([...train, '\u0000', ...dev]);
  const configKey = JSON.stringify({ ...hyperparameters, corpus: corpusHash, vocab: vocab ? sha256(vocab) : null, ...(start ? { initWeights: start.sha256 } : {}) });
  const c = config;
  log(`${family} masked LM ${start ? `continued from --init ${o.init} (${start.dir})` : 'from scratch'}: ${c.numLayers} layers, hidden ${c.hiddenSize}, ${c.numHeads} heads, intermediate ${c.intermediateSize}, vocab ${c.vocabSize}, max length ${maxLength}; backend ${describeBackend(backend)}`);
  log(`${train.length} training documents (${trainRows.length} rows, ${lengths.reduce((a, b) => a + b, 0)} tokens), ${dev.length} held-out documents (${devRows.length} rows)${o.dev ? ` from ${o.dev}` : `: the last ${(100 * devFraction).toFixed(0)}% of each source`}`);
  log(`${totalSteps} steps of ${batchSize} rows (${stepsPerEpoch} per epoch), warm-up ${warmupSteps}; checkpoints in ${checkpointDir}`);

  // the held-out masks are drawn once, from a seed of their own
  const devMasked = maskTokens(devRows, masking, { seed: epochSeed(seed, -7), probability, wholeWord });
  const model = start?.model ?? createMaskedLm(config, { seed });
  const params = model.parameters();
  const vars = params.map((p) => p.variable);
  const decay = params.map((p) => !(/(^|\.)bias$/.test(p.name) || /LayerNorm|layer_norm/.test(p.name)));
  const optimizer = createOptimizer({ kind: 'adamw', beta1: 0.9, beta2: 0.999, epsilon: 1e-6, weightDecay }, vars, { decay });
  const weights = params.map((p) => [`param/${p.name}`, p.variable] as const);
  const state: RunState = { configKey, step: 0, tokensSeen: 0, maskedSeen: 0, trainSeconds: 0, history: [], interval: { lossSum: 0, correct: 0, masked: 0, seconds: 0 } };
  try {
    let resumedFrom = 0;
    if (o.resume && existing.length) {
      const latest = existing.at(-1)!;
      const expected = Object.fromEntries([...weights.map(([n, v]) => [n, v.shape] as const), ...optimizer.slots().map((s) => [`opt/${s.name}`, s.tensor.shape] as const)]);
      const { meta, tensors } = readCheckpoint<RunState>(latest.path, { expected });
      try {
        if (meta.state.configKey !== configKey) {
          throw new UsageError(`checkpoint ${latest.path} was written with other settings or another corpus; pass the same sources and flags as the interrupted run, or another --checkpoint-dir`);
        }
        for (const [name, v] of weights) v.assign(tensors[name]);
        optimizer.restore(meta.state.step, Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith('opt/')).map(([k, v]) => [k.slice(4), v])));
        Object.assign(state, meta.state);
        resumedFrom = state.step;
      } finally {
        tf.dispose(Object.values(tensors));
      }
      log(`resuming from ${latest.path}: ${resumedFrom} of ${totalSteps} steps done`);
    }
    if (start && !state.initialDev) {
      state.initialDev = await heldOutMetrics(model, devMasked, tokenizer.padId, o.evalBatchSize);
      log(`--init ${o.init} before this run: held-out masked-token accuracy ${(100 * state.initialDev.accuracy).toFixed(2)}% (loss ${state.initialDev.loss.toFixed(4)})`);
    }
    const init: InitInfo | undefined = start && state.initialDev ? { source: o.init!, dir: start.dir, sha256: start.sha256, heldOutBefore: state.initialDev } : undefined;

    const checkpoint = async (epoch: number) => {
      const iv = state.interval;
      const devMetrics = await heldOutMetrics(model, devMasked, tokenizer.padId, o.evalBatchSize);
      state.history.push({ step: state.step, epoch, tokensSeen: state.tokensSeen, loss: iv.masked ? iv.lossSum / iv.masked : 0, accuracy: iv.masked ? iv.correct / iv.masked : 0, dev: devMetrics, seconds: iv.seconds });
      state.interval = { lossSum: 0, correct: 0, masked: 0, seconds: 0 };
      const tensors: Record<string, tf.Tensor> = {};
      for (const [n, v] of weights) tensors[n] = v;
      for (const s of optimizer.slots()) tensors[`opt/${s.name}`] = s.tensor;
      await writeCheckpoint(checkpointDir, state.step, state, tensors, keep, 'step');
      return devMetrics;
    };

    let bar: ReturnType<typeof progress> | undefined;
    let batches: number[][] = [];
    let batchesEpoch = 0;
    const dropSeeds = createRng(epochSeed(seed, -3)).int(2 ** 30);
    while (state.step < totalSteps) {
      const step = state.step;
      const epoch = Math.floor(step / stepsPerEpoch) + 1;
      const k = step % stepsPerEpoch;
      if (batchesEpoch !== epoch) {
        batches = bucketedBatches(lengths, batchSize, createRng(epochSeed(seed, epoch)));
        batchesEpoch = epoch;
        bar?.stop();
        const inEpoch = Math.min(stepsPerEpoch, totalSteps - (epoch - 1) * stepsPerEpoch);
        bar = progress(`epoch ${epoch}`, inEpoch);
        bar.update(k);
      }
      const started = performance.now();
      const indices = batches[k];
      const masked = maskTokens(indices.map((i) => trainRows[i]), masking, { seed: epochSeed(seed, k), epoch: epoch - 1, probability, wholeWord });
      const learningRate = warmupLinearRate(lr, step, totalSteps, warmupSteps, 'linear');
      const tensorsBefore = tf.memory().numTensors;
      let loss = 0;
      let correct = 0;
      if (masked.selected > 0) {
        const parts = microBatches(indices.map((_, r) => r), gradAccum);
        const kept: tf.Tensor[] = [];
        const [lossT, correctT] = tf.tidy(() => {
          let grads: Record<string, tf.Tensor> | undefined;
          let lossSum: tf.Tensor = tf.scalar(0);
          let right: tf.Tensor = tf.scalar(0);
          parts.forEach((part, j) => {
            const { batch, labels } = paddedBatch(part.map((r) => masked.inputIds[r]), part.map((r) => masked.labels[r]), tokenizer.padId);
            if (!labels.some((l) => l !== IGNORE_INDEX)) return;
            const forward = { training: true, seed: epochSeed(dropSeeds, step * gradAccum + j) };
            const { value, grads: g } = tf.variableGrads(() => {
              const t = maskedLmTerms(model, batch, labels, forward);
              kept.push(tf.keep(t.correct));
              return tf.div(t.lossSum, masked.selected) as tf.Scalar;
            }, vars);
            grads = grads ? Object.fromEntries(Object.entries(grads).map(([n, x]) => [n, g[n] ? tf.add(x, g[n]) : x])) : g;
            lossSum = tf.add(lossSum, value);
            right = tf.add(right, kept.at(-1)!);
          });
          const clipped = maxGradNorm > 0 ? clipByGlobalNorm(grads!, maxGradNorm) : grads!;
          optimizer.apply(clipped, learningRate);
          return [lossSum, right];
        });
        tf.dispose(kept);
        loss = (await lossT.data())[0];
        correct = (await correctT.data())[0];
        tf.dispose([lossT, correctT]);
      }
      const leaked = tf.memory().numTensors - tensorsBefore;
      if (leaked > 0 && step > resumedFrom) throw new Error(`pretraining step ${step + 1} left ${leaked} tensors alive (a leak in Parry; please report it)`);
      if (!Number.isFinite(loss)) throw new UsageError(`training loss became ${loss} at step ${step + 1}; lower --lr (now ${lr}) or keep --max-grad-norm on`);
      const tokens = indices.reduce((a, i) => a + trainRows[i].length, 0);
      state.step += 1;
      state.tokensSeen += tokens;
      state.maskedSeen += masked.selected;
      const seconds = (performance.now() - started) / 1000;
      state.trainSeconds += seconds;
      state.interval.lossSum += loss * masked.selected;
      state.interval.correct += correct;
      state.interval.masked += masked.selected;
      state.interval.seconds += seconds;
      const accuracy = masked.selected ? correct / masked.selected : 0;
      o.onStep?.({ step: state.step, totalSteps, epoch, tokensSeen: state.tokensSeen, loss, accuracy, learningRate });
      const iv = state.interval;
      bar!.update(k + 1, `${(state.tokensSeen / 1e6).toFixed(2)}M tokens, loss ${(iv.lossSum / Math.max(1, iv.masked)).toFixed(3)}, masked-token acc ${((100 * iv.correct) / Math.max(1, iv.masked)).toFixed(1)}%`);
      const epochEnd = state.step % stepsPerEpoch === 0 || state.step === totalSteps;
      if (epochEnd || (checkpointEvery > 0 && state.step % checkpointEvery === 0)) {
        const d = await checkpoint(epoch);
        const line = `step ${state.step}/${totalSteps}: ${state.tokensSeen} tokens, loss ${state.history.at(-1)!.loss.toFixed(4)}, held-out masked-token accuracy ${(100 * d.accuracy).toFixed(2)}% (loss ${d.loss.toFixed(4)})`;
        if (epochEnd) {
          bar!.stop(`epoch ${epoch}: ${line}`);
          bar = undefined;
          batchesEpoch = 0;
        } else log(line);
      }
    }
    bar?.stop();

    const last = state.history.at(-1);
    const devMetrics = last && last.step === state.step ? last.dev : await heldOutMetrics(model, devMasked, tokenizer.padId, o.evalBatchSize);
    const outcome: PretrainOutcome = {
      steps: state.step,
      tokensSeen: state.tokensSeen,
      maskedSeen: state.maskedSeen,
      trainSeconds: state.trainSeconds,
      dev: devMetrics,
      history: state.history,
      resumedFrom,
      vocabSize: tokenizer.vocabSize,
      trainRows: trainRows.length,
      devRows: devRows.length,
      documents: { train: train.length, dev: dev.length },
      hyperparameters,
      ...(init ? { init } : {}),
    };
    const info = {
      format: 'parry-pretraining',
      version: 1,
      command: [...(o.command ?? [])],
      corpus: { sources: [...o.sources], dev: o.dev ?? null, devFraction: o.dev ? null : devFraction, textColumn: o.textColumn ?? null, sha256: corpusHash, documents: outcome.documents, rows: { train: trainRows.length, dev: devRows.length } },
      hyperparameters,
      init: init ?? null,
      architecture: maskedLmHfConfig(config).architectures,
      steps: outcome.steps,
      tokensSeen: outcome.tokensSeen,
      maskedTokensSeen: outcome.maskedSeen,
      trainSeconds: Number(outcome.trainSeconds.toFixed(1)),
      heldOut: devMetrics,
      history: state.history,
      createdAt: new Date().toISOString(),
    };
    await saveMaskedLm(out, model, tokenizer, { [PRETRAINING_FILE]: `${JSON.stringify(info, null, 2)}\n` }, { force: o.force, protect });
    return outcome;
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}
