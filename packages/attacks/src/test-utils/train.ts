/**
 * A small self-contained trainer for the attack tests, so that @parry/attacks does not depend on @parry/defenses
 * (issue 13: attacks and defenses must not import each other). Plain supervised training: seeded shuffling,
 * minibatch Adam on softmax cross-entropy, optional cosine decay of the learning rate to 0, in-place on the model's
 * variables. Not exported from the package; not a substitute for the defenses' trainer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type Classifier, createRng, crossEntropy, logitsInBatches } from '@parry/core';

/** `x` `[n, ...]`, `y` int32 `[n]`, owned by the caller. */
export interface LabelledTensors {
  x: tf.Tensor;
  y: tf.Tensor1D;
}

export interface FitOptions {
  epochs: number;
  batchSize: number;
  /** Peak learning rate of Adam. */
  learningRate: number;
  /** Constant (default) or cosine decay to 0 over all steps. */
  schedule?: 'constant' | 'cosine';
  /** Seed of the shuffles. */
  seed: number;
  /** Variables to train (default: every trainable variable registered with the engine). */
  weights?: readonly tf.Variable[];
  /** Held-out set whose clean accuracy is measured after every epoch. */
  evalSet?: LabelledTensors;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export interface FitEpoch {
  epoch: number;
  /** Mean training loss over the epoch's batches. */
  loss: number;
  /** Clean accuracy on `evalSet` after the epoch (NaN without one). */
  testAccuracy: number;
}

/** Clean top-1 accuracy of `model` on `set` (evaluated in batches, no tensors kept). */
export async function accuracy(model: Classifier, set: LabelledTensors): Promise<number> {
  const t = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(logitsInBatches(model, set.x, 512), 1), tf.cast(set.y, 'int32')), 'float32')));
  const v = (await t.data())[0];
  t.dispose();
  return v;
}

/** The trainable variables of a tfjs-layers model (`model.trainableWeights`), for `FitOptions.weights`. */
export function trainableVariables(layers: { trainableWeights: readonly { read(): tf.Tensor }[] }): tf.Variable[] {
  return layers.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** Trains `model` in place with minibatch Adam on softmax cross-entropy; returns one record per epoch. */
export async function fitClassifier(model: Classifier, data: LabelledTensors, options: FitOptions): Promise<FitEpoch[]> {
  const { epochs, batchSize, learningRate } = options;
  if (!(Number.isInteger(epochs) && epochs > 0 && Number.isInteger(batchSize) && batchSize > 0 && learningRate > 0)) {
    throw new RangeError(`fitClassifier needs positive epochs, batch size and learning rate, got ${epochs}, ${batchSize}, ${learningRate}`);
  }
  const weights = [...(options.weights ?? Object.values(tf.engine().registeredVariables).filter((v) => v.trainable))];
  if (weights.length === 0) throw new RangeError('fitClassifier: no trainable variables');
  const beta1 = options.beta1 ?? 0.9;
  const beta2 = options.beta2 ?? 0.999;
  const eps = options.epsilon ?? 1e-7;
  const m = weights.map((w) => tf.variable(tf.zerosLike(w), false));
  const v = weights.map((w) => tf.variable(tf.zerosLike(w), false));
  const n = data.x.shape[0];
  const steps = Math.ceil(n / batchSize);
  const totalSteps = steps * epochs;
  const rng = createRng(options.seed);
  const indices = Array.from({ length: n }, (_, i) => i);
  const records: FitEpoch[] = [];
  let t = 0;
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const order = rng.shuffle(indices);
      let lossSum = 0;
      for (let step = 0; step < steps; step++) {
        const progress = ((epoch - 1) * steps + step) / totalSteps;
        const lr = options.schedule === 'cosine' ? 0.5 * learningRate * (1 + Math.cos(Math.PI * progress)) : learningRate;
        t++;
        const lossT = tf.tidy(() => {
          const ids = tf.tensor1d(order.slice(step * batchSize, (step + 1) * batchSize), 'int32');
          const x = tf.gather(data.x, ids);
          const y = tf.gather(data.y, ids) as tf.Tensor1D;
          const { value, grads } = tf.variableGrads(() => tf.mean(crossEntropy(model.logits(x, { training: true }), y)) as tf.Scalar, weights);
          // Adam (Kingma & Ba 2015) with bias correction
          const c1 = 1 - beta1 ** t;
          const c2 = 1 - beta2 ** t;
          weights.forEach((w, i) => {
            const g = grads[w.name];
            m[i].assign(tf.add(tf.mul(m[i], beta1), tf.mul(g, 1 - beta1)));
            v[i].assign(tf.add(tf.mul(v[i], beta2), tf.mul(tf.square(g), 1 - beta2)));
            w.assign(tf.sub(w, tf.mul(tf.div(tf.div(m[i], c1), tf.add(tf.sqrt(tf.div(v[i], c2)), eps)), lr)));
          });
          return value;
        });
        lossSum += (await lossT.data())[0];
        lossT.dispose();
      }
      records.push({ epoch, loss: lossSum / steps, testAccuracy: options.evalSet ? await accuracy(model, options.evalSet) : Number.NaN });
    }
  } finally {
    tf.dispose([...m, ...v]);
  }
  return records;
}
