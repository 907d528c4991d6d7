import * as tf from '@tensorflow/tfjs-core';
import { createRng, initBackend, type TextTokenizer } from '@parry/core';
import { createTransformerClassifier, smallConfig, type TransformerClassifier, wordPieceTokenizer } from '@parry/text';
import { trainText } from '@parry/defenses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { a2t, type A2tEpoch } from './adversarial-training.js';
import { runTextAttack } from './attack.js';
import { modelWordVectors } from '@parry/text';
import { untargetedGoal } from './goals.js';
import { deepWordBugRecipe, hotFlipRecipe, pwwsRecipe, textFoolerRecipe } from './recipes.js';
import { greedyWir } from './search.js';
import { hotFlip } from './transformations.js';
import { alignWords, embeddingGradient, parryVictim } from './white-box.js';
import { TextState } from './words.js';

const FILLER = ['the', 'movie', 'film', 'plot', 'was', 'and', 'acting', 'story', 'cast', 'music', 'scenes', 'ending'];
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'great', 'awful', 'fine', ...FILLER];

/** Toy sentences: filler words, plus "great" (label 1) in half of them. */
function toyTexts(n: number, seed: number): { texts: string[]; labels: Int32Array } {
  const rng = createRng(seed);
  const texts: string[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const words = Array.from({ length: 4 + rng.int(4) }, () => FILLER[rng.int(FILLER.length)]);
    const pos = rng.float() < 0.5;
    if (pos) words[rng.int(words.length)] = 'great';
    texts.push(words.join(' '));
    labels.push(pos ? 1 : 0);
  }
  return { texts, labels: Int32Array.from(labels) };
}

function tinyModel(seed = 0): TransformerClassifier {
  const config = smallConfig('bert', {
    vocabSize: VOCAB.length,
    hiddenSize: 32,
    numHeads: 2,
    numLayers: 1,
    intermediateSize: 64,
    hiddenDropout: 0,
    labelNames: ['neg', 'pos'],
    outputKind: 'single-label',
  });
  return createTransformerClassifier(config, { seed });
}

let tok: TextTokenizer;
let model: TransformerClassifier;
const positives = ['the movie was great', 'great acting and music', 'the plot was great and the cast', 'story great ending'];

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  tok = wordPieceTokenizer(VOCAB);
  model = tinyModel();
  const set = toyTexts(200, 1);
  await trainText(model, { encodings: set.texts.map((t) => tok.encode(t)), labels: set.labels }, { epochs: 6, batchSize: 16, learningRate: 3e-3, seed: 0, padId: 0 });
}, 120_000);
afterAll(() => model?.dispose());

