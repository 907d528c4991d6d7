/** The epoch loop shared by `train` and `trainText` (issue 13): resume, best weights and early stopping, no leaks. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { type DefenseState, fromLayersModel, initBackend } from '@parry/core';
import { createTransformerClassifier, smallConfig, type TransformerClassifier } from '@parry/text';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from './checkpoint.js';
import { type EpochOutcome, runEpochLoop } from './loop.js';
import { createOptimizer } from './optimizer.js';
import { gaussianNoise, labelSmoothing } from './regularizers.js';
import { fgm } from './text/embedding-defenses.js';
import { type EncodedTextSet, type TextEpochRecord, trainText } from './text/trainer.js';
import { type EpochRecord, train } from './trainer.js';
import { toyTextSet as toySet } from './test-utils/toy-text.js';

let tmp: string;
beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-loop-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const dir = (name: string) => path.join(tmp, name);
const values = (vs: readonly tf.Tensor[]) => Promise.all(vs.map(async (v) => Array.from(await v.data())));
/** Records without wall times (the only fields that differ between runs). */
const timeless = <R extends { seconds: number; trainSeconds?: number }>(rs: readonly R[]) => rs.map(({ seconds, trainSeconds, ...rest }) => rest);
/** Runs `p`, expecting it to fail with the simulated kill thrown from `onEpoch` (after that epoch's checkpoint). */
const killed = (p: Promise<unknown>) => expect(p).rejects.toThrow(/killed after epoch/);
const killAt = (epoch: number) => (r: { epoch: number }) => {
  if (r.epoch === epoch) throw new Error(`killed after epoch ${epoch}`);
};

// ---------------------------------------------------------------------------------------------------------------
// The loop alone, with a toy epoch: one variable that takes a seeded step each epoch, a scripted dev metric and a
// plugin whose state (a tensor and JSON) must survive a resume.

/** A plugin that counts epochs in a tensor it keeps; resumable through getState/setState. */
function counterPlugin() {
  let count: tf.Tensor = tf.keep(tf.scalar(0));
  let calls = 0;
  return {
    name: 'test/counter',
    bump() {
      const next = tf.keep(tf.add(count, 1));
      count.dispose();
      count = next;
      calls++;
    },
    get calls() {
      return calls;
    },
    getState: (): DefenseState => ({ json: { calls }, tensors: { count } }),
    setState(s: DefenseState) {
      count.dispose();
      count = tf.keep(tf.clone(s.tensors!.count));
      calls = (s.json as { calls: number }).calls;
    },
    dispose: () => count.dispose(),
    value: async () => (await count.data())[0],
  };
}

interface ToyRecord {
  epoch: number;
  seconds: number;
  w: number[];
  /** The plugin's counter after the epoch. */
  count: number;
}

async function toyRun(opts: { epochs: number; metrics?: number[]; patience?: number; checkpointDir?: string; resume?: boolean; onEpoch?: (r: ToyRecord) => void; init?: number }) {
  const init = tf.tensor1d([opts.init ?? 0, 0]);
  const w = tf.variable(init, true, `toy-${Math.random()}`);
  init.dispose();
  const plugin = counterPlugin();
  const optimizer = createOptimizer({ kind: 'sgd', momentum: 0.9 }, [w]);
  const seen: number[] = [];
  try {
    const r = await runEpochLoop<ToyRecord, never, { note: string }>({
      epochs: opts.epochs,
      seed: 5,
      configKey: 'toy',
      checkpointDir: opts.checkpointDir,
      resume: opts.resume,
      weights: [['weights/0', w]],
      optimizer,
      plugins: [plugin],
      best: opts.metrics ? { patience: opts.patience } : undefined,
      state: { save: () => ({ note: 'kept' }), load: (s) => expect(s.note).toBe('kept') },
      runEpoch: async ({ epoch, rng }): Promise<EpochOutcome<ToyRecord, never>> => {
        seen.push(epoch);
        const g = tf.tensor1d([rng.float() - 0.5, rng.float() - 0.5]);
        optimizer.apply({ [w.name]: g }, 0.1);
        g.dispose();
        plugin.bump();
        return { record: { epoch, seconds: 0, w: Array.from(await w.data()), count: await plugin.value() }, metric: opts.metrics?.[epoch - 1] };
      },
      onEpoch: opts.onEpoch,
    });
    return { ...r, w: Array.from(await w.data()), calls: plugin.calls, seen };
  } finally {
    w.dispose();
  }
}

