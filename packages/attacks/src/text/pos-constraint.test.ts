/**
 * The part-of-speech and sentence-similarity constraints (issue 16) and TextFooler with them: POS tags from the wink-nlp
 * tagger of @parry/text (and a counting stub for the cache), window similarity over mean word vectors checked against a
 * direct computation, and the recipe's fallbacks and notes.
 */
import { createRegistry, type PosTagger, runTextAttack, TextState, textBuildContext, type TextResources, untargetedGoal } from '@parry/core';
import { describeTextAttackConformance, toyTextExamples, toyTextResources, toyTextVictim } from '@parry/core/testing';
import { createPosTagger, wordVectorsFrom } from '@parry/text';
import { describe, expect, it } from 'vitest';
import { builtinTextComponents } from '../index.js';
import { acceptCandidate, constraintComponents, partOfSpeech, sentenceSimilarity, TEXTFOOLER_MIN_SIMILARITY } from './constraints.js';
import { textFooler } from './recipes/index.js';

const tagger = createPosTagger();
const victim = { name: 'none', labelNames: ['a', 'b'], outputKind: 'single-label' as const, queries: 0, predict: async () => new Float32Array() };

describe('parry/part-of-speech', () => {
  it('accepts a replacement with the same tag in the original context and refuses another tag (wink-nlp tagger)', () => {
    const s = new TextState('The film was surprisingly good, and the cast acted well.');
    const pos = partOfSpeech({ tagger });
    expect(acceptCandidate(s, 4, 'great', [pos])).toBe(true); // ADJ -> ADJ
    expect(acceptCandidate(s, 4, 'quickly', [pos])).toBe(false); // ADJ -> ADV
    expect(acceptCandidate(s, 3, 'remarkably', [pos])).toBe(true); // ADV -> ADV
    expect(acceptCandidate(s, 1, 'movie', [pos])).toBe(true); // NOUN -> NOUN
    expect(acceptCandidate(s, 1, 'the', [pos])).toBe(false); // NOUN -> DET
  });

  it('NOUN and VERB may replace each other unless allowVerbNounSwap is false; tags are cached by context', () => {
    let calls = 0;
    const stub: PosTagger = {
      tag(words) {
        calls++;
        return words.map((w) => (w === 'run' ? 'VERB' : w === 'fast' ? 'ADV' : 'NOUN'));
      },
    };
    const s = new TextState('dogs run home');
    expect(acceptCandidate(s, 0, 'run', [partOfSpeech({ tagger: stub })])).toBe(true);
    expect(acceptCandidate(s, 0, 'run', [partOfSpeech({ tagger: stub, allowVerbNounSwap: false })])).toBe(false);
    expect(acceptCandidate(s, 0, 'fast', [partOfSpeech({ tagger: stub })])).toBe(false);
    calls = 0;
    const pos = partOfSpeech({ tagger: stub });
    for (const w of ['cats', 'birds', 'cats']) acceptCandidate(s, 0, w, [pos]);
    expect(calls).toBe(3); // the original window once, each distinct replacement once
    // the context is 4 words before and 3 after (as TextAttack)
    const seen: string[][] = [];
    const spy = partOfSpeech({ tagger: { tag: (w) => (seen.push([...w]), w.map(() => 'NOUN')) } });
    acceptCandidate(new TextState('a b c d e f g h i j k'), 5, 'x', [spy]);
    expect(seen[0]).toEqual(['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']);
  });

  it('is inactive with a note without a tagger; the component fails with one line when the resources have none', async () => {
    expect(partOfSpeech({}).note).toMatch(/no part-of-speech tagger/);
    const registry = createRegistry(constraintComponents as never);
    const ctx = textBuildContext(registry, { victim, goal: untargetedGoal(), resources: toyTextResources() });
    await expect(ctx.component('constraint', 'parry/part-of-speech')).rejects.toThrow(/^parry\/part-of-speech needs a part-of-speech tagger \("pos"\)/);
    const withTagger = textBuildContext(registry, { victim, goal: untargetedGoal(), resources: { ...toyTextResources(), posTagger: async () => tagger } });
    const c = await withTagger.component('constraint', 'parry/part-of-speech', { allowVerbNounSwap: false });
    expect(acceptCandidate(new TextState('a truly good film'), 2, 'slowly', [c])).toBe(false);
  });
});

