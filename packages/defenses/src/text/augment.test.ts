import { createRng, UsageError } from '@parry/core';
import { describe, expect, it } from 'vitest';
import {
  augmentDataset,
  type AugmentableDataset,
  charNoise,
  eda,
  randomDeletion,
  randomInsertion,
  randomSwap,
  synonymReplacement,
} from './augment.js';
import { createWordNet, EDA_STOPWORDS, edaSynonyms, KEYBOARD_NEIGHBOURS } from '@parry/text';

const wordnet = createWordNet();
const ctx = { wordnet, stopwords: EDA_STOPWORDS };
const SENTENCE = 'the movie was a truly charming and delightful story , but the ending felt rushed .';
const WORDS = SENTENCE.split(' ');
const SEEDS = Array.from({ length: 20 }, (_, i) => i);

/** Indices of `sub` matched greedily in `full`, or undefined when `sub` is not a subsequence of `full`. */
function subsequence(sub: readonly string[], full: readonly string[]): number[] | undefined {
  const at: number[] = [];
  let j = 0;
  for (let i = 0; i < full.length && j < sub.length; i++) if (full[i] === sub[j]) (at.push(i), j++);
  return j === sub.length ? at : undefined;
}

describe('EDA word operations', () => {
  it('SR replaces up to n non-stopwords, every occurrence of each, by a WordNet synonym', () => {
    let changedRuns = 0;
    for (const seed of SEEDS) {
      const out = synonymReplacement(WORDS, 2, createRng(seed), ctx);
      expect(out).toHaveLength(WORDS.length);
      const replaced = new Map<string, string>();
      out.forEach((w, i) => {
        if (w === WORDS[i]) return;
        expect(EDA_STOPWORDS.has(WORDS[i])).toBe(false);
        expect(edaSynonyms(WORDS[i], wordnet)).toContain(w);
        // the same word is replaced by the same synonym everywhere
        expect(replaced.get(WORDS[i]) ?? w).toBe(w);
        replaced.set(WORDS[i], w);
      });
      expect(replaced.size).toBeLessThanOrEqual(2);
      expect(replaced.size).toBeGreaterThanOrEqual(1); // several words here have synonyms
      if (replaced.size > 0) changedRuns++;
    }
    expect(changedRuns).toBe(SEEDS.length);
  });

  it('SR keeps punctuation and capitalisation around a replaced word', () => {
    const out = synonymReplacement(['Movie,'], 1, createRng(1), ctx);
    expect(out[0]).toMatch(/^[A-Z][a-z -]*,$/);
    expect(edaSynonyms('movie', wordnet)).toContain(out[0].slice(0, -1).toLowerCase());
  });

  it('SR and RI leave a sentence of stopwords alone', () => {
    const words = 'it was not the one that they had'.split(' ');
    expect(synonymReplacement(words, 3, createRng(0), ctx)).toEqual(words);
    expect(randomInsertion(words, 3, createRng(0), ctx)).toEqual(words);
  });

  it('RI inserts n synonyms of sentence words, keeping the original words in order', () => {
    const allSyns = new Set(WORDS.flatMap((w) => (EDA_STOPWORDS.has(w) ? [] : edaSynonyms(w, wordnet))));
    for (const seed of SEEDS) {
      const out = randomInsertion(WORDS, 3, createRng(seed), ctx);
      expect(out).toHaveLength(WORDS.length + 3);
      const kept = subsequence(WORDS, out);
      expect(kept).toBeDefined();
      const inserted = out.filter((_, i) => !kept!.includes(i));
      expect(inserted).toHaveLength(3);
      for (const w of inserted) expect(allSyns.has(w)).toBe(true);
    }
  });

  it('RS keeps the multiset of words; one swap changes exactly two positions', () => {
    const words = 'one two three four five six'.split(' ');
    for (const seed of SEEDS) {
      const out = randomSwap(words, 1, createRng(seed));
      expect(out.slice().sort()).toEqual(words.slice().sort());
      expect(out.filter((w, i) => w !== words[i])).toHaveLength(2);
      expect(randomSwap(words, 5, createRng(seed)).slice().sort()).toEqual(words.slice().sort());
    }
    expect(randomSwap(['alone'], 3, createRng(0))).toEqual(['alone']);
  });

  it('RD only removes words, never returns an empty list, and is the identity at p = 0', () => {
    let shorter = 0;
    for (const seed of SEEDS) {
      const out = randomDeletion(WORDS, 0.3, createRng(seed));
      expect(out.length).toBeGreaterThan(0);
      expect(subsequence(out, WORDS)).toBeDefined();
      if (out.length < WORDS.length) shorter++;
      expect(randomDeletion(WORDS, 0, createRng(seed))).toEqual(WORDS);
      const one = randomDeletion(WORDS, 1, createRng(seed));
      expect(one).toHaveLength(1);
      expect(WORDS).toContain(one[0]);
    }
    expect(shorter).toBeGreaterThan(SEEDS.length / 2);
    expect(randomDeletion(['solo'], 1, createRng(0))).toEqual(['solo']);
  });
});