describe('runEpochLoop', () => {
  it('resumes at an epoch boundary into the same weights, optimizer, plugin state and records as an uninterrupted run', async () => {
    const before = tf.memory().numTensors;
    const full = await toyRun({ epochs: 5 });
    await killed(toyRun({ epochs: 5, checkpointDir: dir('toy'), onEpoch: killAt(3) }));
    const resumed = await toyRun({ epochs: 5, checkpointDir: dir('toy'), resume: true, init: 42 });
    expect(tf.memory().numTensors).toBe(before);
    expect(resumed.resumedFrom).toBe(3);
    expect(resumed.seen).toEqual([4, 5]);
    expect(resumed.w).toEqual(full.w); // momentum restored too, or epoch 4's step would differ
    expect(timeless(resumed.records)).toEqual(timeless(full.records));
    expect(resumed.records.map((x) => x.count)).toEqual([1, 2, 3, 4, 5]);
    expect(resumed.calls).toBe(5);
    // the state layout the trainers' checkpoints have had since before the loop existed
    const { meta, tensors } = readCheckpoint<Record<string, unknown>>(path.join(dir('toy'), 'epoch-0005'));
    expect(Object.keys(meta.state)).toEqual(['configKey', 'records', 'optimizerStep', 'note', 'plugins']);
    expect(meta.state.plugins).toEqual([{ name: 'test/counter', json: { calls: 5 }, tensors: ['count'] }]);
    expect(Object.keys(tensors).filter((k) => !k.startsWith('opt/')).sort()).toEqual(['plugin/0/count', 'weights/0']);
    expect(Object.keys(tensors).filter((k) => k.startsWith('opt/'))).toHaveLength(1); // SGD's momentum
    tf.dispose(Object.values(tensors));
  });

  it('tracks the best epoch, stops after `patience` epochs without improvement and restores its weights', async () => {
    const before = tf.memory().numTensors;
    const r = await toyRun({ epochs: 10, metrics: [0.2, 0.5, 0.4, 0.5, 0.3, 0.9], patience: 3 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.stoppedEarly).toBe(true);
    expect(r.bestEpoch).toBe(2); // 0.5 again at epoch 4 is no improvement
    expect(r.records.map((x) => x.epoch)).toEqual([1, 2, 3, 4, 5]);
    expect(r.w).toEqual(r.records[1].w);
    expect(r.w).not.toEqual(r.records[4].w);
  });

  it('a resumed run keeps the best weights and patience of the interrupted one', async () => {
    const metrics = [0.2, 0.5, 0.4, 0.5, 0.3, 0.9];
    const full = await toyRun({ epochs: 10, metrics, patience: 3 });
    await killed(toyRun({ epochs: 10, metrics, patience: 3, checkpointDir: dir('toy-best'), onEpoch: killAt(3) }));
    const before = tf.memory().numTensors;
    const resumed = await toyRun({ epochs: 10, metrics, patience: 3, checkpointDir: dir('toy-best'), resume: true, init: 7 });
    expect(tf.memory().numTensors).toBe(before);
    expect(resumed.seen).toEqual([4, 5]);
    expect(resumed.bestEpoch).toBe(2);
    expect(resumed.w).toEqual(full.w);
    const { meta, tensors } = readCheckpoint<Record<string, unknown>>(path.join(dir('toy-best'), 'epoch-0005'));
    expect(meta.state).toMatchObject({ bestEpoch: 2, bestMetric: 0.5, stoppedEarly: true });
    expect(tensors['best/0']).toBeDefined();
    tf.dispose(Object.values(tensors));
    // a finished run resumed again trains nothing and ends on the best weights
    const again = await toyRun({ epochs: 10, metrics, patience: 3, checkpointDir: dir('toy-best'), resume: true, init: 9 });
    expect(again.seen).toEqual([]);
    expect(again.w).toEqual(full.w);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The image trainer on the loop.

function blobs(n: number, seed: number) {
  return tf.tidy(() => {
    const y = tf.cast(tf.floor(tf.mul(tf.randomUniform([n], 0, 1, 'float32', seed), 3)), 'int32') as tf.Tensor1D;
    const x = tf.clipByValue(tf.add(tf.add(tf.mul(tf.oneHot(y, 4), 0.5), 0.25), tf.randomNormal([n, 4], 0, 0.1, 'float32', seed + 1)), 0, 1);
    return { x, y };
  });
}

function mlp(seed: number) {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ inputShape: [4], units: 8, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed }) }));
  m.add(tfl.layers.dense({ units: 3, kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }) }));
  return { m, model: fromLayersModel(m), weights: m.trainableWeights.map((w) => w.read() as tf.Variable) };
}

