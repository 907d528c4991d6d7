import { describe, expect, it } from 'vitest';
import { acceptCandidate, embeddingCosine, maxEditDistance, maxModificationRate, maxWordsPerturbed, minWordLength, modifiableIndices, noRepeat, stopwords } from './constraints.js';
import { constraintComponents } from './constraints.js';
import { wordVectorsFrom } from '@parry/text';
import { TextState } from './words.js';

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

  it('components validate their options with one line', () => {
    const rate = constraintComponents.find((c) => c.name === 'parry/max-modification-rate')!;
    expect(() => rate.create({ rate: 2 })).toThrow(/parry\/max-modification-rate: option "rate"/);
    expect(() => rate.create({ rat: 0.1 })).toThrow(/unknown option "rat"/);
    const sw = constraintComponents.find((c) => c.name === 'parry/stopwords')!.create() as ReturnType<typeof stopwords>;
    expect(modifiableIndices(s, [sw])).toEqual([1, 4, 5, 7]);
  });
});
