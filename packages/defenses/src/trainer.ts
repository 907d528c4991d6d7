import * as tf from '@tensorflow/tfjs-core';
import { type Classifier, createRng, crossEntropy, logitsInBatches, UsageError } from '@parry/core';

/** A labelled set held as tensors by the caller: `x` `[n, ...]`, `y` int32 `[n]`. */
export interface LabelledTensors {
  x: tf.Tensor;
  y: tf.Tensor1D;
}

export interface EpochRecord {
  epoch: number;
  /** Mean training loss over the epoch's batches. */
  loss: number;
  trainAccuracy: number;
  testAccuracy: number;
  seconds: number;
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Learning-rate schedule over all steps: constant, or cosine decay to 0 (default constant). */
  schedule?: 'constant' | 'cosine';
  seed: number;
  /** Held-out set evaluated after every epoch. */
  evalSet?: LabelledTensors;
  /** Examples of the training set used to measure training accuracy after each epoch (default 2000). */
  trainEvalSize?: number;
  onBatch?: (info: { epoch: number; step: number; steps: number; loss: number }) => void;
  onEpoch?: (record: EpochRecord) => void;
}

function checkPositiveInt(name: string, v: number): void {
  if (!(Number.isInteger(v) && v > 0)) throw new UsageError(`${name} must be a positive integer, got ${v}`);
}

async function accuracyOf(model: Classifier, set: LabelledTensors, limit?: number): Promise<number> {
  const n = Math.min(limit ?? set.x.shape[0], set.x.shape[0]);
  const acc = tf.tidy(() => {
    const x = n < set.x.shape[0] ? tf.slice(set.x, 0, n) : set.x;
    const y = n < set.y.shape[0] ? tf.slice(set.y, 0, n) : set.y;
    const logits = logitsInBatches(model, x, 512);
    return tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(y, 'int32')), 'float32'));
  });
  const v = (await acc.data())[0];
  acc.dispose();
  return v;
}

/** Cosine decay from `base` at t = 0 to 0 at t = 1. */
export function learningRateAt(base: number, t: number): number {
  return 0.5 * base * (1 + Math.cos(Math.PI * Math.min(Math.max(t, 0), 1)));
}

/**
 * Plain supervised training with Adam and softmax cross-entropy: seeded shuffling, one `tf.tidy` per step, and an
 * evaluation after every epoch. The model's weights are trained in place.
 */
export async function trainClassifier(model: Classifier, data: LabelledTensors, options: TrainOptions): Promise<EpochRecord[]> {
  checkPositiveInt('epochs', options.epochs);
  checkPositiveInt('batch size', options.batchSize);
  if (!(options.learningRate > 0)) throw new UsageError(`learning rate must be > 0, got ${options.learningRate}`);
  const n = data.x.shape[0];
  const rng = createRng(options.seed);
  const optimizer = tf.train.adam(options.learningRate);
  const steps = Math.ceil(n / options.batchSize);
  const totalSteps = steps * options.epochs;
  const records: EpochRecord[] = [];
  try {
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      const start = performance.now();
      const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
      let lossSum = 0;
      for (let step = 0; step < steps; step++) {
        const idx = order.slice(step * options.batchSize, (step + 1) * options.batchSize);
        if (options.schedule === 'cosine') {
          const t = ((epoch - 1) * steps + step) / totalSteps;
          // AdamOptimizer reads `learningRate` on every update; tfjs declares it protected.
          (optimizer as unknown as { learningRate: number }).learningRate = learningRateAt(options.learningRate, t);
        }
        const lossT = tf.tidy(() => {
          const ids = tf.tensor1d(idx, 'int32');
          const xb = tf.gather(data.x, ids);
          const yb = tf.gather(data.y, ids) as tf.Tensor1D;
          return optimizer.minimize(() => tf.mean(crossEntropy(model.logits(xb, { training: true }), yb)) as tf.Scalar, true)!;
        });
        const loss = (await lossT.data())[0];
        lossT.dispose();
        lossSum += loss;
        options.onBatch?.({ epoch, step: step + 1, steps, loss });
      }
      const record: EpochRecord = {
        epoch,
        loss: lossSum / steps,
        trainAccuracy: await accuracyOf(model, data, options.trainEvalSize ?? 2000),
        testAccuracy: options.evalSet ? await accuracyOf(model, options.evalSet) : Number.NaN,
        seconds: (performance.now() - start) / 1000,
      };
      records.push(record);
      options.onEpoch?.(record);
    }
  } finally {
    optimizer.dispose();
  }
  return records;
}