describe('eda()', () => {
  it('returns numAug copies, deterministic per seed and different for another seed', () => {
    const a = eda(SENTENCE, { numAug: 6 }, createRng(7));
    expect(a).toHaveLength(6);
    expect(eda(SENTENCE, { numAug: 6 }, createRng(7))).toEqual(a);
    expect(eda(SENTENCE, { numAug: 6 }, createRng(8))).not.toEqual(a);
    expect(a.some((s) => s !== SENTENCE)).toBe(true);
  });

  it('applies only the enabled operation', () => {
    const sorted = WORDS.slice().sort();
    for (const s of eda(SENTENCE, { numAug: 5, alphaSr: 0, alphaRi: 0, pRd: 0, alphaRs: 0.2 }, createRng(3))) {
      expect(s.split(' ').sort()).toEqual(sorted);
    }
    for (const s of eda(SENTENCE, { numAug: 5, alphaSr: 0, alphaRi: 0, alphaRs: 0, pRd: 0.3 }, createRng(3))) {
      expect(subsequence(s.split(' '), WORDS)).toBeDefined();
    }
    // SR only: stopwords and punctuation stay where they were
    for (const s of eda(SENTENCE, { numAug: 5, alphaRi: 0, alphaRs: 0, pRd: 0, alphaSr: 0.2 }, createRng(3))) {
      const kept = WORDS.filter((w) => EDA_STOPWORDS.has(w) || w === ',' || w === '.');
      expect(subsequence(kept, s.split(' '))).toBeDefined();
      expect(s).not.toBe(SENTENCE);
    }
  });

  it('spreads the copies over the enabled operations', () => {
    // A one-entry synonym source so that SR keeps the length: 4 copies, 4 operations -> one copy of each.
    const fake = { dir: 'fake', synsets: () => [], synonyms: (w: string) => (w === 'movie' ? ['film'] : []) };
    const at = WORDS.indexOf('movie');
    for (const seed of SEEDS.slice(0, 5)) {
      const out = eda(SENTENCE, { numAug: 4, pRd: 0.5, wordnet: fake }, createRng(seed)).map((s) => s.split(' '));
      expect(out.filter((w) => w.length === WORDS.length + 1 && w.includes('film'))).toHaveLength(1); // RI
      expect(out.filter((w) => w.length === WORDS.length && w[at] === 'film')).toHaveLength(1); // SR
      expect(out.filter((w) => w.length === WORDS.length && !w.includes('film') && w.join(' ') !== SENTENCE)).toHaveLength(1); // RS
      expect(out.filter((w) => w.length < WORDS.length)).toHaveLength(1); // RD (p = 0.5 of 16 words)
    }
  });

  it('refuses bad options with a UsageError', () => {
    expect(() => eda(SENTENCE, { alphaSr: 0, alphaRi: 0, alphaRs: 0, pRd: 0 }, createRng(0))).toThrow(UsageError);
    expect(() => eda(SENTENCE, { alphaSr: 1.5 }, createRng(0))).toThrow(/alphaSr must be a number in \[0, 1\]/);
    expect(() => eda(SENTENCE, { numAug: 0 }, createRng(0))).toThrow(/numAug must be an integer >= 1/);
  });
});

describe('charNoise()', () => {
  const TEXT = 'A truly charming movie, it is.  Great acting!';
  const words = (s: string) => s.split(/\s+/);

  function diff(orig: string, noisy: string): 'same' | 'swap' | 'delete' | 'insert' | 'substitute' | 'other' {
    if (orig === noisy) return 'same';
    const a = [...orig];
    const b = [...noisy];
    if (b.length === a.length - 1) return a.some((_, i) => a.slice(0, i).concat(a.slice(i + 1)).join('') === noisy) ? 'delete' : 'other';
    if (b.length === a.length + 1) return b.some((_, i) => b.slice(0, i).concat(b.slice(i + 1)).join('') === orig) ? 'insert' : 'other';
    if (b.length !== a.length) return 'other';
    const at = a.flatMap((c, i) => (c !== b[i] ? [i] : []));
    if (at.length === 1) return KEYBOARD_NEIGHBOURS[a[at[0]].toLowerCase()]?.includes(b[at[0]].toLowerCase()) ? 'substitute' : 'other';
    if (at.length === 2 && at[1] === at[0] + 1 && a[at[0]] === b[at[1]] && a[at[1]] === b[at[0]]) return 'swap';
    return 'other';
  }

  for (const edit of ['swap', 'delete', 'insert', 'substitute'] as const) {
    it(`p = 1 with only '${edit}' edits every word of 3+ letters that way and nothing else`, () => {
      for (const seed of SEEDS.slice(0, 5)) {
        const out = charNoise(TEXT, { p: 1, edits: [edit] }, createRng(seed));
        expect(out.match(/\s+/g)).toEqual(TEXT.match(/\s+/g)); // whitespace kept
        const [o, n] = [words(TEXT), words(out)];
        expect(n).toHaveLength(o.length);
        o.forEach((w, i) => {
          const core = w.replace(/[^A-Za-z]/g, '');
          if (core.length < 3) expect(n[i]).toBe(w);
          else {
            expect(diff(w, n[i])).toBe(edit);
            expect(n[i].replace(/[A-Za-z]/g, '')).toBe(w.replace(/[A-Za-z]/g, '')); // punctuation kept
          }
        });
      }
    });
  }

  it('is the identity at p = 0, deterministic per seed, different across seeds', () => {
    expect(charNoise(TEXT, { p: 0 }, createRng(0))).toBe(TEXT);
    const a = charNoise(TEXT, { p: 0.5 }, createRng(1));
    expect(charNoise(TEXT, { p: 0.5 }, createRng(1))).toBe(a);
    const others = SEEDS.slice(2, 8).map((s) => charNoise(TEXT, { p: 0.5 }, createRng(s)));
    expect(others.some((o) => o !== a)).toBe(true);
  });

  it('respects minLength and refuses bad options', () => {
    expect(charNoise('cat dog', { p: 1, minLength: 4 }, createRng(0))).toBe('cat dog');
    expect(() => charNoise(TEXT, { p: 2 }, createRng(0))).toThrow(UsageError);
    expect(() => charNoise(TEXT, { edits: [] }, createRng(0))).toThrow(UsageError);
  });
});

