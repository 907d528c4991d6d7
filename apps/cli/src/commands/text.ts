import * as fs from 'node:fs';
import * as path from 'node:path';
import { guardOutput, InputError, readOutputManifest, z, type ModelFamily, type TextTokenizer, UsageError } from '@parry/core';
import { bertBaseUncasedTokenizer, buildWordPieceVocab, createTransformerClassifier, type EncoderConfig, downloadProgressLines, type HubOptions, loadPretrained, MODEL_FAMILIES, parseHfConfig, predictText, savePretrained, smallConfig, type TransformerClassifier, validateConfig, wordPieceTokenizer } from '@parry/text';
import { type TextDataset } from '@parry/datasets';
import { augmentDataset, type EncodedTextSet, positiveWeightsFor, type TextEpochRecord, trainText } from '@parry/defenses';
import { multiLabelMetrics, type MultiLabelMetrics, type Results, singleLabelMetrics, tuneThresholds, validateResults, writeResults } from '@parry/metrics';
import Table from 'cli-table3';
import { log, out, resultsHeader, setupBackend } from '../context.js';
import { pluginRegistry } from '../plugins.js';
import { createProgress } from '../progress.js';
import { encodeDataset, loadTextSplit, type TextDataSpec } from '../text-data.js';
import { createDefenses, pct } from './train.js';

/** Written next to a trained text model: the data it was trained on and the dev-tuned thresholds. */
export const TRAINING_FILE = 'parry_training.json';

/** The Hub flags of a text command: offline, forced re-download, and plain progress lines for big files unless quiet. */
export function hubFlags(o: { offline?: boolean; forceDownload?: boolean; quiet?: boolean }): HubOptions {
  return { offline: o.offline, forceDownload: o.forceDownload, onProgress: o.quiet ? undefined : downloadProgressLines((line) => log(line)) };
}

export interface TextTrainCommandOptions extends TextDataSpec {
  /** A family (`bert`, `electra`, `distilbert`, `roberta`: small config from scratch), a config.json, a model folder or a Hub id. */
  model: string;
  maxLength: number;
  /** True when --max-length was given on the command line (not the default): a value above a checkpoint's positions is then refused, not capped. */
  maxLengthGiven?: boolean;
  /** From scratch: `corpus` (WordPiece vocabulary built from the training texts) or `bert-base-uncased`. */
  vocab: string;
  vocabSize: number;
  hidden?: number;
  layers?: number;
  heads?: number;
  intermediate?: number;
  dropout?: number;
  epochs: number;
  batchSize: number;
  lr: number;
  warmup: number;
  weightDecay: number;
  maxGradNorm: number;
  labelSmoothing?: number;
  earlyStop?: number;
  checkpointDir?: string;
  resume?: boolean;
  /** Replace `out` even when it is not a Parry text model folder holding only Parry's files. */
  force?: boolean;
  seed: number;
  limit?: number;
  out: string;
  backend?: string;
  offline?: boolean;
  /** Download every file of a Hub model again, replacing the cached copies once the new ones are checked. */
  forceDownload?: boolean;
  /** Comma-separated text defenses (`fgm`, `pgd-embed`, `freelb`, `smart`, `r-drop`, or a plugin's). */
  defense?: string;
  /** `--def-opt <defense>.<key>=<value>`, repeatable. */
  defOpt?: string[];
  /** Sets `eps` of every chosen defense that has one (unless `--def-opt` does). */
  eps?: number;
  plugin?: string[];
  /** Multi-label: `auto` (negatives / positives per label, capped at 20) or one weight for every label's positive BCE term. */
  posWeight?: string;
  augment?: 'eda' | 'char';
  numAug?: number;
  augRate?: number;
  json?: boolean;
  quiet?: boolean;
  argv?: string[];
}

export interface TrainingInfo {
  data: TextDataSpec;
  maxLength: number;
  /** Multi-label: per-label thresholds tuned on the dev split. */
  thresholds?: number[];
}

