import * as tf from '@tensorflow/tfjs-core';
import {
  buildTextAttack,
  createRegistry,
  createRng,
  initBackend,
  runTextAttack,
  type TextResources,
  TextState,
  type TextTokenizer,
  type TextVictim,
  untargetedGoal,
} from '@parry/core';
import { createTransformerClassifier, disposeBatch, EDA_STOPWORDS, modelWordVectors, padBatch, smallConfig, type TransformerClassifier, wordPieceTokenizer } from '@parry/text';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBuiltinAttacks } from '../index.js';
import { greedyWir } from './search.js';
import { hotFlip } from './transformations.js';
import { alignWords, embeddingGradient, parryVictim } from './white-box.js';

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

/** A few epochs of Adam on cross-entropy (a plain loop, so these tests need no trainer package). */
async function fit(m: TransformerClassifier, texts: readonly string[], labels: Int32Array, epochs: number): Promise<void> {
  const encodings = texts.map((t) => tok.encode(t));
  const params = m.parameters().map((p) => p.variable);
  const opt = tf.train.adam(3e-3);
  const rng = createRng(0);
  for (let e = 0; e < epochs; e++) {
    const order = rng.shuffle([...encodings.keys()]);
    for (let i = 0; i < order.length; i += 16) {
      const idx = order.slice(i, i + 16);
      const batch = padBatch(encodings, idx, tok.padId);
      const y = tf.oneHot(tf.tensor1d(idx.map((k) => labels[k]), 'int32'), 2);
      opt.minimize(() => tf.losses.softmaxCrossEntropy(y, m.logits(batch, { training: true })) as tf.Scalar, false, params);
      tf.dispose(y);
      disposeBatch(batch);
    }
  }
  opt.dispose();
}