describe('white-box victim (Parry encoder)', () => {
  it('the toy model keys on "great"; predictions count queries exactly and leak no tensors', async () => {
    const before = tf.memory().numTensors;
    const v = parryVictim(model, tok, { maxLength: 32, batchSize: 3 });
    const p = await v.predict([...positives, 'the movie was awful']);
    expect(v.queries).toBe(5);
    for (let i = 0; i < 4; i++) expect(p[i * 2 + 1]).toBeGreaterThan(0.5);
    expect(p[9]).toBeLessThan(0.5);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('word alignment maps each word to its token position', () => {
    const s = new TextState('the movie, was great');
    const a = alignWords(tok, s.text, s.spans, 32);
    expect(a.positions).toEqual([[1], [2], [4], [5]]);
    expect(tok.idToToken(a.ids[5])).toBe('great');
  });

  it('HotFlip lowers the gold probability, without leaking tensors', async () => {
    const v = parryVictim(model, tok, { maxLength: 32 });
    const goal = untargetedGoal().bind({ label: 1 }, 2);
    const s = new TextState('the movie was great');
    const before = tf.memory().numTensors;
    const counters = { gradientCalls: 0 };
    const cands = hotFlip({ topN: 3 }).candidates(s, [3], { victim: v, goal, rng: createRng(0), counters });
    expect(tf.memory().numTensors).toBe(before);
    expect(counters.gradientCalls).toBe(1);
    expect(cands.length).toBe(3);
    const p0 = (await v.predict([s.text]))[1];
    const p1 = (await v.predict([s.replace(3, cands[0].word).text]))[1];
    expect(p1).toBeLessThan(p0 - 0.2);
    // the gradient is largest at the decisive word
    const a = alignWords(tok, s.text, s.spans, 32);
    const { grad, dim } = embeddingGradient(v.whiteBox!, a.ids, a.typeIds, goal);
    const norm = (p: number) => grad.subarray(p * dim, (p + 1) * dim).reduce((x, y) => x + Math.abs(y), 0);
    expect(norm(4)).toBeGreaterThan(Math.max(norm(1), norm(2), norm(3)));
  });

  it('gradient word ranking finds the decisive word', async () => {
    const v = parryVictim(model, tok, { maxLength: 32 });
    const { records } = await runTextAttack(
      { name: 'g', goal: untargetedGoal(), transformation: hotFlip({ topN: 2 }), constraints: [], search: greedyWir({ wir: 'gradient' }) },
      v,
      [{ text: 'the movie was great', label: 1 }],
    );
    expect(records[0].status).toBe('successful');
    expect(records[0].changed.map((c) => c.before)).toEqual(['great']);
    expect(records[0].queries).toBe(v.queries);
  });

  it('recipes run end-to-end on the trained model', async () => {
    const examples = positives.map((text) => ({ text, label: 1 }));
    const vectors = await modelWordVectors(model, tok);
    expect(vectors.has('great')).toBe(true);
    expect(vectors.has('[CLS]')).toBe(false);
    const recipes = [
      pwwsRecipe({ synonyms: (w) => (w === 'great' ? ['fine', 'awful'] : ['film']) }),
      deepWordBugRecipe(),
      textFoolerRecipe({ vectors, maxModificationRate: 1, minCosine: -1 }),
      hotFlipRecipe(),
    ];
    for (const recipe of recipes) {
      const v = parryVictim(model, tok, { maxLength: 32 });
      const before = tf.memory().numTensors;
      const { records, summary } = await runTextAttack(recipe, v, examples, { seed: 1 });
      expect(tf.memory().numTensors).toBe(before);
      expect(summary.totalQueries).toBe(v.queries);
      expect(records.reduce((s, r) => s + r.queries, 0)).toBe(v.queries);
      expect(summary.skipped).toBe(0);
      // "great" is the only signal; every recipe can remove it (pwws: fine/awful, deepwordbug: misspell -> [UNK], hotflip/textfooler: another token)
      expect(summary.successful).toBe(examples.length);
      for (const r of records) expect(r.changed.map((c) => c.before)).toContain('great');
      if (recipe.name === 'hotflip') {
        expect(summary.gradientCalls).toBeGreaterThan(0);
        expect(summary.notes.join(' ')).toMatch(/embedding-cosine >= 0.8 skipped/);
      }
    }
  }, 120_000);

  it('hotflip refuses a black-box victim', async () => {
    const v = parryVictim(model, tok);
    const blackBox = { name: 'bb', labelNames: v.labelNames, multiLabel: false, queries: 0, predict: v.predict };
    await expect(runTextAttack(hotFlipRecipe(), blackBox, [{ text: 'great', label: 1 }])).rejects.toThrow(/needs gradients/);
  });
});

describe('A2T-style adversarial training (parry/a2t on the text trainer)', () => {
  it('clean epochs first, then adversarial texts added with their labels kept', async () => {
    const m = tinyModel(3);
    try {
      const set = toyTexts(120, 7);
      const encodings = set.texts.map((t) => tok.encode(t, { maxLength: 32 }));
      const plugin = a2t({ recipe: 'deepwordbug', cleanEpochs: 5, fraction: 0.5 });
      const r = await trainText(m, { encodings, labels: set.labels, texts: set.texts }, {
        epochs: 6, batchSize: 16, learningRate: 5e-3, schedule: 'constant', warmupRatio: 0, seed: 0, padId: tok.padId, tokenizer: tok, maxLength: 32, defenses: [plugin],
      });
      const history = (plugin as unknown as { history: A2tEpoch[] }).history;
      expect(history.map((h) => h.epoch)).toEqual([6]);
      expect(r.epochs.map((e) => e.trainExamples)).toEqual([undefined, undefined, undefined, undefined, undefined, 120 + history[0].added.length]);
      expect(history[0].attacked).toBe(60);
      expect(history[0].summary.successful).toBe(history[0].added.length);
      expect(history[0].added.length).toBeGreaterThan(0);
      for (const a of history[0].added) expect(a.text).not.toBe(set.texts[a.source]);
      // the labels of the added texts are their sources' labels: check through the set the hook returns
      const again = await plugin.epochData!({ model: m, data: { encodings, labels: set.labels, texts: set.texts }, tokenizer: tok, maxLength: 32, epoch: 6, epochs: 6, seed: 1 });
      const added = (plugin as unknown as { history: A2tEpoch[] }).history[1].added;
      expect(Array.from(again!.labels.slice(120))).toEqual(added.map((a) => set.labels[a.source]));
      expect(again!.texts!.slice(120)).toEqual(added.map((a) => a.text));
    } finally {
      m.dispose();
    }
  }, 120_000);

  it('refuses a training set without texts', async () => {
    const m = tinyModel(4);
    const set = toyTexts(8, 1);
    await expect(
      trainText(m, { encodings: set.texts.map((t) => tok.encode(t)), labels: set.labels }, { epochs: 1, batchSize: 4, learningRate: 1e-3, seed: 0, padId: 0, tokenizer: tok, defenses: [a2t({ cleanEpochs: 0 })] }),
    ).rejects.toThrow(/needs the training texts/);
    m.dispose();
  });
});