const trainingInfoSchema = z
  .object({
    data: z
      .object({
        data: z.string().min(1),
        format: z.enum(['auto', 'sst2', 'goemotions', 'csv', 'tsv', 'jsonl']).optional(),
        dev: z.string().min(1).optional(),
        textColumn: z.string().optional(),
        pairColumn: z.string().optional(),
        labelColumn: z.string().optional(),
        labelNames: z.string().optional(),
        multiLabel: z.boolean().optional(),
      })
      .strict(),
    maxLength: z.number().int().min(8).max(1_048_576),
    thresholds: z.array(z.number().min(0).max(1)).max(100_000).optional(),
  })
  .strip();

const DATA_FILE = /\.(csv|tsv|tab|jsonl|ndjson|json)$/i;

/**
 * Read a model folder's `parry_training.json` (the data it was trained on, its max length and thresholds), or `{}`
 * when it has none. The data paths in it are used only when the folder is one Parry wrote (its output manifest lists
 * the file) and they name a dataset folder or a data file; a folder from elsewhere cannot make Parry read arbitrary
 * files. A malformed file is one `InputError` line naming it. `withData: false` (the caller has --data) skips the data.
 */
export function readTrainingInfo(dir: string, { withData = true }: { withData?: boolean } = {}): Partial<TrainingInfo> {
  const file = path.join(dir, TRAINING_FILE);
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return {};
  }
  if (!st.isFile()) throw new InputError(`${file} is not a regular file; delete it or pass --data`);
  if (st.size > 1024 * 1024) throw new InputError(`${file} is ${st.size} bytes, too large for a training record; delete it or pass --data`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(`${file} is not valid JSON (${(e as Error).message}); delete it or pass --data`);
  }
  const r = trainingInfoSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new InputError(`${file} is malformed at ${issue.path.join('.') || '(root)'}: ${issue.message}; delete it or pass --data`);
  }
  const info = r.data as TrainingInfo;
  if (!withData) return { ...info, data: undefined };
  const manifest = readOutputManifest(dir);
  const mine = manifest?.kind === 'text-model' && manifest.files.includes(TRAINING_FILE);
  for (const p of [info.data.data, info.data.dev]) {
    if (p === undefined) continue;
    if (!mine) throw new InputError(`${file} names data (${p}), but ${dir} was not written by this version of \`parry train\`; pass --data (and --dev) explicitly`);
    let ok = false;
    try {
      const ps = fs.statSync(p);
      ok = ps.isDirectory() || (ps.isFile() && DATA_FILE.test(p));
    } catch {
      throw new InputError(`${file} names data ${p}, which is not there any more; pass --data`);
    }
    if (!ok) throw new InputError(`${file} names ${p}, which is not a dataset folder or a .csv/.tsv/.jsonl file; pass --data`);
  }
  return info;
}

function isFamily(s: string): s is ModelFamily {
  return (MODEL_FAMILIES as readonly string[]).includes(s);
}

function scratchTokenizer(o: TextTrainCommandOptions, train: TextDataset): TextTokenizer {
  if (o.vocab === 'bert-base-uncased') return bertBaseUncasedTokenizer();
  if (o.vocab === 'corpus') return wordPieceTokenizer(buildWordPieceVocab(train.examples.map((e) => e.text), { vocabSize: o.vocabSize }), { lowercase: true });
  throw new UsageError(`--vocab "${o.vocab}" is not one of corpus, bert-base-uncased`);
}