describe('augmentDataset()', () => {
  const multi = {
    name: 'toy',
    source: 'toy.tsv',
    multiLabel: true,
    labelNames: ['joy', 'anger', 'fear'],
    examples: [
      { text: 'what a wonderful and happy surprise', labels: [0], line: 1 },
      { text: 'this awful delay makes me furious and worried', labels: [1, 2], line: 2 },
      { text: 'so scared of the dark forest', labels: [2], line: 5 },
    ],
  };

  it('keeps multi-label labels, lines and other fields; originals first', () => {
    const out = augmentDataset(multi, { method: 'eda', numAug: 3, seed: 0 });
    expect(out.name).toBe('toy+eda');
    expect(out.labelNames).toEqual(multi.labelNames);
    expect(out.multiLabel).toBe(true);
    expect(out.examples).toHaveLength(3 * 4);
    multi.examples.forEach((ex, i) => {
      const group = out.examples.slice(4 * i, 4 * i + 4);
      expect(group[0].text).toBe(ex.text);
      for (const g of group) {
        expect(g.labels).toEqual(ex.labels);
        expect(g.labels).not.toBe(ex.labels); // copied, not shared
        expect(g.line).toBe(ex.line);
        expect('label' in g).toBe(false);
      }
    });
    const only = augmentDataset(multi, { method: 'char', numAug: 2, keepOriginal: false, charP: 0.5 });
    expect(only.examples).toHaveLength(6);
    expect(only.examples.map((e) => e.labels)).toEqual([[0], [0], [1, 2], [1, 2], [2], [2]]);
  });

  it('keeps single labels and pairs', () => {
    const single: AugmentableDataset & { labelNames: string[] } = {
      name: 'nli',
      labelNames: ['no', 'yes'],
      examples: [{ text: 'the old man walked his dog in the park', pair: 'a person is outside', label: 1, line: 3 }],
    };
    const out = augmentDataset(single, { method: 'char', numAug: 2, charP: 1 });
    expect(out.examples.map((e) => [e.label, e.pair, e.line])).toEqual([
      [1, 'a person is outside', 3],
      [1, 'a person is outside', 3],
      [1, 'a person is outside', 3],
    ]);
    const both = augmentDataset(single, { method: 'char', numAug: 2, charP: 1, augmentPair: true });
    expect(both.examples.slice(1).every((e) => e.pair !== 'a person is outside')).toBe(true);
  });

  it("is deterministic per seed; an example's copies depend neither on later examples nor on earlier examples' texts", () => {
    const a = augmentDataset(multi, { method: 'eda', numAug: 4, seed: 5 });
    expect(augmentDataset(multi, { method: 'eda', numAug: 4, seed: 5 })).toEqual(a);
    expect(augmentDataset(multi, { method: 'eda', numAug: 4, seed: 6 }).examples.map((e) => e.text)).not.toEqual(a.examples.map((e) => e.text));
    const firstOnly = augmentDataset({ ...multi, examples: multi.examples.slice(0, 2) }, { method: 'eda', numAug: 4, seed: 5 });
    expect(firstOnly.examples).toEqual(a.examples.slice(0, 10));
    // nor on the content of the examples before it (each example has its own forked stream)
    const changed = { ...multi, examples: [{ ...multi.examples[0], text: 'a completely different and much longer opening sentence here' }, ...multi.examples.slice(1)] };
    const b = augmentDataset(changed, { method: 'eda', numAug: 4, seed: 5 });
    expect(b.examples.slice(0, 5)).not.toEqual(a.examples.slice(0, 5));
    expect(b.examples.slice(5)).toEqual(a.examples.slice(5));
  });

  it('refuses bad options with a UsageError naming the key', () => {
    expect(() => augmentDataset(multi, { method: 'eda', numAug: 0 })).toThrow(/numAug/);
    expect(() => augmentDataset(multi, { method: 'char', charP: -0.1 })).toThrow(/charP/);
    expect(() => augmentDataset(multi, { method: 'nope' as 'eda' })).toThrow(UsageError);
  });
});
