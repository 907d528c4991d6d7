import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRng, InputError, TextState, type TransformContext, UsageError, untargetedGoal } from '@parry/core';
import { createWordNet } from '@parry/text';
import { describe, expect, it } from 'vitest';
import { loadWordVectors, wholeWordToken, wordVectorsFrom } from '@parry/text';
import { HOMOGLYPHS } from '@parry/text';
import { charEdits, charEditSwap, embeddingSwap, wordNetSwap } from './transformations.js';

const ctx = (seed = 1): TransformContext => ({
  victim: { name: 'none', labelNames: ['a', 'b'], outputKind: 'single-label', queries: 0, predict: async () => new Float32Array() },
  goal: untargetedGoal().bind({ label: 0 }, 2),
  rng: createRng(seed),
  counters: { gradientCalls: 0 },
});

const VECTORS = wordVectorsFrom(['good', 'great', 'fine', 'bad', 'awful'], Float32Array.from([1, 0.1, 1, 0.2, 0.8, 0.6, -1, 0, -1, -0.1]), 2, 'test');

describe('transformations', () => {
  it('wordnet swap: single-word synonyms from WordNet with the case kept', () => {
    const wn = createWordNet();
    const t = wordNetSwap({ synonyms: (w) => wn.synonyms(w) });
    const c = t.candidates(new TextState('A Good film'), [1], ctx());
    const words = c.map((x) => x.word);
    expect(c.every((x) => x.index === 1)).toBe(true);
    expect(words).toContain('Beneficial'); // a WordNet 3.1 synonym of "good", capitalised like "Good"
    expect(words.every((w) => /^\p{Lu}\p{Ll}*$/u.test(w))).toBe(true);
    expect(words).not.toContain('Good');
  });

  it('embedding swap: nearest neighbours by cosine, with a cosine floor', () => {
    const t = embeddingSwap({ vectors: VECTORS, maxCandidates: 2 });
    expect(t.candidates(new TextState('good'), [0], ctx()).map((c) => c.word)).toEqual(['great', 'fine']);
    const strict = embeddingSwap({ vectors: VECTORS, maxCandidates: 4, minCosine: 0.99 });
    expect(strict.candidates(new TextState('good'), [0], ctx()).map((c) => c.word)).toEqual(['great']);
    expect(t.candidates(new TextState('unknownword'), [0], ctx())).toEqual([]);
  });

  it('character edits of each kind', () => {
    const rng = createRng(3);
    expect(charEdits('abc', 'swap', rng).sort()).toEqual(['acb', 'bac']);
    expect(charEdits('abc', 'delete', rng).sort()).toEqual(['ab', 'ac', 'bc']);
    const sub = charEdits('abc', 'substitute', rng);
    expect(sub).toHaveLength(3);
    for (const s of sub) expect([...s].filter((ch, i) => ch !== 'abc'[i])).toHaveLength(1);
    const ins = charEdits('abc', 'insert', rng);
    for (const s of ins) expect(s).toHaveLength(4);
    expect(charEdits('cop', 'homoglyph', rng).sort()).toEqual([`${HOMOGLYPHS.c}op`, `c${HOMOGLYPHS.o}p`, `co${HOMOGLYPHS.p}`].sort());
    expect(charEdits('a', 'delete', rng)).toEqual([]);
  });

  it('DeepWordBug composite: one random edit per kind per word, deterministic per seed', () => {
    const t = charEditSwap();
    const a = t.candidates(new TextState('movie great'), [0, 1], ctx(5));
    const b = t.candidates(new TextState('movie great'), [0, 1], ctx(5));
    expect(a).toEqual(b);
    expect(a.filter((c) => c.index === 0).length).toBeLessThanOrEqual(4);
    expect(a.filter((c) => c.index === 1).length).toBeGreaterThanOrEqual(3);
    for (const c of a) expect(c.word).not.toBe(['movie', 'great'][c.index]);
  });

  it('GloVe text files load (header skipped); a bad line is an InputError naming it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-vec-'));
    try {
      const f = path.join(dir, 'v.txt');
      fs.writeFileSync(f, '3 2\ngood 1 0\ngreat 0.9 0.1\nbad -1 0\n');
      const v = loadWordVectors(f);
      expect(v.size).toBe(3);
      expect(v.cosine('good', 'bad')).toBeCloseTo(-1, 6);
      expect(v.neighbours('good', 1)[0].word).toBe('great');
      fs.writeFileSync(f, 'good 1 0\nbad 1\n');
      expect(() => loadWordVectors(f)).toThrow(InputError);
      expect(() => loadWordVectors(f)).toThrow(/line 2/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('whole-word tokens exclude pieces and special tokens', () => {
    expect(wholeWordToken('movie')).toBe('movie');
    expect(wholeWordToken('##ing')).toBeUndefined();
    expect(wholeWordToken('[CLS]')).toBeUndefined();
    expect(wholeWordToken('\u0120great')).toBe('great');
  });
});