/** The model to train: small from-scratch config, a config.json, or a pretrained folder / Hub id to fine-tune. */
async function buildModel(o: TextTrainCommandOptions, train: TextDataset): Promise<{ model: TransformerClassifier; tokenizer: TextTokenizer; from: string }> {
  const outputKind = train.multiLabel ? 'multi-label' : 'single-label';
  const labelNames = train.labelNames;
  const scratch = (base: EncoderConfig, tokenizer: TextTokenizer, from: string) => {
    if (base.vocabSize < tokenizer.vocabSize) throw new UsageError(`the config's vocab_size ${base.vocabSize} is smaller than the tokenizer's ${tokenizer.vocabSize}`);
    const config: EncoderConfig = { ...base, labelNames, numLabels: labelNames.length, outputKind };
    validateConfig(config, { source: 'flags' }); // the label count comes from the data
    return { model: createTransformerClassifier(config, { seed: o.seed }), tokenizer, from };
  };
  if (isFamily(o.model)) {
    const tokenizer = scratchTokenizer(o, train);
    const roberta = o.model === 'roberta';
    const config = smallConfig(o.model, {
      vocabSize: tokenizer.vocabSize,
      hiddenSize: o.hidden ?? 128,
      numLayers: o.layers ?? 2,
      numHeads: o.heads ?? 2,
      intermediateSize: o.intermediate ?? 4 * (o.hidden ?? 128),
      hiddenDropout: o.dropout ?? 0.1,
      attentionDropout: o.dropout ?? 0.1,
      classifierDropout: o.dropout ?? 0.1,
      padTokenId: tokenizer.padId,
      maxPositions: roberta ? o.maxLength + tokenizer.padId + 1 : o.maxLength,
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
  const pre = await loadPretrained(o.model, { labelNames, outputKind, seed: o.seed, ...hubFlags(o), newHead: true });
  if (!pre.tokenizer) {
    pre.model.dispose();
    throw new InputError(`--model ${o.model} has no tokenizer files (tokenizer.json or vocab.txt); add them to the folder`);
  }
  if (!o.quiet && pre.newlyInitialized.length) log(`classifier head initialised randomly (${pre.newlyInitialized.join(', ')})`);
  return { model: pre.model, tokenizer: pre.tokenizer, from: `fine-tuned from ${o.model}` };
}

function modelInfo(model: TransformerClassifier, maxLength: number, dir: string) {
  return {
    path: dir,
    name: `${model.family} (${model.config.numLayers}x${model.config.hiddenSize}, ${model.config.numHeads} heads)`,
    inputShape: [maxLength],
    numClasses: model.numLabels,
    bounds: [0, model.config.vocabSize - 1] as [number, number],
    labelNames: model.labelNames,
    outputKind: model.outputKind === 'multi-label' ? 'sigmoid' : 'softmax',
  };
}

/** Clean metrics from a model's probabilities on an encoded split: accuracy, or multi-label F1s with per-label rows. */
function cleanMetrics(model: TransformerClassifier, set: EncodedTextSet, probs: Float32Array, thresholds?: number[]) {
  if (model.outputKind === 'multi-label') {
    return { multi: multiLabelMetrics(probs, set.labels, model.numLabels, { thresholds: thresholds ?? 0.5, labelNames: model.labelNames }) };
  }
  const L = model.numLabels;
  const pred = Int32Array.from({ length: set.encodings.length }, (_, i) => {
    let best = 0;
    for (let j = 1; j < L; j++) if (probs[i * L + j] > probs[i * L + best]) best = j;
    return best;
  });
  return { single: singleLabelMetrics(pred, set.labels, L, model.labelNames) };
}

function cleanSection(n: number, r: ReturnType<typeof cleanMetrics>) {
  if (r.multi) {
    const m = r.multi;
    return {
      clean: { accuracy: m.subsetAccuracy, n, microF1: m.microF1, macroF1: m.macroF1, hammingLoss: m.hammingLoss, subsetAccuracy: m.subsetAccuracy },
      perLabel: m.perLabel.map((l) => ({ label: l.label, support: l.support, accuracy: l.accuracy, precision: l.precision, recall: l.recall, f1: l.f1, threshold: l.threshold })),
    };
  }
  return { clean: { accuracy: r.single!.accuracy, n, macroF1: r.single!.macroF1 } };
}

function printMultiLabel(m: MultiLabelMetrics, title: string): void {
  out(`${title}: micro-F1 ${m.microF1.toFixed(3)}, macro-F1 ${m.macroF1.toFixed(3)}, subset accuracy ${pct(m.subsetAccuracy)}, hamming loss ${m.hammingLoss.toFixed(4)}`);
  const table = new Table({ head: ['label', 'support', 'threshold', 'precision', 'recall', 'F1'], style: { head: [], border: [] } });
  for (const l of m.perLabel) table.push([l.label, l.support, l.threshold.toFixed(2), l.precision.toFixed(3), l.recall.toFixed(3), l.f1.toFixed(3)]);
  out(table.toString());
}

/**
 * `parry train --model <family|config.json|dir|hub id> --data ...`: train or fine-tune a Transformer text classifier,
 * evaluate on the dev split each epoch, tune multi-label thresholds on dev, and save a Hugging Face folder plus
 * `train-results.json`.
 */
export async function trainTextCommand(o: TextTrainCommandOptions): Promise<Results> {
  if (!(o.maxLength >= 8)) throw new UsageError(`--max-length must be at least 8, got ${o.maxLength}`);
  const { registry, defaults } = await pluginRegistry({ plugin: o.plugin });
  const names = (o.defense ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const defenses = createDefenses(registry, names, o.eps, o.defOpt ?? [], defaults);
  for (const d of defenses) {
    if (d.modality !== 'text') throw new UsageError(`--defense ${d.name} trains image models; text models take fgm, pgd-embed, freelb, smart, r-drop (see \`parry list\`)`);
  }
  const checkpointDir = o.checkpointDir ?? (o.resume ? `${o.out.replace(/[\\/]+$/, '')}.checkpoints` : undefined);
  const protect = [
    { path: o.data, flag: '--data' },
    { path: o.dev, flag: '--dev' },
    { path: fs.existsSync(o.model) ? o.model : undefined, flag: '--model' },
    { path: checkpointDir, flag: '--checkpoint-dir' },
  ];
  guardOutput(o.out, { kind: 'text-model', force: o.force, protect });
  const full = loadTextSplit(o, 'train');
  const loaded = o.limit ? { ...full, examples: full.examples.slice(0, o.limit) } : full;
  const train = o.augment
    ? augmentDataset(loaded, { method: o.augment, numAug: o.numAug ?? 4, seed: o.seed, ...(o.augment === 'eda' ? { alphaSr: o.augRate, alphaRi: o.augRate, alphaRs: o.augRate, pRd: o.augRate } : { charP: o.augRate }) })
    : loaded;
  const dev = loadTextSplit(o, 'dev');
  if (o.multiLabel && !train.multiLabel) throw new UsageError(`--multi-label given, but ${train.source} was read as single-label data`);
  const backend = await setupBackend(o.backend);
  const { model, tokenizer, from } = await buildModel(o, train);
  try {
    // a fine-tuned checkpoint has a fixed number of positions: a longer --max-length would index past its table
    const positions = model.config.family === 'roberta' ? model.config.maxPositions - tokenizer.padId - 1 : model.config.maxPositions;
    if (o.maxLength > positions) {
      if (o.maxLengthGiven) throw new UsageError(`--max-length ${o.maxLength} is above the ${positions} positions of ${from}; pass --max-length ${positions} or less`);
      if (!o.quiet) log(`--max-length ${o.maxLength} (the default) is above the ${positions} positions of ${from}: using ${positions}`);
      o = { ...o, maxLength: positions };
    }
    const trainSet = encodeDataset(train, tokenizer, o.maxLength);
    const devSet = encodeDataset(dev, tokenizer, o.maxLength);
    if (!o.quiet) {
      const c = model.config;
      log(`${from}: ${c.family} ${c.numLayers} layers, hidden ${c.hiddenSize}, ${c.numHeads} heads, vocab ${c.vocabSize}; ${trainSet.encodings.length} training / ${devSet.encodings.length} dev examples, backend ${backend.name}`);
    }
    let positiveWeights: number[] | undefined;
    if (o.posWeight != null) {
      if (!train.multiLabel) throw new UsageError('--pos-weight is for multi-label data (per-label BCE)');
      const w = Number(o.posWeight);
      if (o.posWeight === 'auto') positiveWeights = positiveWeightsFor(trainSet.labels, model.numLabels);
      else if (w > 0 && Number.isFinite(w)) positiveWeights = new Array(model.numLabels).fill(w);
      else throw new UsageError(`--pos-weight must be "auto" or a number > 0, got "${o.posWeight}"`);
    }
    const steps = Math.ceil(trainSet.encodings.length / o.batchSize);
    let bar = createProgress('epoch 1', steps, { quiet: o.quiet });
    const result = await trainText(model, trainSet, {
      epochs: o.epochs,
      batchSize: o.batchSize,
      learningRate: o.lr,
      seed: o.seed,
      padId: tokenizer.padId,
      weightDecay: o.weightDecay,
      warmupRatio: o.warmup,
      maxGradNorm: o.maxGradNorm,
      labelSmoothing: o.labelSmoothing,
      positiveWeights,
      defenses,
      tokenizer,
      maxLength: o.maxLength,
      evalSet: devSet,
      earlyStop: o.earlyStop,
      checkpointDir,
      resume: o.resume,
      onBatch: ({ step, loss }) => bar.update(step, `loss ${loss.toFixed(4)}`),
      onEpoch: (r: TextEpochRecord) => {
        const dv = r.dev ? (r.dev.macroF1 != null ? `dev macro-F1 ${r.dev.macroF1.toFixed(3)}` : `dev accuracy ${pct(r.dev.accuracy)}`) : '';
        bar.stop(`epoch ${r.epoch}: loss ${r.loss.toFixed(4)} ${dv} (${r.seconds.toFixed(1)} s)`);
        if (r.epoch < o.epochs) bar = createProgress(`epoch ${r.epoch + 1}`, steps, { quiet: o.quiet });
      },
    });
    const multi = model.outputKind === 'multi-label';
    let thresholds: number[] | undefined;
    const devProbs = await predictText(model, devSet.encodings, tokenizer.padId);
    const first = cleanMetrics(model, devSet, devProbs);
    if (multi) thresholds = tuneThresholds(devProbs, devSet.labels, model.numLabels);
    const final = multi ? cleanMetrics(model, devSet, devProbs, thresholds) : first;
    const info: TrainingInfo = { data: { ...o, data: path.resolve(o.data), dev: o.dev && path.resolve(o.dev) }, maxLength: o.maxLength, thresholds };
    const keep: (keyof TextDataSpec)[] = ['data', 'format', 'dev', 'textColumn', 'pairColumn', 'labelColumn', 'labelNames', 'multiLabel'];
    info.data = Object.fromEntries(keep.filter((k) => info.data[k] != null).map((k) => [k, info.data[k]])) as unknown as TextDataSpec;
    const bad = result.epochs.find((e) => !Number.isFinite(e.loss));
    if (bad) throw new UsageError(`training diverged (loss ${bad.loss} in epoch ${bad.epoch}): nothing was written to ${o.out}; lower --lr (now ${o.lr})`);
    const results = validateResults({
      ...resultsHeader('train', o.argv, o.seed),
      dataset: { name: dev.name, source: dev.source, split: 'dev', n: devSet.encodings.length },
      model: modelInfo(model, o.maxLength, o.out),
      ...cleanSection(devSet.encodings.length, final),
      training: {
        hyperparameters: {
          ...result.hyperparameters,
          from,
          maxLength: o.maxLength,
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
      { [TRAINING_FILE]: `${JSON.stringify(info, null, 2)}\n`, 'train-results.json': `${JSON.stringify(results, null, 2)}\n` },
      { force: o.force, protect },
    );
    if (o.json) out(JSON.stringify(results, null, 2));
    else if (final.multi) {
      printMultiLabel(final.multi, `dev (thresholds tuned on dev; at 0.5: macro-F1 ${first.multi!.macroF1.toFixed(3)}, micro-F1 ${first.multi!.microF1.toFixed(3)})`);
      out(`model saved to ${o.out} (best epoch ${result.bestEpoch})`);
    } else {
      out(`model saved to ${o.out} (dev accuracy ${pct(final.single!.accuracy)} on ${devSet.encodings.length} examples, best epoch ${result.bestEpoch})`);
    }
    return results;
  } finally {
    model.dispose();
  }
}

/** Flags every text command that loads a model folder and writes a results file shares. */
export interface TextRunFlags {
  /** Results file to write. */
  out: string;
  /** Replace `out` even when it exists and is not a Parry results file. */
  force?: boolean;
  backend?: string;
  /** Never download: use the Hub cache only. */
  offline?: boolean;
  /** Download every file of a Hub model again, replacing the cached copies once the new ones are checked. */
  forceDownload?: boolean;
  json?: boolean;
  quiet?: boolean;
  argv?: string[];
}

export interface TextEvalCommandOptions extends Partial<TextDataSpec>, TextRunFlags {
  model: string;
  split: 'train' | 'dev' | 'test';
  limit?: number;
}

/** True when `dir` is a Hugging Face model folder (has config.json), as written by `parry train --model`. */
export function isTextModel(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'config.json'));
}

/** `parry eval --model <text model>`: clean metrics on a split (multi-label: with the dev-tuned thresholds saved at training). */
export async function evalTextCommand(o: TextEvalCommandOptions): Promise<Results> {
  let info: Partial<TrainingInfo> = {};
  guardOutput(o.out, { kind: 'results', force: o.force, protect: [{ path: fs.existsSync(o.model) ? o.model : undefined, flag: '--model' }, { path: o.data, flag: '--data' }, { path: o.dev, flag: '--dev' }] });
  info = readTrainingInfo(o.model, { withData: !o.data });
  const spec: TextDataSpec | undefined = o.data ? { ...(o as TextDataSpec) } : info.data;
  if (!spec) throw new UsageError(`--data is needed: ${o.model} has no ${TRAINING_FILE} naming its data`);
  const ds = loadTextSplit(spec, o.split);
  const backend = await setupBackend(o.backend);
  const pre = await loadPretrained(o.model, hubFlags(o));
  try {
    if (!pre.tokenizer) throw new InputError(`${o.model} has no tokenizer files (tokenizer.json or vocab.txt)`);
    const maxLength = info.maxLength ?? Math.min(pre.config.maxPositions, 512);
    const limited: TextDataset = o.limit ? { ...ds, examples: ds.examples.slice(0, o.limit) } : ds;
    if (!o.quiet) log(`evaluating ${o.model} on ${limited.examples.length} ${o.split} examples of ${ds.name}, backend ${backend.name}`);
    const set = encodeDataset(limited, pre.tokenizer, maxLength);
    const r = cleanMetrics(pre.model, set, await predictText(pre.model, set.encodings, pre.tokenizer.padId), info.thresholds);
    const results = writeResults(o.out, {
      ...resultsHeader('eval', o.argv, 0),
      dataset: { name: ds.name, source: ds.source, split: o.split, n: limited.examples.length },
      model: modelInfo(pre.model, maxLength, o.model),
      ...cleanSection(limited.examples.length, r),
    });
    if (o.json) out(JSON.stringify(results, null, 2));
    else if (r.multi) printMultiLabel(r.multi, `${o.split}${info.thresholds ? ' (thresholds tuned on dev at training)' : ' (threshold 0.5)'}`);
    else out(`${o.split} accuracy ${pct(r.single!.accuracy)} (macro-F1 ${r.single!.macroF1.toFixed(3)}) on ${limited.examples.length} examples; results in ${o.out}`);
    return results;
  } finally {
    pre.model.dispose();
  }
}
