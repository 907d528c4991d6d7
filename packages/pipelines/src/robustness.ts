/**
 * `robustness(model, data, { attacks })`: one call, in the spirit of Hugging Face pipelines, that runs the clean and
 * the attacked evaluation of an image or a text model and returns the results object the report reads.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type Classifier, type GoalSpec, loadModel, parseGoal, type TextTokenizer, type TruncationStrategy, UsageError, validateEpsilons } from '@parry/core';
import { type ImageDataset, type TextDataset, toTensors } from '@parry/datasets';
import { type Results, validateResults, writeResults } from '@parry/metrics';
import { loadPretrained, type TransformerClassifier } from '@parry/text';
import { createImageAttacks, type OptionsByPlugin, resolveNames, resolveOptions } from './build-plugins.js';
import { imageAttackEntries, imageModelInfo, imageRobustness, openRegistry, type RegistrySource } from './image.js';
import { checkRunName, hooksOf, resultsHeader, type RunHooks, setupBackend } from './run.js';
import { isTextModel, textCleanSection, textModelInfo, textRobustness } from './text.js';
import { loadTextSplit, type TextDataSpec } from './text-data.js';
import { readTrainingInfo } from './training-info.js';
import { guardOutput } from '@parry/core';

/** A Parry text model in memory: the encoder and its tokenizer (what `loadPretrained` returns). */
export interface TextModelInput {
  model: TransformerClassifier;
  tokenizer: TextTokenizer;
  /** Tokens per input (default: the model's positions, at most 512). */
  maxLength?: number;
  /** Which tokens of an over-long text the model sees (default `head`). */
  truncation?: TruncationStrategy;
  /** Multi-label decision thresholds (default 0.5). */
  thresholds?: number[];
}

/** Image data: tensors, or a data set (its test split). */
export type ImageDataInput = { x: tf.Tensor; y: tf.Tensor } | ImageDataset;

/** Text data: a loaded data set, or a spec to load (`split`, default dev). */
export type TextDataInput = TextDataset | TextDataSpec;

export interface RobustnessOptions extends RunHooks, RegistrySource {
  /** Registered attack names (image attacks for an image model, text recipes for a text model). */
  attacks: string[];
  /** Options per attack (any name the registry resolves). */
  attackOptions?: OptionsByPlugin;
  /** Image attacks: the epsilons (default 0.1, 0.2, 0.3). */
  epsilons?: number[];
  /** Text attacks: the goal (default untargeted, multi-label flip-any-gold); image attacks are untargeted. */
  goal?: GoalSpec | string;
  /** Evaluate the first n examples only (default: image 1000, text 100). */
  n?: number;
  seed?: number;
  batchSize?: number;
  /** Text data given as a spec: the split to load (default `dev`). */
  split?: 'train' | 'dev' | 'test';
  queryBudget?: number;
  wordVectors?: string;
  /** Text attacks: the sentence encoder of the sentence-similarity constraint (a Parry / HF encoder folder or an ONNX sentence-embedding folder). */
  sentenceEncoder?: string;
  /** Text attacks: a masked-LM folder for the recipes that need one (`bae`, `bert-attack`). */
  maskedLm?: string;
  /** Write the results here (validated, atomically); nothing is written without it. */
  out?: string;
  force?: boolean;
  /** Backend to initialise first (default: the one already set up, else `auto`). */
  backend?: string;
  command?: readonly string[];
  /** The run's name in the results and reports (as `parry eval --name`; default: reports name it after the model folder). */
  runName?: string;
}

const isClassifier = (m: unknown): m is Classifier => typeof (m as Classifier)?.logits === 'function' && Array.isArray((m as Classifier).inputShape);
const isTextInput = (m: unknown): m is TextModelInput => typeof (m as TextModelInput)?.tokenizer?.encode === 'function' && !!(m as TextModelInput).model;
const isTextDataset = (d: unknown): d is TextDataset => Array.isArray((d as TextDataset)?.examples);

/**
 * Clean and attacked evaluation of one model on one data set. An image model (a `Classifier`, or a folder written by
 * `trainImageModel`) with image data gets clean accuracy and every image attack at every epsilon; a text model (an
 * encoder + tokenizer, or a Hugging Face folder) with text data gets clean metrics and every text attack. Returns the
 * validated results object (`@parry/metrics` v2) and writes it only when `out` is given.
 */
export async function robustness(model: Classifier | TextModelInput | string, data: ImageDataInput | TextDataInput, o: RobustnessOptions): Promise<Results> {
  checkRunName(o.runName);
  if (o.out) guardOutput(o.out, { kind: 'results', force: o.force, protect: [{ path: typeof model === 'string' ? model : undefined, flag: 'model' }] });
  if (o.backend !== undefined || !tf.getBackend()) await setupBackend(o.backend);
  const text = typeof model === 'string' ? isTextModel(model) : isTextInput(model);
  const results = text
    ? await textBranch(model as TextModelInput | string, data as TextDataInput, o)
    : await imageBranch(model as Classifier | string, data as ImageDataInput, o);
  return o.out ? writeResults(o.out, results) : results;
}

