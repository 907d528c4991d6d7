import { describe, expect, it } from 'vitest';
import { acceptCandidate, embeddingCosine, maxEditDistance, maxModificationRate, maxWordsPerturbed, minWordLength, modifiableIndices, noRepeat, stopwords } from './constraints.js';
import { constraintComponents } from './constraints.js';
import { wordVectorsFrom } from '@parry/text';
import { createRegistry, TextState, textBuildContext, untargetedGoal } from '@parry/core';

const s = new TextState('the film is a truly great one indeed');

describe('constraints', () => {
  it('stopwords and minimum word length restrict the modifiable words', () => {
    expect(modifiableIndices(s, [stopwords({ words: ['the', 'is', 'a', 'one'] })])).toEqual([1, 4, 5, 7]);
    expect(modifiableIndices(s, [minWordLength({ min: 4 })])).toEqual([1, 4, 5, 7]);
    expect(modifiableIndices(s, [minWordLength({ min: 6 })])).toEqual([7]);
  });

  it('no-repeat and the modification limits', () => {
    const t = s.replace(5, 'fine');
    expect(modifiableIndices(t, [noRepeat()])).not.toContain(5);
    expect(modifiableIndices(t, [noRepeat()])).toHaveLength(7);
    // 8 words, rate 0.1 -> ceil(0.8) = 1 word: once one is modified only it may change again
    expect(modifiableIndices(s, [maxModificationRate({ rate: 0.1 })])).toHaveLength(8);
    expect(modifiableIndices(t, [maxModificationRate({ rate: 0.1 })])).toEqual([5]);
    expect(modifiableIndices(t, [maxModificationRate({ rate: 0.25 })])).toHaveLength(8);
    expect(modifiableIndices(t.replace(1, 'movie'), [maxWordsPerturbed({ max: 2 })])).toEqual([1, 5]);
  });

  it('embedding cosine accepts close words, refuses far and unknown ones, and is skipped with a note without vectors', () => {
    const v = wordVectorsFrom(['great', 'fine', 'awful'], Float32Array.from([1, 0.1, 0.9, 0.3, -1, 0]), 2, 'test');
    const c = embeddingCosine({ vectors: v, minCosine: 0.5 });
    expect(acceptCandidate(s, 5, 'fine', [c])).toBe(true);
    expect(acceptCandidate(s, 5, 'awful', [c])).toBe(false);
    expect(acceptCandidate(s, 5, 'zzz', [c])).toBe(false);
    const none = embeddingCosine({ minCosine: 0.5 });
    expect(none.note).toMatch(/skipped: no word vectors/);
    expect(acceptCandidate(s, 5, 'awful', [none])).toBe(true);
  });

  it('edit distance budget sums over the changed words', () => {
    const c = maxEditDistance({ max: 3 });
    const t = s.replace(5, 'grxat'); // distance 1
    expect(acceptCandidate(t, 1, 'fXlm', [c])).toBe(true); // 1 + 1
    expect(acceptCandidate(t, 1, 'XXXX', [c])).toBe(false); // 1 + 4
    expect(acceptCandidate(t, 5, 'gr', [c])).toBe(true); // re-editing word 5 replaces its distance: 3
  });

  it('components are registered plugins that validate their options with one line', async () => {
    const registry = createRegistry(constraintComponents as never);
    expect(() => registry.create('parry/max-modification-rate', { rate: 2 }, 'constraint')).toThrow(/parry\/max-modification-rate: option "rate"/);
    expect(() => registry.create('parry/max-modification-rate', { rat: 0.1 }, 'constraint')).toThrow(/unknown option "rat"/);
    const resources = {
      stopwords: () => new Set(['the', 'is', 'a', 'one']),
      synonyms: () => Promise.reject(new Error('unused')),
      wordVectors: () => Promise.reject(new Error('unused')),
      maskedLm: () => Promise.reject(new Error('unused')),
    };
    const victim = { name: 'none', labelNames: ['a', 'b'], outputKind: 'single-label' as const, queries: 0, predict: async () => new Float32Array() };
    const ctx = textBuildContext(registry, { victim, goal: untargetedGoal(), resources });
    const sw = await ctx.component('constraint', 'stopwords');
    expect(modifiableIndices(s, [sw])).toEqual([1, 4, 5, 7]);
  });
});
