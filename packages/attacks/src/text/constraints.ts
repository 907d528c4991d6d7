/**
 * Constraints: which words may be modified (checked before transformations), and which replacements are acceptable
 * (checked on each candidate).
 */
import { type Constraint, defineTextComponent, levenshtein, type TextState, type WordVectors, z } from '@parry/core';


/**
 * At most `rate` of the words modified: max(ceil(rate * words), 1) words (TextAttack's MaxModificationRate). Words
 * already modified may be modified again (combine with `noRepeat` to forbid that).
 */
export function maxModificationRate(options: { rate: number }): Constraint {
  return {
    name: 'max-modification-rate',
    allowIndex(state, index) {
      const max = Math.max(Math.ceil(options.rate * state.numWords), 1);
      return state.modified.has(index) || state.modified.size < max;
    },
  };
}

/** At most `max` words modified in all. */
export function maxWordsPerturbed(options: { max: number }): Constraint {
  return { name: 'max-words-perturbed', allowIndex: (state, index) => state.modified.has(index) || state.modified.size < options.max };
}

/** Stopwords (compared in lower case) are never modified. */
export function stopwords(options: { words: ReadonlySet<string> | readonly string[] }): Constraint {
  const set = new Set([...options.words].map((w) => w.toLowerCase()));
  return { name: 'stopwords', allowIndex: (state, index) => !set.has(state.spans[index].text.toLowerCase()) };
}

/** Words shorter than `min` characters (in the original text) are never modified. */
export function minWordLength(options: { min: number }): Constraint {
  return { name: 'min-word-length', allowIndex: (state, index) => [...state.spans[index].text].length >= options.min };
}

/** A word is modified at most once (TextAttack's RepeatModification). */
export function noRepeat(): Constraint {
  return { name: 'no-repeat', allowIndex: (state, index) => !state.modified.has(index) };
}

/**
 * The replacement's cosine similarity to the original word must be >= `minCosine` in the word vectors given; a word
 * without a vector is refused. Without vectors the constraint is inactive and says so in `note`.
 */
export function embeddingCosine(options: { vectors?: WordVectors; minCosine: number }): Constraint {
  const v = options.vectors;
  if (!v) return { name: 'embedding-cosine', note: `embedding-cosine >= ${options.minCosine} skipped: no word vectors given` };
  return {
    name: 'embedding-cosine',
    allowCandidate(state, index, word) {
      const c = v.cosine(state.spans[index].text, word);
      return c !== undefined && c >= options.minCosine;
    },
  };
}

/**
 * Character edit budget: the summed Levenshtein distance of the changed words to the original words must be <= `max`
 * (an upper bound of the whole-text distance that TextAttack's LevenshteinEditDistance measures).
 */
export function maxEditDistance(options: { max: number }): Constraint {
  return {
    name: 'max-edit-distance',
    allowCandidate(state, index, word) {
      let d = 0;
      state.spans.forEach((s, i) => {
        const w = i === index ? word : state.words[i];
        if (w !== s.text) d += levenshtein(s.text, w);
      });
      return d <= options.max;
    },
  };
}

/** Indices of `state` every constraint allows to be modified. */
export function modifiableIndices(state: TextState, constraints: readonly Constraint[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < state.numWords; i++) if (constraints.every((c) => !c.allowIndex || c.allowIndex(state, i))) out.push(i);
  return out;
}

/** Whether every constraint accepts replacing word `index` by `word`. */
export function acceptCandidate(state: TextState, index: number, word: string, constraints: readonly Constraint[]): boolean {
  return constraints.every((c) => !c.allowCandidate || c.allowCandidate(state, index, word));
}

/** Constraints as registered components (factories). */
export const constraintComponents = [
  defineTextComponent({
    kind: 'constraint',
    name: 'parry/max-modification-rate',
    summary: 'modify at most this fraction of the words (at least one word)',
    options: z.object({ rate: z.number().gt(0).max(1).default(0.1) }),
    create: (_ctx, o) => maxModificationRate(o),
  }),
  defineTextComponent({
    kind: 'constraint',
    name: 'parry/max-words-perturbed',
    summary: 'modify at most this many words',
    options: z.object({ max: z.number().int().positive().default(2) }),
    create: (_ctx, o) => maxWordsPerturbed(o),
  }),
  defineTextComponent({
    kind: 'constraint',
    name: 'parry/stopwords',
    summary: 'never modify stopwords (default: the EDA/NLTK-style English list)',
    options: z.object({ words: z.array(z.string()).optional() }),
    create: (ctx, o) => stopwords({ words: o.words ?? ctx.resources.stopwords() }),
  }),
  defineTextComponent({
    kind: 'constraint',
    name: 'parry/min-word-length',
    summary: 'never modify words shorter than this',
    options: z.object({ min: z.number().int().positive().default(3) }),
    create: (_ctx, o) => minWordLength(o),
  }),
  defineTextComponent({
    kind: 'constraint',
    name: 'parry/no-repeat',
    summary: 'modify each word at most once',
    options: z.object({}),
    create: () => noRepeat(),
  }),
  defineTextComponent({
    kind: 'constraint',
    name: 'parry/embedding-cosine',
    summary: 'replacement must have cosine >= minCosine to the original word in the word vectors',
    needs: ['word-vectors'],
    options: z.object({ minCosine: z.number().min(-1).max(1).default(0.5) }),
    create: async (ctx, o) => embeddingCosine({ vectors: await ctx.resources.wordVectors(), minCosine: o.minCosine }),
  }),
  defineTextComponent({
    kind: 'constraint',
    name: 'parry/max-edit-distance',
    summary: 'summed character edit distance of the changed words at most max',
    options: z.object({ max: z.number().int().nonnegative().default(30) }),
    create: (_ctx, o) => maxEditDistance(o),
  }),
];
