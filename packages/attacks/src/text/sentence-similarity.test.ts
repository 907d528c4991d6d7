/**
 * The sentence-similarity constraint with a sentence encoder (issue 16): TextAttack's window and threshold semantics
 * through the encoder, one `embed` call per search step, and TextFooler end to end with a Parry encoder folder.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  createRegistry,
  initBackend,
  runTextAttack,
  type Constraint,
  type SentenceEncoder,
  type TextResources,
  type TextAttack,
  TextState,
  textBuildContext,
  type Transformation,
  untargetedGoal,
} from '@parry/core';
import { toyTextResources, toyTextVictim } from '@parry/core/testing';
import { createTransformerClassifier, loadSentenceEncoder, savePretrained, smallConfig, wordPieceTokenizer } from '@parry/text';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinTextComponents } from '../index.js';
import { constraintComponents, noRepeat, sentenceSimilarity, TEXTFOOLER_MIN_SIMILARITY } from './constraints.js';
import { textFooler } from './recipes/textfooler.js';
import { beamSearch, greedyWir, neighboursMany } from './search.js';
import { wordNetSwap } from './transformations.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

/** Deterministic word vectors (a hash of the word): a text's embedding is the sum of its words' vectors. */
function wordVec(word: string, dim = 8): number[] {
  let h = 2166136261;
  for (const ch of word) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return Array.from({ length: dim }, (_, d) => Math.sin((h % 1000) * 0.37 + d * 1.3) + (d === h % dim ? 1 : 0));
}
const toyEmbed = (text: string): Float32Array => {
  const v = new Float32Array(8);
  for (const w of text.split(' ').filter(Boolean)) wordVec(w).forEach((x, d) => (v[d] += x));
  return v;
};
/** The toy encoder, logging every call's texts. */
function toyEncoder(): SentenceEncoder & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    name: 'toy encoder',
    calls,
    async embed(texts) {
      calls.push([...texts]);
      return texts.map(toyEmbed);
    },
  };
}
const angular = (a: string, b: string): number => {
  const [x, y] = [toyEmbed(a), toyEmbed(b)];
  const dot = x.reduce((s, v, d) => s + v * y[d], 0);
  const c = dot / (Math.hypot(...x) * Math.hypot(...y));
  return 1 - Math.acos(Math.max(-1, Math.min(1, c))) / Math.PI;
};
const check = async (c: ReturnType<typeof sentenceSimilarity>, state: TextState, index: number, word: string) => (await c.allowCandidates!([{ state, index, word }]))[0];

const WORDS = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon'.split(' ');