let tok: TextTokenizer;
let model: TransformerClassifier;
const positives = ['the movie was great', 'great acting and music', 'the plot was great and the cast', 'story great ending'];

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  tok = wordPieceTokenizer(VOCAB);
  model = tinyModel();
  const set = toyTexts(200, 1);
  await fit(model, set.texts, set.labels, 6);
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

  it('visibleWords: the words that fit the token limit (all of a short text; a prefix of a long one)', async () => {
    const v = parryVictim(model, tok, { maxLength: 6 }); // [CLS] + 4 word tokens + [SEP]
    expect(v.visibleWords!('the movie was great')).toEqual({ head: 4, tail: 0 });
    expect(v.visibleWords!('the movie was great and the cast was fine')).toEqual({ head: 4, tail: 0 });
    expect(v.visibleWords!('the movie, was great and the cast')).toEqual({ head: 3, tail: 0 }); // "," takes a token
    const { records, summary } = await runTextAttack(
      { name: 'g', goal: untargetedGoal(), transformation: hotFlip({ topN: 2 }), constraints: [], search: greedyWir({ wir: 'delete' }) },
      v,
      [{ text: 'the movie was fine and the cast was great', label: 0 }], // the model sees no "great": negative, as labelled
    );
    expect(records[0].status).not.toBe('skipped');
    expect(records[0].queries).toBeGreaterThan(1);
    expect(records[0].visibleWords).toBe(4);
    expect(records[0].changed.every((c) => c.start < 'the movie was fine'.length)).toBe(true);
    expect(summary.truncated).toBe(1);
  });

  it('visibleWords follows the truncation strategy: the last words (tail), or the first and the last (head+tail)', () => {
    const tail = parryVictim(model, tok, { maxLength: 6, truncation: 'tail' }); // 4 word tokens, the last ones
    expect(tail.visibleWords!('the movie was great')).toEqual({ head: 4, tail: 0 });
    expect(tail.visibleWords!('the movie was great and the cast was fine')).toEqual({ head: 0, tail: 4 });
    expect(tail.visibleWords!('the movie and the cast, was fine')).toEqual({ head: 0, tail: 3 }); // "," takes a token
    // head+tail with 4 word tokens: ceil(4 / 4) = 1 from the start, 3 from the end
    const both = parryVictim(model, tok, { maxLength: 6, truncation: 'head+tail' });
    expect(both.visibleWords!('the movie was great and the cast was fine')).toEqual({ head: 1, tail: 3 });
    expect(() => parryVictim(model, tok, { truncation: 'left' as never })).toThrow(/parryVictim: truncation must be one of head, tail, head\+tail/);
  });

  it('with tail truncation the attack never changes the first (cut) words; with head+tail never the middle ones', async () => {
    const attack = { name: 'g', goal: untargetedGoal(), transformation: hotFlip({ topN: 2 }), constraints: [], search: greedyWir({ wir: 'delete' }) };
    // the model sees "... the cast was great" only: positive, as labelled, so the attack runs
    const tailText = 'great movie was fine and the cast was great';
    const tail = parryVictim(model, tok, { maxLength: 6, truncation: 'tail' });
    const t = await runTextAttack(attack, tail, [{ text: tailText, label: 1 }]);
    expect(t.records[0].status).not.toBe('skipped');
    expect(t.records[0].queries).toBeGreaterThan(1);
    expect(t.records[0].visibleWords).toBe(4);
    expect(t.records[0].visibleTailWords).toBe(4);
    const tailStart = tailText.indexOf('the cast');
    expect(t.records[0].changed.every((c) => c.start >= tailStart)).toBe(true);
    expect(t.records[0].perturbed.startsWith('great movie was fine and ')).toBe(true);
    expect(t.summary.truncated).toBe(1);
    // head+tail: "great" + "cast was great" reach the model; "and the movie was fine and the" do not
    const bothText = 'great and the movie was fine and the cast was great';
    const both = parryVictim(model, tok, { maxLength: 6, truncation: 'head+tail' });
    const b = await runTextAttack(attack, both, [{ text: bothText, label: 1 }]);
    expect(b.records[0].status).not.toBe('skipped');
    expect(b.records[0].queries).toBeGreaterThan(1);
    expect(b.records[0].visibleWords).toBe(4);
    const middle = [bothText.indexOf(' and') + 1, bothText.indexOf('cast')];
    expect(b.records[0].changed.every((c) => c.end <= 'great'.length || c.start >= middle[1])).toBe(true);
    // word by word (a swapped first word may change length): the seven cut middle words are untouched
    expect(b.records[0].perturbed.split(' ').slice(1, 8)).toEqual(bothText.split(' ').slice(1, 8));
  });

  it('word alignment places words where the truncation strategy keeps their tokens', () => {
    const s = new TextState('the movie, was great');
    // 5 word tokens; budget 3 (tail): ", was great"; budget 4 (head+tail): "the" + ", was great"
    expect(alignWords(tok, s.text, s.spans, 5, 'tail').positions).toEqual([[], [], [2], [3]]);
    expect(alignWords(tok, s.text, s.spans, 6, 'head+tail').positions).toEqual([[1], [], [3], [4]]);
    expect(alignWords(tok, s.text, s.spans, 6, 'head').positions).toEqual([[1], [2], [4], []]);
    const a = alignWords(tok, s.text, s.spans, 6, 'head+tail');
    expect(tok.idToToken(a.ids[4])).toBe('great');
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

  it("HotFlip's topNOver 'text' (TextAttack's WordSwapGradientBased) keeps the topN best flips of the whole text", () => {
    const v = parryVictim(model, tok, { maxLength: 32 });
    const goal = untargetedGoal().bind({ label: 1 }, 2);
    const s = new TextState('the movie was great');
    const ctx = () => ({ victim: v, goal, rng: createRng(0), counters: { gradientCalls: 0 } });
    const perWord = hotFlip({ topN: 1 }).candidates(s, [0, 1, 2, 3], ctx());
    expect(perWord.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    const whole = hotFlip({ topN: 1, topNOver: 'text' }).candidates(s, [0, 1, 2, 3], ctx());
    expect(whole.length).toBe(1);
    // the one flip kept is the per-word flip with the largest first-order gain (e_new - e_old) . grad
    const a = alignWords(tok, s.text, s.spans, 32);
    const { grad, dim } = embeddingGradient(v.whiteBox!, a.ids, a.typeIds, goal);
    const E = v.whiteBox!.model.wordEmbeddings().arraySync() as number[][];
    const gain = (c: { index: number; word: string }) => {
      const p = a.positions[c.index][0];
      const e = E[tok.tokenToId(c.word.toLowerCase())!];
      const o = E[a.ids[p]];
      let g = 0;
      for (let d = 0; d < dim; d++) g += (e[d] - o[d]) * grad[p * dim + d];
      return g;
    };
    const bestPerWord = perWord.reduce((x, y) => (gain(y) > gain(x) ? y : x));
    expect(whole[0]).toEqual(bestPerWord);
    expect(hotFlip({ topN: 2, topNOver: 'text' }).candidates(s, [0, 1, 2, 3], ctx()).length).toBe(2);
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

  it('the registered recipes run end-to-end on the trained model', async () => {
    const examples = positives.map((text) => ({ text, label: 1 }));
    const vectors = await modelWordVectors(model, tok);
    expect(vectors.has('great')).toBe(true);
    expect(vectors.has('[CLS]')).toBe(false);
    const resources: TextResources = {
      stopwords: () => EDA_STOPWORDS,
      synonyms: async () => (w: string) => (w === 'great' ? ['fine', 'awful'] : ['film']),
      wordVectors: async () => vectors,
      maskedLm: () => Promise.reject(new Error('not used')),
    };
    const registry = registerBuiltinAttacks(createRegistry());
    const recipes: Array<[string, Record<string, unknown>]> = [
      ['pwws', {}],
      ['deepwordbug', {}],
      ['textfooler', { maxModificationRate: 1, minCosine: -1 }],
      // TextAttack's HotFlip tries the single best first-order flip of each text (topNOver 'text'); on this toy model
      // that estimate often points at another word, so the per-word option is what lets it reach "great" every time.
      ['hotflip', { minCosine: -1, topNOver: 'word' }],
    ];
    for (const [name, options] of recipes) {
      const v = parryVictim(model, tok, { maxLength: 32 });
      const { attack } = await buildTextAttack(registry, name, options, { victim: v, resources });
      expect(attack.name).toBe(`parry/${name}`);
      const before = tf.memory().numTensors;
      const { records, summary } = await runTextAttack(attack, v, examples, { seed: 1 });
      expect(tf.memory().numTensors).toBe(before);
      expect(summary.totalQueries).toBe(v.queries);
      expect(records.reduce((s, r) => s + r.queries, 0)).toBe(v.queries);
      expect(summary.skipped).toBe(0);
      // "great" is the only signal; every recipe can remove it (pwws: fine/awful, deepwordbug: misspell -> [UNK], hotflip/textfooler: another token)
      expect(summary.successful).toBe(examples.length);
      for (const r of records) expect(r.changed.map((c) => c.before)).toContain('great');
      if (name === 'hotflip') expect(summary.gradientCalls).toBeGreaterThan(0);
    }
  }, 120_000);

  it('hotflip (needs gradients) is refused for a black-box victim with one line', async () => {
    const v = parryVictim(model, tok);
    const blackBox: TextVictim = { name: 'bb', labelNames: v.labelNames, outputKind: 'single-label', queries: 0, predict: v.predict };
    const registry = registerBuiltinAttacks(createRegistry());
    const resources = { stopwords: () => EDA_STOPWORDS } as unknown as TextResources;
    await expect(buildTextAttack(registry, 'hotflip', {}, { victim: blackBox, resources })).rejects.toThrow(/parry\/hotflip needs gradients .* bb is black-box/);
  });
});
