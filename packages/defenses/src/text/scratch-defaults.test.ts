/**
 * Defaults of the embedding-space defenses that depend on the model (issue 16): the published absolute radii for
 * pretrained models, radii relative to the mean token-embedding norm and one clean epoch first from scratch; and the
 * text trainer's collapse guard.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRng, type Encoding, initBackend, UsageError } from '@parry/core';
import { createTransformerClassifier, smallConfig } from '@parry/text';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fgm, freelb, meanTokenEmbeddingNorm, pgdEmbed, rdrop, SCRATCH_EPS, smart } from './embedding-defenses.js';
import { type EncodedTextSet, type TextDefense, type TextTrainStart, trainText } from './trainer.js';

/** A plugin's `prepare` (the trainer's view of a registered defense). */
const prepare = (d: unknown, info: TextTrainStart) => (d as TextDefense).prepare!(info);

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

function toySet(n: number, seed = 1): EncodedTextSet {
  const rng = createRng(seed);
  const encodings: Encoding[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const ids = Array.from({ length: 5 }, () => 20 + rng.int(30));
    encodings.push({ ids: [2, ...ids, 3], typeIds: new Array(7).fill(0) });
    labels.push(i % 3 === 0 ? 1 : 0);
  }
  return { encodings, labels: Int32Array.from(labels) };
}

const newModel = () => createTransformerClassifier(smallConfig('bert', { vocabSize: 50, hiddenSize: 16, numHeads: 2, numLayers: 1, intermediateSize: 32, labelNames: ['a', 'b'] }), { seed: 0 });

describe('embedding-space defenses: defaults by model', () => {
  let model: ReturnType<typeof newModel>;
  const data = toySet(24);
  beforeAll(() => {
    model = newModel();
  });
  afterAll(() => model.dispose());

  it('meanTokenEmbeddingNorm is the mean L2 norm of the word-embedding rows of the data\'s tokens', () => {
    const table = model.wordEmbeddings().arraySync() as number[][];
    const ids = data.encodings.flatMap((e) => Array.from(e.ids));
    const expected = ids.reduce((s, id) => s + Math.hypot(...table[id]), 0) / ids.length;
    expect(meanTokenEmbeddingNorm(model, data)).toBeCloseTo(expected, 5);
  });

  it('pretrained: the published absolute values, active from epoch 1; not told: the same', () => {
    for (const pretrained of [true, undefined]) {
      expect(prepare(fgm(), { model, data, pretrained })).toEqual({ pretrained: true, relative: false, eps: 1, startEpoch: 1 });
      expect(prepare(pgdEmbed(), { model, data, pretrained })).toEqual({ pretrained: true, relative: false, eps: 1, alpha: 0.3, startEpoch: 1 });
      expect(prepare(rdrop(), { model, data, pretrained })).toEqual({ pretrained: true, startEpoch: 1 });
    }
  });

  it('from scratch: radii are fractions of the embedding norm, and the first epoch is clean', () => {
    const norm = meanTokenEmbeddingNorm(model, data);
    const r = (x: number) => Number(x.toPrecision(6));
    expect(prepare(fgm(), { model, data, pretrained: false })).toEqual({ pretrained: false, relative: true, embeddingNorm: r(norm), eps: r(SCRATCH_EPS * norm), startEpoch: 2 });
    expect(prepare(pgdEmbed(), { model, data, pretrained: false })).toMatchObject({ relative: true, eps: r(SCRATCH_EPS * norm), alpha: r(0.3 * SCRATCH_EPS * norm), startEpoch: 2 });
    expect(prepare(freelb(), { model, data, pretrained: false })).toMatchObject({ relative: true, advLr: r(0.1 * norm), advInitMag: r(0.1 * norm), advMaxNorm: 0, startEpoch: 2 });
    expect(prepare(smart(), { model, data, pretrained: false })).toMatchObject({ relative: true, eps: r(1e-5 * norm), startEpoch: 2 });
    expect(prepare(rdrop(), { model, data, pretrained: false })).toEqual({ pretrained: false, startEpoch: 2 });
    // what the user sets wins: an absolute eps, or a relative one from epoch 1
    expect(prepare(fgm({ eps: 0.3, relative: false, startEpoch: 1 }), { model, data, pretrained: false })).toEqual({ pretrained: false, relative: false, eps: 0.3, startEpoch: 1 });
    expect(prepare(fgm({ eps: 2 }), { model, data, pretrained: false })).toMatchObject({ eps: r(2 * norm), startEpoch: 2 });
    expect(prepare(fgm({ relative: true }), { model, data, pretrained: true })).toMatchObject({ relative: true, eps: r(SCRATCH_EPS * norm), startEpoch: 1 });
  });

  it('trainText hands pretrained down and records the effective settings in the hyperparameters', async () => {
    const m = newModel();
    try {
      const r = await trainText(m, toySet(16), { epochs: 2, batchSize: 8, learningRate: 1e-3, seed: 0, padId: 0, defenses: [fgm()], pretrained: false });
      const d = (r.hyperparameters.defenses as Array<{ name: string; options: object; effective: Record<string, unknown> }>)[0];
      expect(d.name).toBe('parry/fgm');
      expect(d.options).toEqual({});
      expect(d.effective).toMatchObject({ pretrained: false, relative: true, startEpoch: 2 });
    } finally {
      m.dispose();
    }
  });
});

