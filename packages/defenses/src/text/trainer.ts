import * as tf from '@tensorflow/tfjs-core';
import {
  type StepGradients,
  type TextAttackRunner,
  type TextDefenseHooks,
  type TextModel,
  type TextStepContext,
  type TextTokenizer,
  type TextTrainingSet,
  type TruncationStrategy,
  guardPluginCall,
  guardPluginCallSync,
  PluginError,
  UsageError,
} from '@parry/core';
import { multiLabelMetrics } from '@parry/metrics';
import { checkLoopOptions, type EpochContext, type EpochOutcome, runEpochLoop } from '../loop.js';
import { createOptimizer, type TrainOptimizer } from '../optimizer.js';
import { bucketedBatches, checkTrainingMemory, disposeBatch, type MemoryConfig, padBatch, predictText } from '@parry/text';

/** Tokenised examples and their labels: class ids (single-label) or multi-hot rows `[n * numLabels]` (multi-label). */
export type EncodedTextSet = TextTrainingSet;

/** What `trainText` tells each defense's `prepare` before the first epoch. */
export interface TextTrainStart {
  model: TextModel;
  data: EncodedTextSet;
  /** Whether the model's weights are pretrained (fine-tuning) or random (from scratch); undefined when not told. */
  pretrained?: boolean;
}

/**
 * A defense the text trainer runs: a registered `modality: 'text'` defense plugin, or any object with a name and the
 * hooks. `prepare`, when present, is called once before the first epoch (after the options are known, before any
 * weights are restored from a checkpoint) and returns the settings the defense will run with (recorded in the
 * hyperparameters as `effective`; a `startEpoch` there tells the collapse guard when the defense becomes active).
 */
export type TextDefense = {
  readonly name: string;
  readonly options?: unknown;
  readonly modality?: 'image' | 'text';
  dispose?(): void;
  prepare?(info: TextTrainStart): Record<string, unknown> | undefined;
} & TextDefenseHooks;

export type { TextModel, TextStepContext, StepGradients, TextDefenseHooks };

export interface TextTrainOptions {
  epochs: number;
  batchSize: number;
  /** Peak learning rate (after warm-up). */
  learningRate: number;
  seed: number;
  /** Id used for padding (the tokenizer's). */
  padId: number;
  /** AdamW decoupled weight decay, not applied to biases and LayerNorm (default 0.01). */
  weightDecay?: number;
  /**
   * Layer-wise learning-rate decay in (0, 1] (default 1 = off), for fine-tuning a pre-trained encoder (Howard & Ruder
   * 2018; ELECTRA): encoder layer i of L learns at `learningRate * layerLrDecay^(L - i)`, the embeddings at
   * `layerLrDecay^(L + 1)` and the head at the full rate; see {@link layerLrScales}. Needs a model whose parameters
   * carry Hugging Face names (@parry/text's classifiers).
   */
  layerLrDecay?: number;
  /** Fraction of all steps spent warming up linearly from 0 (default 0.1). */
  warmupRatio?: number;
  /** After warm-up: `linear` decay to 0 (default, as BERT fine-tuning) or `constant`. */
  schedule?: 'linear' | 'constant';
  /** Clip the global gradient norm to this (default 1; 0 = off). */
  maxGradNorm?: number;
  /**
   * Gradient accumulation: split every batch into this many micro-batches (sizes differing by at most one), sum their
   * gradients weighted by their share of the batch, then clip and take one optimizer step (default 1). The step equals
   * the full-batch step for the clean loss (up to float rounding and dropout draws); a defense's hooks run per
   * micro-batch. Peak memory falls with the micro-batch size (see `checkTrainingMemory` of @parry/text).
   */
  gradAccum?: number;
  /**
   * Refuse up front a run whose estimated step memory does not fit the active backend (`checkTrainingMemory` of
   * @parry/text; default true for models that carry an encoder config).
   */
  memoryCheck?: boolean;
  /**
   * Per-layer activation recomputation, for models with a `recompute` switch (@parry/text's classifiers): each layer
   * runs its forward again in the backward pass instead of keeping its activations (same gradients, about one more
   * forward pass of time). true / false force it; default: on when the memory check finds that the run fits only
   * with it (e.g. BERT-base on the wasm backend).
   */
  recompute?: boolean;
  /** Label smoothing: single-label mixes in the uniform distribution; multi-label pulls targets toward 1/2. */
  labelSmoothing?: number;
  /** Multi-label: weight of the positive term of each label's BCE (torch's `pos_weight`; see {@link positiveWeightsFor}). */
  positiveWeights?: readonly number[];
  /** Round padded lengths up to a multiple of this (default 8). */
  padMultiple?: number;
  /** Held-out set evaluated after every epoch (accuracy, or micro/macro F1 at threshold 0.5 for multi-label). */
  evalSet?: EncodedTextSet;
  evalBatchSize?: number;
  /** Stop after this many epochs without improvement of the dev metric; the best weights are restored at the end. */
  earlyStop?: number;
  /** Hardening methods, composed in order. */
  defenses?: readonly TextDefense[];
  /**
   * Whether the model is pretrained (fine-tuning) or trained from scratch: picks the defaults of the embedding-space
   * defenses (pretrained: the published absolute radii, active from epoch 1; from scratch: radii relative to the
   * embedding norm, one clean epoch first). Undefined: the published defaults.
   */
  pretrained?: boolean;
  /**
   * Stop with a UsageError when a defense collapses training (single-label, with an eval set): two consecutive
   * epochs in which a defense was active and every dev prediction was one class or the dev accuracy was the
   * majority-class rate, after an epoch that beat that rate or at the end of the run. Default false here (toy runs
   * of tests and studies stay on the majority plateau); the pipelines' `trainTextModel`, and so `parry train`, turn it
   * on. `false` there is for research on collapse.
   */
  collapseGuard?: boolean;
  /** Handed to `epochData` hooks (attack-based defenses tokenize new texts with it). */
  tokenizer?: TextTokenizer;
  /** Token limit the sets were encoded with (handed to `epochData` hooks). */
  maxLength?: number;
  /** Which tokens of an over-long text the sets kept (default `head`; handed to `epochData` hooks). */
  truncation?: TruncationStrategy;
  /** Runs registered text attacks for attack-based defenses (A2T); handed to `epochData` hooks. */
  attacks?: TextAttackRunner;
  /** A checkpoint after every epoch in `<checkpointDir>/epoch-NNNN/`; `resume` continues from the newest. */
  checkpointDir?: string;
  resume?: boolean;
  keepCheckpoints?: number;
  onBatch?: (info: { epoch: number; step: number; steps: number; loss: number }) => void;
  onEpoch?: (record: TextEpochRecord) => void | Promise<void>;
}

