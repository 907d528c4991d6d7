import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';

/** What a classifier's outputs mean: one class per example (softmax) or independent labels (sigmoid). */
export type OutputKind = 'single-label' | 'multi-label';

/** Declared capabilities: attacks state what they need and the registry checks it (ART estimator requirements). */
export interface ModelCapabilities {
  /** Returns scores/logits for a batch (every model). */
  readonly scores: boolean;
  /** `logits` is differentiable, so the loss gradient w.r.t. the input exists. */
  readonly gradients: boolean;
}

/**
 * The one model shape every attack, defense and metric works with. The model owns its input bounds and
 * preprocessing: attacks never hard-code [0, 1] or a class count (Foolbox).
 */
export interface Classifier {
  readonly name: string;
  /** Shape of one example (no batch dimension). */
  readonly inputShape: readonly number[];
  /** Valid input range; adversarial examples are clipped to it. */
  readonly bounds: readonly [number, number];
  readonly numClasses: number;
  readonly outputKind: OutputKind;
  readonly labelNames?: readonly string[];
  readonly capabilities: ModelCapabilities;
  /**
   * Logits `[batch, numClasses]` for a batch `[batch, ...inputShape]`. Synchronous so it can run inside
   * `tf.tidy` and gradient tapes. The caller owns the result; the input is not disposed.
   */
  logits(x: tf.Tensor, options?: { training?: boolean }): tf.Tensor2D;
  /** Releases what the model owns (weights). Optional. */
  dispose?(): void;
}

export interface ClassifierOptions {
  name?: string;
  inputShape: readonly number[];
  numClasses: number;
  bounds?: readonly [number, number];
  outputKind?: OutputKind;
  labelNames?: readonly string[];
  /** Set false for a function that is not differentiable (a black box); default true. */
  gradients?: boolean;
}

function checkBounds(bounds: readonly [number, number]): readonly [number, number] {
  if (!(bounds.length === 2 && Number.isFinite(bounds[0]) && Number.isFinite(bounds[1]) && bounds[0] < bounds[1])) {
    throw new RangeError(`bounds must be [lower, upper] with lower < upper, got ${JSON.stringify(bounds)}`);
  }
  return [bounds[0], bounds[1]] as const;
}

/** Adapter for a plain tensor function `x -> logits`. */
export function fromFunction(
  fn: (x: tf.Tensor, options?: { training?: boolean }) => tf.Tensor,
  options: ClassifierOptions,
): Classifier {
  return {
    name: options.name ?? 'function',
    inputShape: [...options.inputShape],
    bounds: checkBounds(options.bounds ?? [0, 1]),
    numClasses: options.numClasses,
    outputKind: options.outputKind ?? 'single-label',
    labelNames: options.labelNames,
    capabilities: { scores: true, gradients: options.gradients ?? true },
    logits: (x, o) => fn(x, o) as tf.Tensor2D,
  };
}

export interface LayersModelOptions {
  name?: string;
  bounds?: readonly [number, number];
  outputKind?: OutputKind;
  labelNames?: readonly string[];
}

/**
 * Adapter for a tfjs `LayersModel` whose last layer outputs logits (no softmax/sigmoid activation).
 * `dispose()` disposes the model.
 */
export function fromLayersModel(model: LayersModel, options: LayersModelOptions = {}): Classifier {
  const inShape = model.inputs[0].shape.slice(1);
  const outShape = model.outputs[0].shape;
  if (inShape.some((d) => d == null) || outShape.length !== 2 || outShape[1] == null) {
    throw new RangeError(`fromLayersModel needs a fixed input shape and a [batch, classes] output, got ${JSON.stringify(inShape)} -> ${JSON.stringify(outShape)}`);
  }
  return {
    name: options.name ?? model.name,
    inputShape: inShape as number[],
    bounds: checkBounds(options.bounds ?? [0, 1]),
    numClasses: outShape[1],
    outputKind: options.outputKind ?? 'single-label',
    labelNames: options.labelNames,
    capabilities: { scores: true, gradients: true },
    logits: (x, o) => model.apply(x, { training: o?.training ?? false }) as tf.Tensor2D,
    dispose: () => model.dispose(),
  };
}

/** Predicted class per example for a single-label model (argmax of the logits), as int32 `[batch]`. */
export function predict(model: Classifier, x: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => tf.argMax(model.logits(x), 1) as tf.Tensor1D);
}

/**
 * Runs `model.logits` over `x` in batches and returns the concatenated logits (caller owns them).
 * Keeps peak memory bounded for large evaluation sets.
 */
export function logitsInBatches(model: Classifier, x: tf.Tensor, batchSize = 256): tf.Tensor2D {
  const n = x.shape[0];
  if (n <= batchSize) return tf.tidy(() => model.logits(x));
  const parts: tf.Tensor2D[] = [];
  try {
    for (let i = 0; i < n; i += batchSize) {
      const size = Math.min(batchSize, n - i);
      parts.push(tf.tidy(() => model.logits(tf.slice(x, i, size))));
    }
    return tf.concat(parts, 0);
  } finally {
    tf.dispose(parts);
  }
}
