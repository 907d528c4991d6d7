/** A2T (adversarial training with attack-made texts) through a `TextAttackRunner` written here (issue 13). */
import * as tf from '@tensorflow/tfjs-core';
import {
  type Encoding,
  initBackend,
  type TextAttackExample,
  type TextAttackRecord,
  type TextAttackRunner,
  type TextEpochContext,
  type TextModel,
  type TextTokenizer,
  type TextTrainingSet,
  UsageError,
} from '@parry/core';
import { createTransformerClassifier, smallConfig, type TransformerClassifier } from '@parry/text';
import { beforeAll, describe, expect, it } from 'vitest';
import { a2t } from './a2t.js';
import { trainText } from './trainer.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

/** Words `w0`..`w29` and `good`, `zap` (what the fake attack swaps in), one id each; `[CLS]` 2, `[SEP]` 3. */
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'good', 'zap', ...Array.from({ length: 30 }, (_, i) => `w${i}`)];
const tokenizer: TextTokenizer = {
  vocabSize: VOCAB.length,
  padId: 0,
  unkId: 1,
  clsId: 2,
  sepId: 3,
  tokenize: (text) => text.split(' ').filter(Boolean),
  encode(text, options) {
    const ids = [2, ...this.tokenize(text).map((t) => this.tokenToId(t) ?? 1)].slice(0, (options?.maxLength ?? 128) - 1);
    return { ids: [...ids, 3], typeIds: new Array(ids.length + 1).fill(0) } as Encoding;
  },
  decode: (ids) => ids.filter((i) => i > 3).map((i) => VOCAB[i]).join(' '),
  idToToken: (id) => VOCAB[id],
  tokenToId: (t) => (VOCAB.includes(t) ? VOCAB.indexOf(t) : undefined),
  toFiles: () => ({}),
};

/** Example i: label 1 when it has `good`. */
function textSet(n: number): TextTrainingSet {
  const texts = Array.from({ length: n }, (_, i) => [`w${i % 30}`, i % 2 ? 'good' : `w${(i * 7) % 30}`, `w${(i * 3) % 30}`].join(' '));
  return { texts, encodings: texts.map((t) => tokenizer.encode(t)), labels: Int32Array.from(texts, (t) => (t.includes('good') ? 1 : 0)) };
}

/** Replaces the first word by `zap`; succeeds on even positions of the attacked batch. Records every call. */
function fakeRunner() {
  const calls: Array<{ attack: string; examples: TextAttackExample[]; seed: number; model: TextModel; maxLength: number; queryBudget?: number }> = [];
  const runner: TextAttackRunner = {
    async run(attack, examples, options) {
      calls.push({ attack, examples: [...examples], seed: options.seed, model: options.model, maxLength: options.maxLength, queryBudget: options.queryBudget });
      const records = examples.map((ex, index) => {
        const perturbed = ['zap', ...ex.text.split(' ').slice(1)].join(' ');
        return { index, original: ex.text, perturbed, status: index % 2 === 0 ? 'successful' : 'failed', label: ex.label } as TextAttackRecord;
      });
      const successful = records.filter((r) => r.status === 'successful').length;
      return { records, summary: { attack, n: examples.length, successful, failed: examples.length - successful } as never };
    },
  };
  return { runner, calls };
}

const tinyModel = (seed = 0): TransformerClassifier =>
  createTransformerClassifier(smallConfig('bert', { vocabSize: VOCAB.length, hiddenSize: 16, numHeads: 2, numLayers: 1, intermediateSize: 32, labelNames: ['neg', 'pos'] }), { seed });

/** Calls the plugin's epochData the way the trainer does. */
function epochCtx(model: TextModel, data: TextTrainingSet, epoch: number, extra: Partial<TextEpochContext> = {}): TextEpochContext {
  return { model, data, tokenizer, maxLength: 16, epoch, epochs: 5, seed: 1000 + epoch, ...extra };
}