export interface TextEvalMetrics {
  loss: number;
  /** Single-label accuracy, or multi-label subset accuracy. */
  accuracy: number;
  microF1?: number;
  macroF1?: number;
}

export interface TextEpochRecord {
  epoch: number;
  loss: number;
  /** Examples trained on this epoch, when an `epochData` hook changed the set. */
  trainExamples?: number;
  learningRate: number;
  trainSeconds: number;
  seconds: number;
  dev?: TextEvalMetrics;
}

export interface TextTrainResult {
  epochs: TextEpochRecord[];
  /** Epoch whose weights the model holds at the end (the best dev epoch with early stopping or an eval set). */
  bestEpoch: number;
  resumedFrom: number;
  stoppedEarly: boolean;
  hyperparameters: Record<string, unknown>;
}

const isMulti = (m: TextModel) => m.outputKind === 'multi-label';

/** Mean training loss of `logits` against `targets`: softmax CE (int32 ids or soft rows) or sigmoid BCE (multi-hot). */
export function textLoss(logits: tf.Tensor2D, targets: tf.Tensor, multiLabel: boolean, positiveWeights?: readonly number[]): tf.Scalar {
  return tf.tidy(() => {
    if (multiLabel) {
      const x = logits;
      const z = tf.cast(targets, 'float32');
      if (positiveWeights) {
        // Weighted BCE with logits (torch's pos_weight): p * z * softplus(-x) + (1 - z) * softplus(x).
        const p = tf.tensor1d(Array.from(positiveWeights));
        return tf.mean(tf.add(tf.mul(tf.mul(p, z), tf.softplus(tf.neg(x))), tf.mul(tf.sub(1, z), tf.softplus(x)))) as tf.Scalar;
      }
      // BCE with logits, stable: max(x,0) - x*z + log(1 + exp(-|x|)), averaged over labels and examples.
      return tf.mean(tf.add(tf.sub(tf.relu(x), tf.mul(x, z)), tf.log1p(tf.exp(tf.neg(tf.abs(x)))))) as tf.Scalar;
    }
    const logp = tf.logSoftmax(logits, 1);
    const soft = targets.dtype === 'int32' ? tf.oneHot(targets as tf.Tensor1D, logits.shape[1]) : targets;
    return tf.neg(tf.mean(tf.sum(tf.mul(logp, soft), 1))) as tf.Scalar;
  });
}

/**
 * Per-label positive weights for multi-label BCE from a training set: negatives / positives of each label (torch's
 * usual `pos_weight`), between 1 and `max` (default 20); 1 for labels that never occur.
 */
export function positiveWeightsFor(labels: Int32Array | Float32Array, numLabels: number, max = 20): number[] {
  const n = labels.length / numLabels;
  return Array.from({ length: numLabels }, (_, j) => {
    let pos = 0;
    for (let i = 0; i < n; i++) pos += labels[i * numLabels + j] >= 0.5 ? 1 : 0;
    return pos === 0 ? 1 : Math.min(max, Math.max(1, (n - pos) / pos));
  });
}

/** Targets tensor for `indices`: int32 ids or float multi-hot rows, smoothed when `smoothing` > 0. */
function targetsFor(set: EncodedTextSet, indices: readonly number[], numLabels: number, multiLabel: boolean, smoothing: number): tf.Tensor {
  if (multiLabel) {
    const rows = new Float32Array(indices.length * numLabels);
    indices.forEach((idx, r) => {
      for (let j = 0; j < numLabels; j++) {
        const z = set.labels[idx * numLabels + j];
        rows[r * numLabels + j] = smoothing > 0 ? z * (1 - smoothing) + smoothing / 2 : z;
      }
    });
    return tf.tensor2d(rows, [indices.length, numLabels]);
  }
  if (smoothing > 0) {
    const rows = new Float32Array(indices.length * numLabels).fill(smoothing / numLabels);
    indices.forEach((idx, r) => (rows[r * numLabels + set.labels[idx]] += 1 - smoothing));
    return tf.tensor2d(rows, [indices.length, numLabels]);
  }
  return tf.tensor1d(Int32Array.from(indices, (i) => set.labels[i]), 'int32');
}

