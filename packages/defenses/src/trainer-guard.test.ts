import * as tf from '@tensorflow/tfjs-core';
import { type ImageDefensePlugin, fromLayersModel, initBackend, ParryError, PluginError, z } from '@parry/core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { train } from './trainer.js';

beforeAll(async () => {
  await initBackend();
});

function blobs(n: number, seed: number) {
  return tf.tidy(() => {
    const y = tf.cast(tf.greater(tf.randomUniform([n], 0, 1, 'float32', seed), 0.5), 'int32') as tf.Tensor1D;
    const x = tf.add(tf.randomNormal([n, 4], 0, 1, 'float32', seed + 1), tf.reshape(tf.cast(y, 'float32'), [n, 1]));
    return { x, y };
  });
}

function defense(name: string, hooks: Partial<ImageDefensePlugin>): ImageDefensePlugin {
  return { kind: 'defense', modality: 'image', name: `test/${name}` as const, summary: 'hostile', options: {}, optionsSchema: z.object({}), ...hooks } as ImageDefensePlugin;
}

/** Trains a tiny MLP for 2 epochs of 4 steps with `plugin`; returns the error and how many steps completed. */
async function trainWith(plugin: ImageDefensePlugin): Promise<{ error?: ParryError; steps: number }> {
  const data = blobs(64, 1);
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ inputShape: [4], units: 2, kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }));
  let steps = 0;
  try {
    await train(fromLayersModel(m), data, { epochs: 2, batchSize: 16, learningRate: 0.01, seed: 0, defenses: [plugin], onBatch: () => steps++ });
    return { steps };
  } catch (e) {
    return { error: e as ParryError, steps };
  } finally {
    m.dispose();
    tf.dispose([data.x, data.y]);
  }
}

describe('the plugin-call guard around defense hooks', () => {
  it('a defense that leaks 50 tensors per batch is stopped at the first step, naming the plugin and the count', async () => {
    const leaky = defense('leaky', {
      transformBatch(batch) {
        for (let i = 0; i < 50; i++) tf.add(batch.x, i); // never disposed
        return batch;
      },
    });
    const { error, steps } = await trainWith(leaky);
    expect(error).toBeInstanceOf(PluginError);
    expect(error!.exitCode).toBe(1);
    expect(error!.message).toMatch(/^plugin test\/leaky: transformBatch\(\) leaked 50 tensors /);
    expect(steps).toBe(0);
  });

  const leakIn: (keyof ImageDefensePlugin)[] = ['setup', 'beforeEpoch', 'beforeStep', 'afterStep', 'afterEpoch'];
  for (const hook of leakIn) {
    it(`a defense whose ${hook}() leaks a tensor is stopped with one line naming the hook`, async () => {
      const { error } = await trainWith(defense('drip', { [hook]: () => void tf.scalar(1) }));
      expect(error).toBeInstanceOf(PluginError);
      expect(error!.message).toMatch(new RegExp(`^plugin test/drip: ${hook}\\(\\) leaked 1 tensor `));
    });
  }

  it('a defense that keeps tensors as state declared through getState() is not a leak', async () => {
    let saved: tf.Tensor[] = [];
    const stateful = defense('stateful', {
      afterStep() {
        tf.dispose(saved);
        saved = [tf.scalar(1), tf.scalar(2)];
      },
      getState: () => ({ tensors: Object.fromEntries(saved.map((t, i) => [`s${i}`, t])) }),
      dispose: () => tf.dispose(saved),
    });
    const before = tf.memory().numTensors;
    const { error, steps } = await trainWith(stateful);
    expect(error).toBeUndefined();
    expect(steps).toBe(8);
    expect(tf.memory().numTensors).toBe(before);
  });

  const garbage: [string, Partial<ImageDefensePlugin>, RegExp][] = [
    ['a defense whose transformBatch() returns undefined', { transformBatch: () => undefined as never }, /^plugin test\/garbage: transformBatch\(\) returned undefined; it must return a batch/],
    ['a defense whose transformBatch() returns a batch of the wrong shape', { transformBatch: (b) => ({ ...b, x: tf.zeros([16, 3]) }) }, /^plugin test\/garbage: transformBatch\(\) returned a batch x of shape \[16,3\] for examples of shape \[4\]/],
    ['a defense whose transformBatch() disposes its input', { transformBatch: (b) => { const x = b.x.clone(); b.x.dispose(); return { ...b, x }; } }, /^plugin test\/garbage: transformBatch\(\) disposed its input batch\.x/],
    ['a defense whose transformBatch() throws', { transformBatch: () => { throw new Error('oops\n    at transformBatch (bad.mjs:1:1)'); } }, /^plugin test\/garbage: transformBatch\(\) threw: oops$/],
    ['a defense whose lossTerm() returns a vector', { lossTerm: (b) => tf.mean(b.logits, 1) as never }, /^plugin test\/garbage: lossTerm\(\) returned a tensor of shape \[16\]; it must return a scalar tensor/],
    ['a defense whose afterEpoch() returns garbage', { afterEpoch: () => 42 as never }, /^plugin test\/garbage: afterEpoch\(\) returned 42; it must return nothing, 'stop'/],
    ['a defense whose beforeStep() returns a Promise', { beforeStep: (async () => undefined) as never }, /^plugin test\/garbage: beforeStep\(\) returned a Promise/],
  ];
  for (const [what, hooks, message] of garbage) {
    it(`${what}: one line naming the plugin, exit 1`, async () => {
      const { error } = await trainWith(defense('garbage', hooks));
      expect(error).toBeInstanceOf(PluginError);
      expect(error!.exitCode).toBe(1);
      expect(error!.message).toMatch(message);
      expect(error!.message).not.toContain('\n');
    });
  }
});