describe('parry/sentence-similarity with a sentence encoder', () => {
  const s = new TextState(`${WORDS.join(' ')}.`);

  it('compares the 15-word windows (current text) as TextAttack: accepted just below the similarity, refused just above', async () => {
    for (const [index, start, end] of [
      [9, 2, 16],
      [2, 0, 14],
      [18, 5, 19],
    ]) {
      const a = WORDS.slice(start, end + 1);
      const b = a.slice();
      b[index - start] = 'far';
      const sim = angular(a.join(' '), b.join(' '));
      expect(sim).toBeLessThan(0.999);
      const enc = toyEncoder();
      expect(await check(sentenceSimilarity({ encoder: enc, minSimilarity: sim - 1e-6 }), s, index, 'far')).toBe(true);
      expect(enc.calls).toEqual([[a.join(' '), b.join(' ')]]); // exactly the two windows, words joined by spaces
      expect(await check(sentenceSimilarity({ encoder: toyEncoder(), minSimilarity: sim + 1e-4 }), s, index, 'far')).toBe(false);
      const cosine = sentenceSimilarity({ encoder: toyEncoder(), metric: 'cosine', minSimilarity: Math.cos(Math.PI * (1 - sim)) + 1e-4 });
      expect(await check(cosine, s, index, 'far')).toBe(false);
    }
  });

  it('compares with the current text by default and with the original on request; short texts pass; whole texts with window Infinity', async () => {
    const changed = s.replace(8, 'omega');
    const cur = WORDS.slice(2, 17);
    cur[6] = 'omega';
    const withFar = cur.slice();
    withFar[7] = 'far';
    const simCur = angular(cur.join(' '), withFar.join(' '));
    const simOrig = angular(WORDS.slice(2, 17).join(' '), withFar.join(' '));
    expect(Math.abs(simCur - simOrig)).toBeGreaterThan(1e-3);
    const between = (simCur + simOrig) / 2;
    const vsCurrent = await check(sentenceSimilarity({ encoder: toyEncoder(), minSimilarity: between }), changed, 9, 'far');
    const vsOriginal = await check(sentenceSimilarity({ encoder: toyEncoder(), minSimilarity: between, compareAgainstOriginal: true }), changed, 9, 'far');
    expect(vsCurrent).toBe(simCur >= between);
    expect(vsOriginal).toBe(simOrig >= between);
    expect(vsCurrent).not.toBe(vsOriginal);

    const short = new TextState('alpha beta gamma');
    const enc = toyEncoder();
    expect(await check(sentenceSimilarity({ encoder: enc, minSimilarity: 1 }), short, 1, 'far')).toBe(true);
    expect(enc.calls).toEqual([]); // skipped without embedding
    const whole = toyEncoder();
    expect(await check(sentenceSimilarity({ encoder: whole, minSimilarity: 1, window: Number.POSITIVE_INFINITY }), short, 1, 'far')).toBe(false);
    expect(whole.calls).toEqual([['alpha beta gamma', 'alpha far gamma']]);
  });

  it('embeds each window once (cache) and answers many candidates in one call, in order', async () => {
    const enc = toyEncoder();
    const c = sentenceSimilarity({ encoder: enc, minSimilarity: 0.95 });
    const items = ['far', 'alpha', 'x', 'far'].map((word) => ({ state: s, index: 9, word }));
    const got = await c.allowCandidates!(items);
    const want = items.map((it) => {
      const a = WORDS.slice(2, 17);
      const b = a.slice();
      b[7] = it.word;
      return angular(a.join(' '), b.join(' ')) >= 0.95 - 1e-9;
    });
    expect(got).toEqual(want);
    expect(enc.calls).toHaveLength(1);
    expect(enc.calls[0]).toHaveLength(4); // the current window and three distinct candidate windows
    await c.allowCandidates!(items);
    expect(enc.calls).toHaveLength(1); // all cached
  });

  it('the registered component uses the resources\' encoder, else mean word vectors with a note', async () => {
    const registry = createRegistry(constraintComponents as never);
    const enc = toyEncoder();
    const ctx = (resources: TextResources) => textBuildContext(registry, { victim: toyTextVictim(), goal: untargetedGoal(), resources });
    const withEnc = (await ctx({ ...toyTextResources(), sentenceEncoder: async () => enc }).component('constraint', 'parry/sentence-similarity')) as Constraint;
    expect(withEnc.allowCandidates).toBeTypeOf('function');
    expect(withEnc.allowCandidate).toBeUndefined();
    expect(withEnc.note).toBeUndefined();
    expect(await withEnc.allowCandidates!([{ state: s, index: 9, word: 'far' }])).toHaveLength(1);
    expect(enc.calls).toHaveLength(1);
    const whole = (await ctx({ ...toyTextResources(), sentenceEncoder: async () => enc }).component('constraint', 'parry/sentence-similarity', { window: 'all', minSimilarity: 1 })) as Constraint;
    expect(await whole.allowCandidates!([{ state: new TextState('alpha beta'), index: 0, word: 'far' }])).toEqual([false]);
    const fallback = (await ctx(toyTextResources()).component('constraint', 'parry/sentence-similarity')) as Constraint;
    expect(fallback.allowCandidate).toBeTypeOf('function');
    expect(fallback.note).toMatch(/mean of word vectors .* not a sentence encoder \(none given: --sentence-encoder/);
    // an encoder that fails to load is an error, not a silent fallback
    await expect(ctx({ ...toyTextResources(), sentenceEncoder: () => Promise.reject(new Error('bad folder')) }).component('constraint', 'parry/sentence-similarity')).rejects.toThrow('bad folder');
  });
});

describe('searches check asynchronous constraints once per step', () => {
  /** A transformation proposing `zzz` and `yyy` for every word, counting its calls. */
  const counting = () => {
    const t = wordNetSwap({ synonyms: () => ['zzz', 'yyy'] });
    const stats = { calls: 0 };
    const wrapped: Transformation = { name: t.name, candidates: (st, idx, c) => (stats.calls++, t.candidates(st, idx, c)) };
    return { t: wrapped, stats };
  };
  const text = `${WORDS.slice(0, 16).join(' ')}.`;
  const attack = (search: TextAttack['search'], t: Transformation, enc: SentenceEncoder, min = -1): TextAttack => ({
    name: 'test',
    goal: untargetedGoal(),
    transformation: t,
    constraints: [noRepeat(), sentenceSimilarity({ encoder: enc, minSimilarity: min })],
    search,
  });

  it('greedy: one embed per word tried; PWWS ranking: one embed for every word\'s swaps', async () => {
    const flat = toyTextVictim({ weights: {} }); // never succeeds, never improves: every word is tried
    for (const wir of ['delete', 'weighted-saliency'] as const) {
      const enc = toyEncoder();
      const { t, stats } = counting();
      const { records } = await runTextAttack(attack(greedyWir({ wir }), t, enc), flat, [{ text, label: 0 }]);
      expect(records[0].status).toBe('failed');
      const tried = 16;
      expect(stats.calls).toBe(wir === 'delete' ? tried : 2 * tried);
      if (wir === 'delete') {
        expect(enc.calls).toHaveLength(tried);
        for (const call of enc.calls) expect(call.length).toBeLessThanOrEqual(3); // the current window and two candidates
      } else {
        // the ranking step embeds every word's candidate windows at once; the greedy steps then find them all cached
        expect(enc.calls).toHaveLength(1);
        expect(enc.calls[0].length).toBeGreaterThanOrEqual(2 * tried);
      }
    }
  });

  it('beam: one embed per step for all states of the beam; refused candidates are never scored', async () => {
    const victim = toyTextVictim({ weights: { zzz: [1, 0] }, bias: [0, 3.5] }); // four zzz flip it
    const enc = toyEncoder();
    const { t } = counting();
    const { records } = await runTextAttack(attack(beamSearch({ width: 2 }), t, enc), victim, [{ text, label: 1 }]);
    expect(records[0].status).toBe('successful');
    expect(records[0].changed.filter((c) => c.after === 'zzz')).toHaveLength(4);
    expect(enc.calls).toHaveLength(4); // 4 steps (1 state, then 2 per step: 7 calls state by state)

    // a threshold every change fails: no candidate reaches the model
    const strict = toyTextVictim({ weights: { zzz: [1, 0] }, bias: [0, 3.5] });
    const { records: none } = await runTextAttack(attack(beamSearch({ width: 2 }), counting().t, toyEncoder(), 1), strict, [{ text, label: 1 }]);
    expect(none[0].status).toBe('failed');
    expect(none[0].changed).toEqual([]);
    expect(strict.queries).toBe(1); // the original only
  });

  it('neighboursMany answers per request, in order', async () => {
    const enc = toyEncoder();
    const st = new TextState(text);
    const { t } = counting();
    const ctx = {
      goal: untargetedGoal().bind({ label: 0 }, 2),
      victim: toyTextVictim(),
      rng: { shuffle: <T>(x: T[]) => x } as never,
      transformation: t,
      constraints: [sentenceSimilarity({ encoder: enc, minSimilarity: -1 })],
      counters: { gradientCalls: 0 },
      evaluate: async () => [],
      exhausted: false,
    } as never;
    const out = await neighboursMany([{ state: st, indices: [3] }, { state: st, indices: [] }, { state: st, indices: [5, 6] }], ctx);
    expect(out.map((o) => o.map((x) => x.text.split(' ').findIndex((w, i) => w !== st.words[i] && i < 16)))).toEqual([[3, 3], [], [5, 5, 6, 6]]);
    expect(enc.calls).toHaveLength(1);
  });
});

describe('TextFooler with a Parry encoder folder as sentence encoder', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-tf-senc-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...'the a film movie picture was good fine decent nice but long lengthy and plot story cast actors slow great grand bad poor weak short brief of with in'.split(' '), '.', ','];
  /** Long enough (>= 15 words) that the window check applies. */
  const EXAMPLES = [
    { text: 'The film was good but long and the plot of the story was slow with a cast in the film.', label: 1 },
    { text: 'A great picture with a great cast but the plot was slow and long in the story of it.', label: 1 },
    { text: 'The movie was bad and short but the cast was good and the plot was slow in the film.', label: 0 },
  ];

  it('uses the encoder (threshold 1 refuses every swap, -1 accepts what the check-free run does); a change it made passes it; no tensor left', async () => {
    const model = createTransformerClassifier(smallConfig('bert', { vocabSize: VOCAB.length, hiddenSize: 16, numHeads: 2, numLayers: 1, intermediateSize: 32 }), { seed: 5 });
    await savePretrained(path.join(tmp, 'enc'), model, wordPieceTokenizer(VOCAB));
    model.dispose();
    const before = tf.memory().numTensors;
    const encoder = await loadSentenceEncoder(path.join(tmp, 'enc'));
    const calls = { n: 0 };
    const counted: SentenceEncoder = { name: encoder.name, embed: (t) => (calls.n++, encoder.embed(t)) };
    const registry = createRegistry(builtinTextComponents as never);
    const run = async (options: Record<string, unknown>, withEncoder = true) => {
      const resources = { ...toyTextResources(), ...(withEncoder ? { sentenceEncoder: async () => counted } : {}) };
      const victim = toyTextVictim();
      const built = await textFooler({ partOfSpeech: false, ...options }).create(textBuildContext(registry, { victim, goal: untargetedGoal(), resources }));
      return { attack: built, ...(await runTextAttack(built, victim, EXAMPLES)) };
    };
    const free = await run({ sentenceSimilarity: false, maxModificationRate: 1 });
    expect(free.records.some((r) => r.changed.length > 0)).toBe(true);
    const loose = await run({ minSimilarity: -1 });
    expect(calls.n).toBeGreaterThan(0);
    expect(loose.records.map((r) => r.perturbed)).toEqual(free.records.map((r) => r.perturbed));
    expect(loose.summary.notes.join('\n')).toContain(`sentence similarity: ${encoder.name} over 15-word windows`);
    const strict = await run({ minSimilarity: 1 });
    for (const r of strict.records) expect(r.changed).toEqual([]);
    // the default threshold: a single-word change passes the encoder's check on the original text
    const dflt = await run({});
    const sim = sentenceSimilarity({ encoder, minSimilarity: TEXTFOOLER_MIN_SIMILARITY });
    const single = dflt.records.filter((r) => r.changed.length === 1);
    expect(single.length).toBeGreaterThan(0);
    for (const r of single) {
      const st = new TextState(r.original);
      const i = st.spans.findIndex((sp) => sp.start === r.changed[0].start);
      expect((await sim.allowCandidates!([{ state: st, index: i, word: r.changed[0].after }]))[0]).toBe(true);
    }
    encoder.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