/**
 * Learning-rate multipliers of layer-wise learning-rate decay, one per parameter name (Hugging Face names of BERT,
 * ELECTRA, RoBERTa and DistilBERT classifiers):
 * - encoder layer i of `numLayers` (`<prefix>.encoder.layer.i.…`, DistilBERT `<prefix>.transformer.layer.i.…`):
 *   `decay^(numLayers - i)`, so the top layer gets `decay` and layer 0 `decay^numLayers`;
 * - embeddings (`<prefix>.embeddings.…`: word / position / token-type embeddings and their LayerNorm, and ELECTRA's
 *   `<prefix>.embeddings_project.…`): `decay^(numLayers + 1)`;
 * - every other name is treated as head and gets 1: the classification head, BERT's pooler and DistilBERT's
 *   `pre_classifier`, and also any name the rule cannot place (a parameter added on top of the encoder is head-like).
 *
 * @throws UsageError when `decay` is not in (0, 1], `numLayers` is not a positive integer, or a name holds a layer
 *   index of `numLayers` or more (the names do not belong to a `numLayers`-layer model).
 */
export function layerLrScales(names: readonly string[], numLayers: number, decay: number): number[] {
  if (!(typeof decay === 'number' && decay > 0 && decay <= 1)) throw new UsageError(`layer-wise learning-rate decay must be a number in (0, 1] (1 = off), got ${String(decay)}`);
  if (!(Number.isInteger(numLayers) && numLayers > 0)) throw new UsageError(`layer-wise learning-rate decay needs a positive integer layer count, got ${String(numLayers)}`);
  return names.map((name) => {
    const layer = LAYER_NAME.exec(name);
    if (layer) {
      const i = Number(layer[1]);
      if (i >= numLayers) throw new UsageError(`parameter ${name} is in layer ${i}, but the model has ${numLayers} layers; pass the model's own layer count`);
      return decay ** (numLayers - i);
    }
    return EMBEDDINGS_NAME.test(name) ? decay ** (numLayers + 1) : 1;
  });
}
const LAYER_NAME = /(?:^|\.)(?:encoder|transformer)\.layer\.(\d+)\./;
const EMBEDDINGS_NAME = /(?:^|\.)embeddings(?:_project)?\./;

/** Learning rate at optimizer step `step` (0-based) of `total`: linear warm-up, then linear decay to 0 or constant. */
export function warmupLinearRate(base: number, step: number, total: number, warmupSteps: number, decay: 'linear' | 'constant' = 'linear'): number {
  if (step < warmupSteps) return (base * (step + 1)) / warmupSteps;
  if (decay === 'constant') return base;
  return (base * Math.max(0, total - step)) / Math.max(1, total - warmupSteps);
}


/** Dev metrics from probabilities: loss, accuracy (subset accuracy for multi-label), micro/macro F1 at 0.5. */
export function textMetrics(probs: Float32Array, set: EncodedTextSet, numLabels: number, multiLabel: boolean): TextEvalMetrics {
  const n = set.encodings.length;
  const eps = 1e-7;
  let loss = 0;
  if (multiLabel) {
    for (let i = 0; i < n * numLabels; i++) {
      const p = Math.min(Math.max(probs[i], eps), 1 - eps);
      loss -= set.labels[i] * Math.log(p) + (1 - set.labels[i]) * Math.log(1 - p);
    }
    const m = multiLabelMetrics(probs, set.labels, numLabels, { thresholds: 0.5 });
    return { loss: loss / (n * numLabels), accuracy: m.subsetAccuracy, microF1: m.microF1, macroF1: m.macroF1 };
  }
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const row = probs.subarray(i * numLabels, (i + 1) * numLabels);
    let best = 0;
    for (let j = 1; j < numLabels; j++) if (row[j] > row[best]) best = j;
    if (best === set.labels[i]) correct++;
    loss -= Math.log(Math.max(row[set.labels[i]], eps));
  }
  return { loss: loss / n, accuracy: correct / n };
}

function checkSet(name: string, set: EncodedTextSet, numLabels: number, multiLabel: boolean): void {
  const n = set.encodings.length;
  if (n === 0) throw new UsageError(`${name} set is empty`);
  const expected = multiLabel ? n * numLabels : n;
  if (set.labels.length !== expected) {
    throw new UsageError(
      `${name} set has ${set.labels.length} label values for ${n} examples; a ${multiLabel ? `multi-label model needs ${numLabels} per example` : 'single-label model needs one id per example'}`,
    );
  }
  if (!multiLabel) {
    for (const y of set.labels) if (!(Number.isInteger(y) && y >= 0 && y < numLabels)) throw new UsageError(`${name} set has label ${y}; the model has ${numLabels} labels (0..${numLabels - 1})`);
  }
}