/** A defense that forces a collapse from `from` on: every step it sets the head to predict class 0 whatever the input. */
function collapser(from: number): TextDefense {
  return {
    name: 'test/collapser',
    prepare: () => ({ startEpoch: from, eps: 5 }),
    extraGradients(ctx) {
      if (ctx.epoch >= from) {
        for (const p of ctx.params) {
          if (p.name === 'classifier.weight') p.variable.assign(tf.zerosLike(p.variable));
          if (p.name === 'classifier.bias') p.variable.assign(tf.tensor1d([20, -20]));
        }
      }
      return { loss: tf.scalar(0), grads: {} };
    },
  };
}

describe('text trainer: collapse guard', () => {
  const train = async (defense: TextDefense, o: { epochs: number; collapseGuard?: boolean; dev?: EncodedTextSet }) => {
    const model = newModel();
    try {
      return await trainText(model, toySet(24), { epochs: o.epochs, batchSize: 8, learningRate: 1e-3, seed: 0, padId: 0, defenses: [defense], evalSet: o.dev ?? toySet(12, 2), collapseGuard: o.collapseGuard ?? true });
    } finally {
      model.dispose();
    }
  };

  it('a run that ends with two collapsed epochs under a defense stops with one line naming it and what to change', async () => {
    const before = tf.memory().numTensors;
    const e = await train(collapser(2), { epochs: 3 }).catch((x) => x);
    expect(e).toBeInstanceOf(UsageError);
    expect((e as UsageError).exitCode).toBe(2);
    const msg = (e as Error).message;
    expect(msg.split('\n')).toHaveLength(1);
    expect(msg).toMatch(/^training collapsed under test\/collapser \(eps 5\): every dev example predicted as one class \(accuracy 66\.7%\) in epochs 2-3/);
    expect(msg).toMatch(/lower its radius \(--def-opt collapser\.eps=<smaller>\), start it later \(--def-opt collapser\.startEpoch=4\) or train without --defense/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('one collapsed epoch, epochs before the defense starts, and collapseGuard false or unset (trainText\'s default) do not stop the run', async () => {
    await expect(train(collapser(3), { epochs: 3 })).resolves.toMatchObject({ bestEpoch: expect.any(Number) });
    for (const collapseGuard of [false, undefined]) {
      const model = newModel();
      try {
        const r = await trainText(model, toySet(24), { epochs: 3, batchSize: 8, learningRate: 1e-3, seed: 0, padId: 0, defenses: [collapser(1)], evalSet: toySet(12, 2), collapseGuard });
        expect(r.epochs.map((x) => x.dev!.accuracy)).toEqual([8 / 12, 8 / 12, 8 / 12]);
      } finally {
        model.dispose();
      }
    }
  });

  it('the majority plateau of the first epochs is not a collapse until the last epoch', async () => {
    // collapsed in epochs 1-3 of 5: no error yet; the run fails only at its end
    const seen: number[] = [];
    const model = newModel();
    try {
      const e = await trainText(model, toySet(24), {
        epochs: 5, batchSize: 8, learningRate: 1e-3, seed: 0, padId: 0, defenses: [collapser(1)], evalSet: toySet(12, 2), collapseGuard: true, onEpoch: (r) => void seen.push(r.epoch),
      }).catch((x) => x);
      expect(e).toBeInstanceOf(UsageError);
      expect((e as Error).message).toMatch(/in epochs 1-5, no epoch above it/);
      expect(seen).toEqual([1, 2, 3, 4]);
    } finally {
      model.dispose();
    }
  });
});