describe('parry/a2t', () => {
  it('trains clean for `cleanEpochs`, then attacks `fraction` of the set and adds the successful texts with their source labels', async () => {
    const model = tinyModel();
    const data = textSet(20);
    const { runner, calls } = fakeRunner();
    const plugin = a2t({ cleanEpochs: 2, fraction: 0.25, recipe: 'test/swap', queryBudget: 50 });
    for (const epoch of [1, 2]) expect(await plugin.epochData!(epochCtx(model, data, epoch, { attacks: runner }))).toBeUndefined();
    expect(calls).toHaveLength(0);

    const out = (await plugin.epochData!(epochCtx(model, data, 3, { attacks: runner })))!;
    expect(calls).toHaveLength(1);
    const call = calls[0];
    expect(call).toMatchObject({ attack: 'test/swap', seed: 1003, maxLength: 16, queryBudget: 50 });
    expect(call.model).toBe(model);
    expect(call.examples).toHaveLength(5); // round(0.25 * 20)
    // the attacked examples are distinct training examples, each with its own label
    const sources = call.examples.map((ex) => data.texts!.indexOf(ex.text));
    expect(new Set(sources).size).toBe(5);
    call.examples.forEach((ex, k) => expect(ex.label).toBe(data.labels[sources[k]]));
    // successful: positions 0, 2, 4 of the attacked batch
    const added = [0, 2, 4].map((k) => sources[k]);
    expect(out.texts).toEqual([...data.texts!, ...added.map((i) => ['zap', ...data.texts![i].split(' ').slice(1)].join(' '))]);
    expect(Array.from(out.labels)).toEqual([...Array.from(data.labels), ...added.map((i) => data.labels[i])]);
    expect(out.encodings.slice(0, 20)).toEqual(data.encodings);
    expect(out.encodings.slice(20)).toEqual(out.texts!.slice(20).map((t) => tokenizer.encode(t, { maxLength: 16 })));
    expect(out.encodings[20].ids).toContain(tokenizer.tokenToId('zap'));
    const history = (plugin as unknown as { history: Array<{ epoch: number; attacked: number; added: unknown[] }> }).history;
    expect(history.map((h) => [h.epoch, h.attacked, h.added.length])).toEqual([[3, 5, 3]]);
    model.dispose();
  });

  it('picks the same examples for the same seed and others for another seed', async () => {
    const model = tinyModel();
    const data = textSet(30);
    const picks = async (seed: number) => {
      const { runner, calls } = fakeRunner();
      await a2t({ cleanEpochs: 0, fraction: 0.2 }).epochData!(epochCtx(model, data, 1, { attacks: runner, seed }));
      return calls[0].examples.map((e) => e.text);
    };
    expect(await picks(7)).toEqual(await picks(7));
    expect(await picks(7)).not.toEqual(await picks(8));
    model.dispose();
  });

  it('without texts, tokenizer or attack runner: one-line UsageErrors', async () => {
    const model = tinyModel();
    const data = textSet(10);
    const { runner } = fakeRunner();
    const plugin = a2t({ cleanEpochs: 0 });
    const cases: Array<[Partial<TextEpochContext>, RegExp]> = [
      [{ attacks: runner, data: { encodings: data.encodings, labels: data.labels } }, /^parry\/a2t needs the training texts/],
      [{ attacks: runner, tokenizer: undefined }, /^parry\/a2t needs the tokenizer/],
      [{}, /^parry\/a2t needs an attack runner/],
    ];
    for (const [extra, message] of cases) {
      const e = await Promise.resolve(plugin.epochData!(epochCtx(model, data, 1, extra))).then(() => undefined, (err: Error) => err);
      expect(e).toBeInstanceOf(UsageError);
      expect(e!.message).toMatch(message);
      expect(e!.message).not.toContain('\n');
    }
    model.dispose();
  });

  it('trainText with A2T trains on the grown set after the clean epoch, deterministically, without leaking', async () => {
    const data = textSet(24);
    const run = async () => {
      const model = tinyModel(3);
      const { runner, calls } = fakeRunner();
      const before = tf.memory().numTensors;
      const w0 = Array.from(await model.parameters()[0].variable.data());
      const r = await trainText(model, data, {
        epochs: 3, batchSize: 8, learningRate: 3e-3, seed: 4, padId: 0, maxLength: 16, tokenizer, attacks: runner, evalSet: data,
        defenses: [a2t({ cleanEpochs: 1, fraction: 0.5 })],
      });
      expect(tf.memory().numTensors).toBe(before);
      const w = Array.from(await model.parameters()[0].variable.data());
      model.dispose();
      return { r, calls, w, w0 };
    };
    const a = await run();
    expect(a.calls.map((c) => c.examples.length)).toEqual([12, 12]);
    expect(a.r.epochs.map((e) => e.trainExamples)).toEqual([undefined, 24 + 6, 24 + 6]);
    expect(a.r.epochs.every((e) => Number.isFinite(e.loss))).toBe(true);
    expect(a.w).not.toEqual(a.w0);
    expect(a.r.hyperparameters.defenses).toEqual([{ name: 'parry/a2t', options: { recipe: 'parry/pwws', cleanEpochs: 1, fraction: 0.5 } }]);
    const b = await run();
    expect(b.w).toEqual(a.w);
    expect(b.calls.map((c) => c.examples)).toEqual(a.calls.map((c) => c.examples));
  });
});