/** Scale gradients so their global L2 norm is at most `maxNorm` (as torch's clip_grad_norm_). */
export function clipByGlobalNorm(grads: Record<string, tf.Tensor>, maxNorm: number): Record<string, tf.Tensor> {
  return tf.tidy(() => {
    const scale = clipScale(grads, maxNorm);
    return Object.fromEntries(Object.keys(grads).map((k) => [k, tf.mul(grads[k], scale)]));
  });
}

/**
 * The factor `clipByGlobalNorm` multiplies the gradients by (a scalar, at most 1). Each parameter's sum of squares is
 * taken in its own tidy, so no squared copy of all the gradients is held at once.
 */
export function clipScale(grads: Record<string, tf.Tensor>, maxNorm: number): tf.Scalar {
  return tf.tidy(() => {
    const sums = Object.keys(grads).map((k) => tf.tidy(() => tf.sum(tf.square(grads[k]))));
    const total = tf.sqrt(tf.addN(sums));
    return tf.minimum(1, tf.div(maxNorm, tf.add(total, 1e-6))) as tf.Scalar;
  });
}

function addGradients(into: Record<string, tf.Tensor>, more: Record<string, tf.Tensor>): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = { ...into };
  for (const [k, g] of Object.entries(more)) out[k] = out[k] ? tf.add(out[k], g) : g;
  return out;
}

/**
 * The default step: clean loss and its gradients by parameter name; with `embedsGrad`, also the gradient w.r.t. the
 * inputs_embeds (taken through an added zero offset, so the loss and parameter gradients are unchanged).
 */
export function cleanGradients(ctx: TextStepContext, options: { embedsGrad?: boolean } = {}): StepGradients {
  const vars = ctx.params.map((p) => p.variable);
  const forward = { training: true, seed: ctx.seed };
  if (!options.embedsGrad) {
    const { value, grads } = tf.variableGrads(() => ctx.lossOf(ctx.model.logits(ctx.batch, forward)), vars);
    return { loss: value, grads: renameGrads(ctx.params, grads) };
  }
  const zero = tf.zerosLike(ctx.model.embed(ctx.batch.inputIds));
  const at = gradientsAtOffset(ctx, zero);
  zero.dispose();
  return { loss: at.loss, grads: at.grads, embedsGrad: at.offsetGrad };
}

/**
 * `objective(logits at embeds + offset)` (default the training loss) and its gradients w.r.t. the parameters (by HF
 * name) and w.r.t. `offset` (the gradient w.r.t. the inputs_embeds there). Dropout uses the step's seed.
 */
export function gradientsAtOffset(
  ctx: TextStepContext,
  offset: tf.Tensor3D,
  objective: (logits: tf.Tensor2D) => tf.Scalar = ctx.lossOf,
): StepGradients & { offsetGrad: tf.Tensor3D } {
  return tf.tidy(() => {
    const vars = ctx.params.map((p) => p.variable);
    const forward = { training: true, seed: ctx.seed };
    const { value, grads } = tf.engine().gradients(
      () => objective(ctx.model.forwardFromEmbeddings(tf.add(ctx.model.embed(ctx.batch.inputIds), offset) as tf.Tensor3D, ctx.batch, forward)),
      [...vars, offset],
      undefined,
      true,
    );
    const named: Record<string, tf.Tensor> = {};
    ctx.params.forEach((p, i) => grads[i] && (named[p.name] = grads[i]));
    return { loss: value as tf.Scalar, grads: named, offsetGrad: grads[vars.length] as tf.Tensor3D };
  });
}

/** Map `tf.variableGrads` output (keyed by tfjs variable name) to Hugging Face parameter names. */
export function renameGrads(params: TextStepContext['params'], grads: Record<string, tf.Tensor>): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const p of params) if (grads[p.variable.name]) out[p.name] = grads[p.variable.name];
  return out;
}

/**
 * Train a Transformer text classifier: AdamW (no decay on biases and LayerNorm), linear warm-up and decay, global
 * gradient-norm clipping, length-bucketed batches with dynamic padding, dev evaluation each epoch, early stopping
 * (restoring the best epoch), checkpoints and resume. Single-label models use softmax cross-entropy, multi-label
 * models (`problem_type: multi_label_classification`) sigmoid binary cross-entropy. Weights are trained in place.
 */