describe('parry/sentence-similarity (mean of word vectors, TextFooler window)', () => {
  const words = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon'.split(' ');
  const dim = 6;
  // deterministic vectors; 'similar' is close to 'kappa', 'far' is not
  const vec = (i: number) => Array.from({ length: dim }, (_, d) => Math.cos(1.7 * i + d) + (d === i % dim ? 1 : 0));
  const table: Record<string, number[]> = Object.fromEntries(words.map((w, i) => [w, vec(i)]));
  table.similar = table.kappa.map((x, d) => x + (d === 0 ? 0.2 : 0));
  table.far = table.kappa.map((x) => -x);
  const names = Object.keys(table);
  const v = wordVectorsFrom(names, Float32Array.from(names.flatMap((n) => table[n])), dim, 'test');
  const text = words.map((w) => w[0].toUpperCase() + w.slice(1)).join(' ') + '.';
  const s = new TextState(text);

  /** Angular similarity of the mean unit vectors of two word lists, computed directly. */
  const direct = (a: string[], b: string[]) => {
    const mean = (ws: string[]) => {
      const m = new Array(dim).fill(0);
      for (const w of ws) {
        const x = table[w.toLowerCase()];
        const n = Math.hypot(...x);
        x.forEach((y, d) => (m[d] += y / n));
      }
      return m;
    };
    const [x, y] = [mean(a), mean(b)];
    const c = x.reduce((t, xi, d) => t + xi * y[d], 0) / (Math.hypot(...x) * Math.hypot(...y));
    return 1 - Math.acos(Math.max(-1, Math.min(1, c))) / Math.PI;
  };

  it('compares the 15-word windows around the change, as TextAttack: the threshold falls exactly at the direct similarity', () => {
    for (const [index, start, end] of [
      [9, 2, 16], // centred: index - 7 .. index + 7
      [2, 0, 14], // near the start: the first 15 words
      [18, 5, 19], // near the end: the last 15 words
    ]) {
      const a = s.words.slice(start, end + 1);
      const b = a.slice();
      b[index - start] = 'far';
      const sim = direct(a, b);
      expect(acceptCandidate(s, index, 'far', [sentenceSimilarity({ vectors: v, minSimilarity: sim - 1e-6 })])).toBe(true);
      expect(acceptCandidate(s, index, 'far', [sentenceSimilarity({ vectors: v, minSimilarity: sim + 1e-4 })])).toBe(false);
    }
  });

  it('keeps a close replacement and refuses a far one at a strict threshold; short texts pass; no vectors: a note', () => {
    const strict = sentenceSimilarity({ vectors: v, minSimilarity: 0.97, window: 5 });
    expect(acceptCandidate(s, 9, 'similar', [strict])).toBe(true);
    expect(acceptCandidate(s, 9, 'far', [strict])).toBe(false);
    const short = new TextState('Alpha beta kappa.');
    expect(acceptCandidate(short, 2, 'far', [strict])).toBe(true); // 3 words < window: skipped as TextAttack
    expect(acceptCandidate(short, 2, 'far', [sentenceSimilarity({ vectors: v, minSimilarity: 0.97, window: 5, skipShortTexts: false })])).toBe(false);
    // a word without a vector is left out of the mean
    expect(acceptCandidate(s, 9, 'unknownword', [sentenceSimilarity({ vectors: v })])).toBe(true);
    expect(sentenceSimilarity({ minSimilarity: 0.8 }).note).toMatch(/no word vectors/);
    expect(TEXTFOOLER_MIN_SIMILARITY).toBeCloseTo(1 - 0.5 / Math.PI, 9);
  });
});

describe('TextFooler with the part-of-speech and sentence-similarity constraints', () => {
  const registry = createRegistry(builtinTextComponents as never);
  const build = async (resources: TextResources, options: Record<string, unknown> = {}) =>
    textFooler(options).create(textBuildContext(registry, { victim: toyTextVictim(), goal: untargetedGoal(), resources }));
  const withTagger = (): TextResources => ({ ...toyTextResources(), posTagger: async () => tagger });

  it('uses both when the resources allow, and drops the modification-rate stand-in by default', async () => {
    const attack = await build(withTagger());
    expect(attack.constraints.map((c) => c.name)).toEqual(['no-repeat', 'stopwords', 'embedding-cosine', 'part-of-speech', 'sentence-similarity']);
    expect(attack.notes?.join('\n')).toMatch(/sentence similarity: mean of word vectors \(toy word vectors \(in memory\)\) over 15-word windows, angular >= 0.84\d+; not a sentence encoder \(none given: --sentence-encoder/);
    expect(attack.constraints.find((c) => c.name === 'sentence-similarity')?.note).toBeUndefined(); // said once, in the notes
    const capped = await build(withTagger(), { maxModificationRate: 0.3 });
    expect(capped.constraints.map((c) => c.name)).toContain('max-modification-rate');
  });

  it('falls back without a tagger (and says so), and the stand-in returns when the similarity check is off', async () => {
    const attack = await build(toyTextResources());
    expect(attack.constraints.map((c) => c.name)).not.toContain('part-of-speech');
    expect(attack.notes).toContain('no part-of-speech constraint: these resources have no part-of-speech tagger');
    const off = await build(withTagger(), { sentenceSimilarity: false, partOfSpeech: false });
    expect(off.constraints.map((c) => c.name)).toEqual(['no-repeat', 'stopwords', 'embedding-cosine', 'max-modification-rate']);
    expect(off.notes?.join('\n')).toMatch(/max modification rate 0.2 stands in/);
  });

  it('every word it changes keeps its part of speech in context', async () => {
    const attack = await build(withTagger(), { partOfSpeech: true });
    const { records } = await runTextAttack(attack, toyTextVictim(), toyTextExamples());
    expect(records.reduce((n, r) => n + r.changed.length, 0)).toBeGreaterThan(0);
    for (const r of records) {
      const original = new TextState(r.original);
      for (const c of r.changed) {
        const i = original.spans.findIndex((sp) => sp.start === c.start);
        const ctx = original.spans.slice(Math.max(i - 4, 0), i + 4).map((sp) => sp.text);
        const at = i - Math.max(i - 4, 0);
        const before = tagger.tag(ctx)[at];
        ctx[at] = c.after;
        const after = tagger.tag(ctx)[at];
        expect(before === after || (['NOUN', 'VERB'].includes(before) && ['NOUN', 'VERB'].includes(after))).toBe(true);
      }
    }
  });
});

describeTextAttackConformance(textFooler, { components: builtinTextComponents, resources: () => ({ ...toyTextResources(), posTagger: async () => createPosTagger() }) });