describe('train (image) on the shared loop', () => {
  it('a run killed at an epoch boundary and resumed ends with the weights and records of an uninterrupted run; no leaks', async () => {
    const data = blobs(96, 3);
    const evalSet = blobs(48, 4);
    const opts = { epochs: 4, batchSize: 16, learningRate: 0.05, seed: 11, evalSet, earlyStop: { patience: 10 } };
    const run = async (extra: Record<string, unknown>, seed = 1) => {
      const { m, model, weights } = mlp(seed);
      try {
        // noise and smoothing: the per-step streams and plugin option JSON must be the same after a resume
        const r = await train(model, data, { ...opts, defenses: [gaussianNoise({ sigma: 0.05 }), labelSmoothing({ smoothing: 0.1 })], weights, ...extra });
        return { r, w: await values(weights) };
      } finally {
        m.dispose();
      }
    };
    const before = tf.memory().numTensors;
    const full = await run({});
    await killed(run({ checkpointDir: dir('img'), onEpoch: killAt(2) }));
    const resumed = await run({ checkpointDir: dir('img'), resume: true }, 77); // another init: all must come from the checkpoint
    expect(tf.memory().numTensors).toBe(before);
    expect(resumed.r.resumedFrom).toBe(2);
    expect(resumed.w).toEqual(full.w);
    expect(timeless(resumed.r.epochs)).toEqual(timeless(full.r.epochs));
    expect(resumed.r.hyperparameters).toEqual(full.r.hyperparameters);
    tf.dispose([data.x, data.y, evalSet.x, evalSet.y]);
  });

  it('early stopping stops and leaves the model on the best epoch\'s weights; no leaks', async () => {
    const data = blobs(96, 5);
    // a held-out set with permuted labels: the better the model learns, the worse it scores there, so the best
    // epoch is an early one and training stops
    const evalSet = tf.tidy(() => ({ x: tf.clone(data.x), y: tf.cast(tf.mod(tf.add(data.y, 1), 3), 'int32') as tf.Tensor1D }));
    const { m, model, weights } = mlp(2);
    // the weights after each epoch's last step (the stopping epoch restores the best ones inside the epoch)
    const perEpoch: number[][][] = [];
    const before = tf.memory().numTensors;
    const r = await train(model, data, {
      epochs: 12, batchSize: 16, learningRate: 0.05, seed: 0, evalSet, earlyStop: 2, weights,
      onBatch: ({ step, steps }) => void (step === steps && perEpoch.push(weights.map((w) => Array.from(w.dataSync())))),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.stopped?.by).toBe('parry/early-stopping');
    const acc = r.epochs.map((e: EpochRecord) => e.testAccuracy);
    const best = acc.indexOf(Math.max(...acc));
    expect(r.epochs.length).toBe(best + 1 + 2);
    expect(await values(weights)).toEqual(perEpoch[best]);
    expect(await values(weights)).not.toEqual(perEpoch.at(-1));
    m.dispose();
    tf.dispose([data.x, data.y, evalSet.x, evalSet.y]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The text trainer on the loop.

const tinyText = (seed: number): TransformerClassifier =>
  createTransformerClassifier(smallConfig('bert', { vocabSize: 50, hiddenSize: 16, numHeads: 2, numLayers: 1, intermediateSize: 32, hiddenDropout: 0.1, labelNames: ['neg', 'pos'] }), { seed });

describe('trainText on the shared loop', () => {
  it('a run killed at an epoch boundary and resumed ends with the weights, records and best epoch of an uninterrupted run; no leaks', async () => {
    const data = toySet(64, 1);
    const dev = toySet(32, 2);
    const opts = { epochs: 4, batchSize: 16, learningRate: 3e-3, seed: 3, padId: 0, evalSet: dev, earlyStop: 5 };
    const run = async (extra: Record<string, unknown>, seed = 0) => {
      const model = tinyText(seed);
      try {
        const r = await trainText(model, data, { ...opts, defenses: [fgm({ eps: 0.5 })], ...extra });
        return { r, w: await values(model.parameters().map((p) => p.variable)) };
      } finally {
        model.dispose();
      }
    };
    const before = tf.memory().numTensors;
    const full = await run({});
    await killed(run({ checkpointDir: dir('text'), onEpoch: killAt(2) }));
    const resumed = await run({ checkpointDir: dir('text'), resume: true }, 9);
    expect(tf.memory().numTensors).toBe(before);
    expect(resumed.r.resumedFrom).toBe(2);
    expect(resumed.r.bestEpoch).toBe(full.r.bestEpoch);
    expect(resumed.w).toEqual(full.w);
    expect(timeless(resumed.r.epochs)).toEqual(timeless(full.r.epochs));
  });

  it('early stopping stops after `patience` epochs without improvement and leaves the best epoch\'s weights; no leaks', async () => {
    const data = toySet(96, 3);
    // the same examples with flipped labels as the dev set: dev accuracy falls as the model learns
    const dev: EncodedTextSet = { encodings: data.encodings, labels: Int32Array.from(data.labels, (y) => 1 - y) };
    const model = tinyText(1);
    const perEpoch: number[][] = [];
    const vars = model.parameters().map((p) => p.variable);
    const before = tf.memory().numTensors;
    const r = await trainText(model, data, {
      epochs: 12, batchSize: 16, learningRate: 5e-3, warmupRatio: 0, schedule: 'constant', seed: 0, padId: 0, evalSet: dev, earlyStop: 2,
      onEpoch: async () => void perEpoch.push((await values(vars)).flat()),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.stoppedEarly).toBe(true);
    const acc = r.epochs.map((e: TextEpochRecord) => e.dev!.accuracy);
    expect(r.bestEpoch).toBe(acc.indexOf(Math.max(...acc)) + 1);
    expect(r.epochs.length).toBe(r.bestEpoch + 2);
    const final = (await values(vars)).flat();
    expect(final).toEqual(perEpoch[r.bestEpoch - 1]);
    expect(final).not.toEqual(perEpoch.at(-1));
    model.dispose();
  });
});