export async function trainText(model: TextModel, data: EncodedTextSet, options: TextTrainOptions): Promise<TextTrainResult> {
  for (const [k, v] of [['epochs', options.epochs], ['batch size', options.batchSize]] as const) {
    if (!(Number.isInteger(v) && v > 0)) throw new UsageError(`${k} must be a positive integer, got ${v}`);
  }
  if (!(options.learningRate > 0)) throw new UsageError(`learning rate must be > 0, got ${options.learningRate}`);
  const warmupRatio = options.warmupRatio ?? 0.1;
  if (!(warmupRatio >= 0 && warmupRatio < 1)) throw new UsageError(`warm-up ratio must be in [0, 1), got ${warmupRatio}`);
  const smoothing = options.labelSmoothing ?? 0;
  if (!(smoothing >= 0 && smoothing < 1)) throw new UsageError(`label smoothing must be in [0, 1), got ${smoothing}`);
  checkLoopOptions(options);
  const gradAccum = options.gradAccum ?? 1;
  if (!(Number.isInteger(gradAccum) && gradAccum >= 1)) throw new UsageError(`gradient accumulation must be a positive integer (micro-batches per step), got ${gradAccum}`);
  if (gradAccum > options.batchSize) throw new UsageError(`gradient accumulation ${gradAccum} is more micro-batches than the batch size ${options.batchSize}; use at most ${options.batchSize}`);
  const defenses = options.defenses ?? [];
  for (const d of defenses) {
    if ((d as { kind?: string }).kind === 'defense' && d.modality !== 'text') {
      throw new UsageError(`${d.name} is a defense for image models; text models take parry/fgm, parry/pgd-embed, parry/freelb, parry/smart, parry/r-drop`);
    }
  }
  if (defenses.filter((d) => d.gradients).length > 1) {
    throw new UsageError(`${defenses.filter((d) => d.gradients).map((d) => d.name).join(' and ')} both replace the training step; use one of them`);
  }
  const multi = isMulti(model);
  const L = model.numLabels;
  checkSet('training', data, L, multi);
  if (options.positiveWeights) {
    if (!multi) throw new UsageError('positive weights are for multi-label models (per-label BCE); single-label models use cross-entropy');
    if (options.positiveWeights.length !== L || options.positiveWeights.some((w) => !(w > 0 && Number.isFinite(w)))) {
      throw new UsageError(`positive weights must be ${L} positive numbers, one per label; got ${options.positiveWeights.length}`);
    }
  }
  if (options.evalSet) checkSet('evaluation', options.evalSet, L, multi);
  const switchable = model as { recompute?: unknown };
  const canRecompute = typeof switchable.recompute === 'boolean';
  if (options.recompute && !canRecompute) throw new UsageError('recompute: this model has no per-layer recomputation switch (a @parry/text classifier has one); leave recompute unset');
  let recompute = options.recompute ?? false;
  const encoderConfig = (model as { config?: MemoryConfig }).config;
  if (options.memoryCheck !== false && encoderConfig && typeof encoderConfig.hiddenSize === 'number') {
    const longest = Math.max(...data.encodings.map((e) => e.ids.length));
    recompute = checkTrainingMemory(encoderConfig, options.batchSize, longest, tf.getBackend(), { gradAccum, recompute: canRecompute ? options.recompute : false }).recompute;
  }

  // settings that depend on the model (e.g. radii relative to the embedding norm), fixed before the first epoch
  const effective = defenses.map((d) => (d.prepare ? guardPluginCallSync(d.name, 'prepare()', () => d.prepare!({ model, data, pretrained: options.pretrained })) : undefined));
  const activeFrom = effective.map((e) => (typeof e?.startEpoch === 'number' ? e.startEpoch : 1));
  const guard = options.collapseGuard === true && !multi && options.evalSet ? collapseGuard(options.evalSet, L, defenses, effective, activeFrom, options.epochs) : undefined;

  const params = model.parameters();
  const vars = params.map((p) => p.variable);
  const decay = params.map((p) => !(/(^|\.)bias$/.test(p.name) || /LayerNorm|layer_norm/.test(p.name)));
  const weightDecay = options.weightDecay ?? 0.01;
  const layerLrDecay = options.layerLrDecay ?? 1;
  if (!(typeof layerLrDecay === 'number' && layerLrDecay > 0 && layerLrDecay <= 1)) throw new UsageError(`layer-wise learning-rate decay must be a number in (0, 1] (1 = off), got ${String(layerLrDecay)}`);
  let lrScale: number[] | undefined;
  if (layerLrDecay !== 1) {
    const names = params.map((p) => p.name);
    const indices = names.map((n) => LAYER_NAME.exec(n)).filter((m) => m !== null).map((m) => Number(m[1]));
    if (indices.length === 0) throw new UsageError('layer-wise learning-rate decay needs a Transformer encoder whose parameters have Hugging Face layer names (a @parry/text classifier); leave it at 1 for this model');
    const configured = (model as { config?: { numLayers?: unknown } }).config?.numLayers;
    lrScale = layerLrScales(names, typeof configured === 'number' ? configured : Math.max(...indices) + 1, layerLrDecay);
  }
  const lengths = data.encodings.map((e) => e.ids.length);
  const steps = Math.ceil(data.encodings.length / options.batchSize);
  const totalSteps = steps * options.epochs;
  const warmupSteps = Math.round(warmupRatio * totalSteps);
  const maxGradNorm = options.maxGradNorm ?? 1;
  const padMultiple = options.padMultiple ?? 8;
  const hyperparameters: Record<string, unknown> = {
    epochs: options.epochs,
    batchSize: options.batchSize,
    learningRate: options.learningRate,
    // only when on, so the config keys of runs without it (and their checkpoints' resume) stay as they were
    ...(layerLrDecay !== 1 ? { layerLrDecay } : {}),
    optimizer: { kind: 'adamw', beta1: 0.9, beta2: 0.999, epsilon: 1e-6, weightDecay, noDecay: 'bias, LayerNorm' },
    schedule: { warmupRatio, warmupSteps, after: options.schedule ?? 'linear', totalSteps },
    maxGradNorm,
    ...(gradAccum > 1 ? { gradAccum } : {}),
    labelSmoothing: smoothing,
    positiveWeights: options.positiveWeights ? Array.from(options.positiveWeights, (w) => Number(w.toFixed(4))) : null,
    seed: options.seed,
    nTrain: data.encodings.length,
    outputKind: model.outputKind,
    earlyStop: options.earlyStop ?? null,
    defenses: defenses.map((d, i) => ({ name: d.name, options: d.options ?? {}, ...(effective[i] ? { effective: effective[i] } : {}) })),
  };

  const runEpoch = async ({ epoch, seed, rng }: EpochContext): Promise<EpochOutcome<TextEpochRecord, never>> => {
    const start = performance.now();
    let set: EncodedTextSet = data;
    for (const d of defenses) {
      if (!d.epochData) continue;
      const next = await guardPluginCall(d.name, 'epochData()', () => d.epochData!({ model, data, tokenizer: options.tokenizer, maxLength: options.maxLength, truncation: options.truncation, attacks: options.attacks, epoch, epochs: options.epochs, seed }), {
        validate: (r) => (r === undefined || (r !== null && typeof r === 'object' && Array.isArray((r as EncodedTextSet).encodings)) ? undefined : `returned ${typeof r === 'object' ? JSON.stringify(r) : String(r)}, not an encoded text set or undefined`),
      });
      if (next) {
        checkSet(`${d.name}'s epoch ${epoch}`, next, L, multi);
        set = next;
      }
    }
    const batches = bucketedBatches(set === data ? lengths : set.encodings.map((e) => e.ids.length), options.batchSize, rng.fork());
    let lossSum = 0;
    let lr = 0;
    for (const [step, indices] of batches.entries()) {
      // Progress in units of the original set's steps, so an epoch with added examples keeps the schedule's shape.
      const globalStep = Math.round((epoch - 1 + step / batches.length) * steps);
      lr = warmupLinearRate(options.learningRate, globalStep, totalSteps, warmupSteps, options.schedule ?? 'linear');
      const stepRng = rng.fork();
      const tensorsBefore = tf.memory().numTensors;
      const stepOf = (part: readonly number[], partRng: typeof stepRng) => {
        const batch = padBatch(set.encodings, part, options.padId, padMultiple);
        const targets = targetsFor(set, part, L, multi, smoothing);
        const ctx: TextStepContext = {
          model,
          batch,
          targets,
          params,
          lossOf: (logits) => textLoss(logits, targets, multi, options.positiveWeights),
          seed: partRng.tfSeed(),
          rng: partRng,
          epoch,
          step,
          globalStep,
          totalSteps,
          learningRate: lr,
        };
        return { ctx, dispose: () => (disposeBatch(batch), targets.dispose()) };
      };
      let loss: number;
      if (gradAccum === 1) {
        const { ctx, dispose } = stepOf(indices, stepRng);
        try {
          loss = await textStep(ctx, defenses, optimizer, maxGradNorm);
        } finally {
          dispose();
        }
      } else {
        loss = await accumulatedStep(microBatches(indices, gradAccum), (part) => stepOf(part, stepRng.fork()), defenses, optimizer, maxGradNorm, params);
      }
      // what a hook kept alive past the step's tidy (tf.keep, variables it made) is a leak of the defenses used;
      // the optimizer (and a defense that starts this epoch, e.g. SMART's teacher) makes its state on an epoch's
      // first step, so counting starts with the second
      const leaked = tf.memory().numTensors - tensorsBefore;
      if (leaked > 0 && defenses.length && step > 0) {
        throw new PluginError(defenses.map((d) => d.name).join(', '), `the training step leaked ${leaked} tensor${leaked === 1 ? '' : 's'} (kept alive past the step); dispose what the hooks create`);
      }
      if (!Number.isFinite(loss)) throw new UsageError(`training loss became ${loss} at epoch ${epoch}, step ${step + 1}; lower the learning rate or enable gradient clipping`);
      lossSum += loss;
      options.onBatch?.({ epoch, step: step + 1, steps: batches.length, loss });
    }
    const trainSeconds = (performance.now() - start) / 1000;
    const record: TextEpochRecord = { epoch, loss: lossSum / batches.length, learningRate: lr, trainSeconds, seconds: 0, ...(set !== data ? { trainExamples: set.encodings.length } : {}) };
    if (!options.evalSet) return { record };
    const probs = await predictText(model, options.evalSet.encodings, options.padId, options.evalBatchSize ?? 64);
    record.dev = textMetrics(probs, options.evalSet, L, multi);
    guard?.(epoch, probs, record.dev.accuracy);
    return { record, metric: multi ? record.dev.macroF1! : record.dev.accuracy };
  };

  const optimizer = createOptimizer({ kind: 'adamw', beta1: 0.9, beta2: 0.999, epsilon: 1e-6, weightDecay }, vars, { decay, ...(lrScale ? { lrScale } : {}) });
  const recomputeBefore = switchable.recompute;
  if (canRecompute) switchable.recompute = recompute;
  try {
    const r = await runEpochLoop({
      epochs: options.epochs,
      seed: options.seed,
      configKey: JSON.stringify(hyperparameters),
      checkpointDir: options.checkpointDir,
      resume: options.resume,
      keepCheckpoints: options.keepCheckpoints,
      weights: params.map((p) => [`param/${p.name}`, p.variable] as const),
      optimizer,
      best: { patience: options.earlyStop },
      runEpoch,
      onEpoch: options.onEpoch,
    });
    return { epochs: r.records, bestEpoch: r.bestEpoch, resumedFrom: r.resumedFrom, stoppedEarly: r.stoppedEarly, hyperparameters };
  } finally {
    if (canRecompute) switchable.recompute = recomputeBefore;
    for (const d of defenses) d.dispose?.();
  }
}

