/** The text trainer calls every text-defense hook through core's plugin-call guard (issue 14). */
import * as tf from '@tensorflow/tfjs-core';
import { createRng, type Encoding, initBackend, PluginError } from '@parry/core';
import { createTransformerClassifier, smallConfig } from '@parry/text';
import { beforeAll, describe, expect, it } from 'vitest';
import { type EncodedTextSet, type TextDefense, trainText } from './trainer.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

function toySet(n: number): EncodedTextSet {
  const rng = createRng(1);
  const encodings: Encoding[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const ids = Array.from({ length: 5 }, () => 20 + rng.int(30));
    encodings.push({ ids: [2, ...ids, 3], typeIds: new Array(7).fill(0) });
    labels.push(i % 2);
  }
  return { encodings, labels: Int32Array.from(labels) };
}

let base = 0;
async function trainWith(defense: TextDefense): Promise<unknown> {
  base = tf.memory().numTensors;
  const model = createTransformerClassifier(smallConfig('bert', { vocabSize: 50, hiddenSize: 16, numHeads: 2, numLayers: 1, intermediateSize: 32, labelNames: ['a', 'b'] }), { seed: 0 });
  try {
    await trainText(model, toySet(32), { epochs: 1, batchSize: 8, learningRate: 1e-3, seed: 0, padId: 0, defenses: [defense] });
    return undefined;
  } catch (e) {
    return e;
  } finally {
    model.dispose();
  }
}

/** After a failed run the trainer itself left nothing behind (what a plugin leaked is disposed by the test first). */
const expectNoLeftovers = () => expect(tf.memory().numTensors).toBe(base);

describe('text trainer: plugin-call guard', () => {
  it('a text defense that keeps 50 tensors alive per step is stopped, naming the plugin and the count', async () => {
    const kept: tf.Tensor[] = [];
    const e = await trainWith({
      name: 'evil/leaky-text',
      extraGradients: (_ctx, clean) => {
        for (let i = 0; i < 50; i++) kept.push(tf.keep(tf.zeros([4])));
        return { loss: tf.scalar(0), grads: Object.fromEntries(Object.keys(clean.grads).slice(0, 1).map((k) => [k, tf.zerosLike(clean.grads[k])])) };
      },
    } as TextDefense);
    tf.dispose(kept);
    expectNoLeftovers();
    expect(e).toBeInstanceOf(PluginError);
    expect((e as Error).message).toMatch(/^plugin evil\/leaky-text: the training step leaked 50 tensors/);
  });

  it('a text defense whose gradients() throws is one line naming it, exit 1', async () => {
    const e = await trainWith({ name: 'evil/throws', gradients: () => { throw new TypeError('boom\n    at somewhere (x.js:1:1)'); } } as unknown as TextDefense);
    expect(e).toBeInstanceOf(PluginError);
    expect((e as PluginError).exitCode).toBe(1);
    expect((e as Error).message).toMatch(/evil\/throws.*gradients\(\) threw.*boom/);
    expect((e as Error).message).not.toContain('\n');
    expectNoLeftovers();
  });

  it('a text defense whose extraGradients() returns garbage is named with what it returned', async () => {
    const e = await trainWith({ name: 'evil/garbage', extraGradients: () => [42] } as unknown as TextDefense);
    expect(e).toBeInstanceOf(PluginError);
    expect((e as Error).message).toMatch(/evil\/garbage.*extraGradients\(\) returned a loss that is not a scalar tensor/);
    expectNoLeftovers();
  });

  it('a text defense whose epochData() returns garbage or leaks is named', async () => {
    const garbage = await trainWith({ name: 'evil/epoch', epochData: async () => 42 } as unknown as TextDefense);
    expect((garbage as Error).message).toMatch(/evil\/epoch.*epochData\(\) returned 42, not an encoded text set/);
    const kept: tf.Tensor[] = [];
    const leak = await trainWith({ name: 'evil/epoch-leak', epochData: async () => { for (let i = 0; i < 5; i++) kept.push(tf.zeros([2])); return undefined; } } as unknown as TextDefense);
    tf.dispose(kept);
    expectNoLeftovers();
    expect((leak as Error).message).toMatch(/evil\/epoch-leak.*epochData\(\) leaked 5 tensors/);
  });
});