async function imageBranch(model: Classifier | string, data: ImageDataInput, o: RobustnessOptions): Promise<Results> {
  if (!(typeof model === 'string' || isClassifier(model))) throw new UsageError('robustness(): the model is neither a Classifier, a text model { model, tokenizer }, nor a model folder');
  if (isTextDataset(data)) throw new UsageError('robustness(): an image model needs image data ({ x, y } tensors or an image data set), got a text data set');
  const goal = typeof o.goal === 'string' ? parseGoal(o.goal, 'goal') : o.goal;
  if (goal && goal.kind !== 'untargeted') throw new UsageError(`robustness(): image attacks run untargeted here; goal ${goal.kind} is for text models`);
  const epsilons = validateEpsilons(o.epsilons ?? [0.1, 0.2, 0.3], true);
  const { registry, defaults } = await openRegistry(o);
  const attacks = createImageAttacks(registry, o.attacks, o.attackOptions, defaults);
  const loaded = typeof model === 'string' ? await loadModel(model) : undefined;
  const classifier = loaded?.classifier ?? (model as Classifier);
  const own = 'test' in data ? toTensors(data.test, 0, Math.min(o.n ?? 1000, data.test.n)) : undefined;
  const given = 'test' in data ? undefined : (data as { x: tf.Tensor; y: tf.Tensor });
  const n = Math.min(o.n ?? 1000, (own?.x ?? given!.x).shape[0]);
  const x = own?.x ?? tf.slice(given!.x, 0, n);
  const y = (own?.y ?? tf.slice(given!.y, 0, n)) as tf.Tensor1D;
  try {
    const r = await imageRobustness(classifier, x, y, attacks, { ...o, epsilons, seed: o.seed ?? 0 });
    const source = 'test' in data ? { name: data.name, source: data.source } : { name: 'tensors', source: 'in memory' };
    return validateResults({
      ...resultsHeader('eval', o.command, o.seed ?? 0),
      dataset: { ...source, split: 'test', n },
      model: { ...imageModelInfo(classifier, typeof model === 'string' ? model : undefined), ...(o.runName ? { runName: checkRunName(o.runName) } : {}) },
      clean: { accuracy: r.cleanAccuracy, n },
      attacks: imageAttackEntries(r.summaries),
    }, 'results');
  } finally {
    tf.dispose([x, y]);
    loaded?.classifier.dispose?.();
  }
}

async function textBranch(model: TextModelInput | string, data: TextDataInput, o: RobustnessOptions): Promise<Results> {
  const { log } = hooksOf(o);
  const goal = typeof o.goal === 'string' ? parseGoal(o.goal, 'goal') : o.goal;
  if (o.epsilons) throw new UsageError('robustness(): epsilons are for image attacks; text attacks are bounded by their own options (e.g. maxModificationRate)');
  const { registry, defaults } = await openRegistry(o);
  const attacks = resolveNames(registry, o.attacks, 'attack', 'attacks');
  for (const name of attacks) {
    if (registry.info('attack').find((p) => p.name === name)?.modality !== 'text') throw new UsageError(`robustness(): ${name} attacks image models; a text model takes text attacks`);
  }
  const options = Object.fromEntries(resolveOptions(registry, o.attackOptions, 'attack', 'attackOptions'));
  const info = typeof model === 'string' ? readTrainingInfo(model, { withData: false }) : {};
  const pre = typeof model === 'string' ? await loadPretrained(model, {}) : undefined;
  try {
    const encoder = pre ? { model: pre.model, tokenizer: pre.tokenizer! } : (model as TextModelInput);
    if (pre && !pre.tokenizer) throw new UsageError(`${model as string} has no tokenizer files (tokenizer.json or vocab.txt)`);
    const split = o.split ?? 'dev';
    const full = isTextDataset(data) ? data : await loadTextSplit(data, split);
    const ds: TextDataset = { ...full, examples: full.examples.slice(0, o.n ?? 100) };
    const maxLength = (typeof model === 'string' ? info.maxLength : model.maxLength) ?? Math.min(encoder.model.config.maxPositions, 512);
    const thresholds = typeof model === 'string' ? info.thresholds : model.thresholds;
    const truncation = (typeof model === 'string' ? info.truncation : model.truncation) ?? 'head';
    log(`robustness of ${encoder.model.family} on ${ds.examples.length} examples of ${ds.name}`);
    const r = await textRobustness(encoder, ds, { ...o, registry, defaults, attacks, attackOptions: options, goal, maxLength, truncation, thresholds, name: typeof model === 'string' ? model : encoder.model.family });
    const n = ds.examples.length;
    return validateResults({
      ...resultsHeader('eval', o.command, o.seed ?? 0),
      dataset: { name: ds.name, source: ds.source, split: isTextDataset(data) ? 'given' : split, n },
      model: {
        ...textModelInfo(encoder.model, { name: `${encoder.model.family} (${encoder.model.config.numLayers}x${encoder.model.config.hiddenSize})`, path: typeof model === 'string' ? model : undefined, maxLength, family: encoder.model.family }),
        ...(o.runName ? { runName: checkRunName(o.runName) } : {}),
      },
      ...textCleanSection(n, r.clean!),
      attacks: r.attacks.map((a) => a.entry),
      ...(r.truncation ? { truncation: r.truncation } : {}),
    }, 'results');
  } finally {
    pre?.model.dispose();
  }
}
