/**
 * Constraints: which words may be modified (checked before transformations), and which replacements are acceptable
 * (checked on each candidate).
 */
import { type Constraint, defineTextComponent, levenshtein, STOPWORD_LISTS, type TextState, type WordVectors, z } from '@parry/core';


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

/**
 * Stopwords are never modified. `caseSensitive` (as TextAttack's StopwordModification, which tests `word in
 * stopwords`): a word is a stopword only as written, so `The` is not `the`; otherwise (the default) words and list are
 * compared in lower case.
 */
export function stopwords(options: { words: ReadonlySet<string> | readonly string[]; caseSensitive?: boolean }): Constraint {
  const exact = options.caseSensitive ?? false;
  const set = new Set(exact ? options.words : [...options.words].map((w) => w.toLowerCase()));
  const key = exact ? (w: string) => w : (w: string) => w.toLowerCase();
  return { name: 'stopwords', allowIndex: (state, index) => !set.has(key(state.spans[index].text)) };
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
 * The replacement's cosine similarity to the original word must be >= `minCosine` in the word vectors given. When
 * either word has no vector the replacement is refused, or accepted with `includeUnknown` (TextAttack's
 * WordEmbeddingDistance default, `include_unknown_words=True`). Without vectors the constraint is inactive and says so
 * in `note`.
 */
export function embeddingCosine(options: { vectors?: WordVectors; minCosine: number; includeUnknown?: boolean }): Constraint {
  const v = options.vectors;
  if (!v) return { name: 'embedding-cosine', note: `embedding-cosine >= ${options.minCosine} skipped: no word vectors given` };
  const unknown = options.includeUnknown ?? false;
  return {
    name: 'embedding-cosine',
    allowCandidate(state, index, word) {
      const c = v.cosine(state.spans[index].text, word);
      return c === undefined ? unknown : c >= options.minCosine;
    },
  };
}

/** Levenshtein distance, after dropping the common prefix and suffix (which leaves the distance unchanged). */
function trimmedLevenshtein(a: string, b: string): number {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let ea = a.length;
  let eb = b.length;
  while (ea > start && eb > start && a[ea - 1] === b[eb - 1]) (ea--, eb--);
  return levenshtein(a.slice(start, ea), b.slice(start, eb));
}

/**
 * Character edit budget. `scope: 'text'` (TextAttack's LevenshteinEditDistance): the Levenshtein distance of the whole
 * perturbed text to the original text must be <= `max`. `scope: 'words'` (the default): the summed distance of the
 * changed words to the original words, an upper bound of the whole-text distance.
 */
export function maxEditDistance(options: { max: number; scope?: 'text' | 'words' }): Constraint {
  if ((options.scope ?? 'words') === 'text') {
    return {
      name: 'max-edit-distance(text)',
      allowCandidate: (state, index, word) => trimmedLevenshtein(state.original, state.textWith(index, word)) <= options.max,
    };
  }
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
    summary: 'never modify stopwords (the words given, else a named list: nltk, textfooler or eda, the default)',
    options: z.object({
      words: z.array(z.string()).optional(),
      list: z.enum(STOPWORD_LISTS).optional().describe('stopword list of the resources when no words are given (default eda)'),
      caseSensitive: z.boolean().default(false).describe('match words as written, as TextAttack (default: in lower case)'),
    }),
    create: (ctx, o) => stopwords({ words: o.words ?? ctx.resources.stopwords(o.list), caseSensitive: o.caseSensitive }),
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
    options: z.object({
      minCosine: z.number().min(-1).max(1).default(0.5),
      includeUnknown: z.boolean().default(false).describe('accept a replacement when either word has no vector (TextAttack: true)'),
    }),
    create: async (ctx, o) => embeddingCosine({ vectors: await ctx.resources.wordVectors(), ...o }),
  }),
  defineTextComponent({
    kind: 'constraint',
    name: 'parry/max-edit-distance',
    summary: 'character edit distance at most max: summed over the changed words, or of the whole text (scope text, TextAttack)',
    options: z.object({ max: z.number().int().nonnegative().default(30), scope: z.enum(['text', 'words']).default('words') }),
    create: (_ctx, o) => maxEditDistance(o),
  }),
];