/**
 * The collapse guard of {@link TextTrainOptions.collapseGuard}: a function of each epoch's dev probabilities. An epoch
 * is collapsed when a defense was active in it and the dev predictions were all one class or the dev accuracy was the
 * majority-class rate (within 1e-9). It throws a one-line UsageError at the second consecutive collapsed epoch when an
 * earlier epoch had beaten that (the defense undid what the model had learned), and at the last epoch when the run
 * ends with two or more consecutive collapsed epochs (a majority-class model is not worth saving). A model still on
 * the majority plateau of its first epochs is given until the last epoch to leave it.
 */
function collapseGuard(
  dev: EncodedTextSet,
  numLabels: number,
  defenses: readonly TextDefense[],
  effective: ReadonlyArray<Record<string, unknown> | undefined>,
  activeFrom: readonly number[],
  epochs: number,
): (epoch: number, probs: Float32Array, accuracy: number) => void {
  const counts = new Array<number>(numLabels).fill(0);
  for (const y of dev.labels) counts[y]++;
  const majority = Math.max(...counts) / dev.labels.length;
  let run = 0;
  let learned = false; // an epoch before the current run of collapsed ones beat the majority rate
  return (epoch, probs, accuracy) => {
    const active = defenses.filter((_, i) => epoch >= activeFrom[i]);
    const n = probs.length / numLabels;
    const predicted = new Set<number>();
    for (let i = 0; i < n && predicted.size < 2; i++) {
      let best = 0;
      for (let j = 1; j < numLabels; j++) if (probs[i * numLabels + j] > probs[i * numLabels + best]) best = j;
      predicted.add(best);
    }
    const plateau = predicted.size < 2 || Math.abs(accuracy - majority) <= 1e-9;
    const collapsed = active.length > 0 && plateau;
    run = collapsed ? run + 1 : 0;
    if (!(run >= 2 && (learned || epoch === epochs))) {
      learned ||= !plateau;
      return;
    }
    const first = active[0];
    const e = effective[defenses.indexOf(first)];
    const key = e ? ['eps', 'advLr'].find((k) => typeof e[k] === 'number') : undefined;
    const radius = key ? ` (${key} ${e![key]}${e!.relative ? ` = ${e!.embeddingNorm} mean token-embedding norm x ${Number((Number(e![key]) / Number(e!.embeddingNorm)).toPrecision(3))}` : ''})` : '';
    const short = first.name.replace(/^.*\//, '');
    const seen = predicted.size < 2 ? `every dev example predicted as one class (accuracy ${(100 * accuracy).toFixed(1)}%)` : `dev accuracy ${(100 * accuracy).toFixed(1)}% = the majority-class rate`;
    throw new UsageError(
      `training collapsed under ${active.map((d) => d.name).join(', ')}${radius}: ${seen} in epochs ${epoch - run + 1}-${epoch}${learned ? ' after an epoch above it' : ', no epoch above it (a too low --lr or too few --epochs can do this too)'}; ` +
        `${key ? `lower its radius (--def-opt ${short}.${key}=<smaller>), ` : ''}start it later (--def-opt ${short}.startEpoch=${epoch + 1}) or train without --defense` +
        ' (library: collapseGuard: false turns this check off)',
    );
  };
}

/** Gradients of one (micro-)batch: the clean ones (or a defense's `gradients` replacing them) plus every `extraGradients`. */
export function stepGradients(ctx: TextStepContext, defenses: readonly TextDefense[]): { loss: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const replacing = defenses.find((d) => d.gradients);
  // plugin hooks run inside the caller's tidy: their intermediates are freed with it; the guard names the plugin
  // when a hook throws or hands back something that is not a loss and gradients
  const clean = replacing
    ? guardPluginCallSync(replacing.name, 'gradients()', () => replacing.gradients!(ctx), { noLeakCheck: true, validate: checkStepOutput })
    : cleanGradients(ctx, { embedsGrad: defenses.some((d) => d.needsEmbedsGrad) });
  let grads = clean.grads;
  let loss: tf.Scalar = clean.loss;
  for (const d of defenses) {
    if (!d.extraGradients) continue;
    const extra = guardPluginCallSync(d.name, 'extraGradients()', () => d.extraGradients!(ctx, clean), { noLeakCheck: true, validate: checkStepOutput });
    grads = addGradients(grads, extra.grads);
    loss = tf.add(loss, extra.loss);
  }
  return { loss, grads };
}

/**
 * Clip by global norm and apply one optimizer step. The clipping factor is handed to the optimizer, which scales one
 * variable's gradient at a time: no clipped copy of all the gradients is made (BERT-base: 418 MiB).
 */
function applyGradients(grads: Record<string, tf.Tensor>, params: TextStepContext['params'], optimizer: TrainOptimizer, maxGradNorm: number, learningRate: number): void {
  let scale = 1;
  if (maxGradNorm > 0) {
    const s = clipScale(grads, maxGradNorm);
    scale = s.dataSync()[0];
    s.dispose();
  }
  optimizer.apply(Object.fromEntries(params.map((p) => [p.variable.name, grads[p.name]]).filter(([, g]) => g)), learningRate, scale);
}

/**
 * One optimizer step: the clean gradients (or a defense's `gradients` replacing them) plus every `extraGradients`,
 * clipped by global norm, applied by the optimizer. Runs inside one `tf.tidy`; returns the loss.
 */
async function textStep(ctx: TextStepContext, defenses: readonly TextDefense[], optimizer: TrainOptimizer, maxGradNorm: number): Promise<number> {
  const lossT = tf.tidy(() => {
    const { loss, grads } = stepGradients(ctx, defenses);
    applyGradients(grads, ctx.params, optimizer, maxGradNorm, ctx.learningRate);
    return loss;
  });
  const loss = (await lossT.data())[0];
  lossT.dispose();
  return loss;
}

/** `indices` cut into `k` contiguous micro-batches whose sizes differ by at most one. */
export function microBatches(indices: readonly number[], k: number): number[][] {
  const out: number[][] = [];
  let at = 0;
  for (let j = 0; j < k; j++) {
    const size = Math.floor(indices.length / k) + (j < indices.length % k ? 1 : 0);
    if (size > 0) out.push(indices.slice(at, at + size));
    at += size;
  }
  return out;
}

/**
 * The gradients and loss of a batch from its micro-batches: each part's gradients (and loss) weighted by its share of
 * the batch and summed in kept accumulators, one micro-batch's graph alive at a time. The caller owns (and disposes)
 * the returned tensors.
 */
export async function accumulateGradients(
  parts: readonly (readonly number[])[],
  stepOf: (part: readonly number[]) => { ctx: TextStepContext; dispose: () => void },
  defenses: readonly TextDefense[] = [],
): Promise<{ loss: tf.Scalar; grads: Record<string, tf.Tensor>; learningRate: number }> {
  const total = parts.reduce((a, p) => a + p.length, 0);
  let acc: Record<string, tf.Tensor> = {};
  let lossAcc: tf.Scalar | undefined;
  let learningRate = 0;
  try {
    for (const part of parts) {
      const { ctx, dispose } = stepOf(part);
      learningRate = ctx.learningRate;
      try {
        const w = part.length / total;
        const step = tf.tidy(() => stepGradients(ctx, defenses));
        // parameter by parameter, freeing as it goes: the peak grows by one parameter's size, not by the whole model's
        for (const [k, g] of Object.entries(step.grads)) {
          const next = tf.tidy(() => (acc[k] ? tf.add(acc[k], tf.mul(g, w)) : tf.mul(g, w)));
          tf.dispose([g, ...(acc[k] ? [acc[k]] : [])]);
          acc[k] = next;
        }
        const l = tf.tidy(() => (lossAcc ? tf.add(lossAcc, tf.mul(step.loss, w)) : tf.mul(step.loss, w)) as tf.Scalar);
        tf.dispose([step.loss, ...(lossAcc ? [lossAcc] : [])]);
        lossAcc = l;
      } finally {
        dispose();
      }
    }
  } catch (e) {
    tf.dispose([...Object.values(acc), ...(lossAcc ? [lossAcc] : [])]);
    throw e;
  }
  return { loss: lossAcc!, grads: acc, learningRate };
}

/** One optimizer step over micro-batches ({@link accumulateGradients}, then clip and apply once); returns the loss. */
async function accumulatedStep(
  parts: number[][],
  stepOf: (part: readonly number[]) => { ctx: TextStepContext; dispose: () => void },
  defenses: readonly TextDefense[],
  optimizer: TrainOptimizer,
  maxGradNorm: number,
  params: TextStepContext['params'],
): Promise<number> {
  const { loss, grads, learningRate } = await accumulateGradients(parts, stepOf, defenses);
  try {
    tf.tidy(() => applyGradients(grads, params, optimizer, maxGradNorm, learningRate));
    return (await loss.data())[0];
  } finally {
    tf.dispose([loss, ...Object.values(grads)]);
  }
}

/** What a step hook must hand back: a scalar loss tensor and a record of gradient tensors (one phrase when not). */
function checkStepOutput(r: unknown): string | undefined {
  const o = r as { loss?: unknown; grads?: unknown } | null;
  if (o === null || typeof o !== 'object') return `returned ${String(r)}, not { loss, grads }`;
  if (!(o.loss instanceof tf.Tensor) || o.loss.rank !== 0) return 'returned a loss that is not a scalar tensor';
  if (o.grads === null || typeof o.grads !== 'object' || !Object.values(o.grads).every((g) => g instanceof tf.Tensor)) return 'returned grads that are not a record of tensors';
  return undefined;
}
