/**
 * Constraints: which words may be modified (checked before transformations), and which replacements are acceptable
 * (checked on each candidate).
 */
import {
  type Constraint,
  defineTextComponent,
  levenshtein,
  type PosTagger,
  STOPWORD_LISTS,
  type TextResources,
  type TextState,
  UsageError,
  type WordVectors,
  z,
} from '@parry/core';


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

/** A map that forgets everything once it holds `max` entries (caches of the constraints below). */
function boundedCache<V>(max: number): { get(key: string, make: () => V): V } {
  const map = new Map<string, V>();
  return {
    get(key, make) {
      let v = map.get(key);
      if (v === undefined) {
        if (map.size >= max) map.clear();
        v = make();
        map.set(key, v);
      }
      return v;
    },
  };
}

/**
 * Same part of speech (TextAttack's PartOfSpeech, as TextFooler): replacing word `index` by `word` is accepted when
 * the tagger gives the replacement, read in the original text's context (up to `before` words before it and `after`
 * after it: 4 and 3, as TextAttack), the tag it gives the original word in that context; with `allowVerbNounSwap` (the
 * default, as TextAttack) NOUN and VERB may replace each other. Tags are cached by context, so each window of the
 * original text is tagged once.
 */
export function partOfSpeech(options: { tagger?: PosTagger; allowVerbNounSwap?: boolean; before?: number; after?: number }): Constraint {
  const tagger = options.tagger;
  if (!tagger) return { name: 'part-of-speech', note: 'part-of-speech constraint skipped: no part-of-speech tagger given' };
  const swap = options.allowVerbNounSwap ?? true;
  const before = options.before ?? 4;
  const after = options.after ?? 3;
  const cache = boundedCache<string>(1 << 16);
  const tagOf = (context: string[], at: number): string => cache.get(`${at}\u0000${context.join(' ')}`, () => tagger.tag(context)[at]);
  return {
    name: 'part-of-speech',
    allowCandidate(state, index, word) {
      const start = Math.max(index - before, 0);
      const context = state.spans.slice(start, Math.min(index + after + 1, state.numWords)).map((s) => s.text);
      const at = index - start;
      const original = tagOf(context, at);
      context[at] = word;
      const replaced = tagOf(context, at);
      return original === replaced || (swap && (original === 'NOUN' || original === 'VERB') && (replaced === 'NOUN' || replaced === 'VERB'));
    },
  };
}

/** TextFooler's threshold as TextAttack sets it: angular similarity 1 - 0.5/π (an angle of at most 0.5 radians). */
export const TEXTFOOLER_MIN_SIMILARITY = 0.840845057;

/**
 * Sentence similarity over a window of words, as TextAttack's SentenceEncoder with TextFooler's settings (window of 15
 * words centred on the changed word, compared with the current text, `skip_text_shorter_than_window`), but with a
 * mean-of-word-vectors encoder, NOT the Universal Sentence Encoder: a window's embedding is the mean of its words' unit
 * vectors in the word vectors given (words without a vector are left out). The similarity of the current window and the
 * window with the replacement (`angular`: 1 - arccos(cos)/π, as TextAttack's TextFooler; or `cosine`) must be >=
 * `minSimilarity`. Texts shorter than the window pass (`skipShortTexts`, default true as TextAttack's TextFooler); a
 * window with no known word passes (nothing to compare). Without vectors the constraint is inactive and says so.
 */
export function sentenceSimilarity(options: {
  vectors?: WordVectors;
  minSimilarity?: number;
  window?: number;
  metric?: 'angular' | 'cosine';
  skipShortTexts?: boolean;
}): Constraint {
  const min = options.minSimilarity ?? TEXTFOOLER_MIN_SIMILARITY;
  const size = options.window ?? 15;
  const metric = options.metric ?? 'angular';
  const v = options.vectors;
  if (!v) return { name: 'sentence-similarity', note: `sentence-similarity >= ${min} skipped: no word vectors given` };
  const skip = options.skipShortTexts ?? true;
  // Unit vectors only through cosines: the dot product of two sums of unit vectors is the sum of pairwise cosines.
  const pairs = boundedCache<number>(1 << 18);
  const cos = (a: string, b: string): number => (a === b ? 1 : pairs.get(a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`, () => v.cosine(a, b) ?? 0));
  const dot = (xs: readonly string[], ys: readonly string[]): number => {
    let s = 0;
    for (const x of xs) for (const y of ys) s += cos(x, y);
    return s;
  };
  return {
    name: 'sentence-similarity',
    allowCandidate(state, index, word) {
      const n = state.numWords;
      if (skip && n < size) return true;
      // TextAttack's AttackedText.text_window_around_index
      const half = (size - 1) / 2;
      let start: number;
      let end: number;
      if (index - half < 0) [start, end] = [0, Math.min(size - 1, n - 1)];
      else if (index + half >= n) [start, end] = [Math.max(0, n - size), n - 1];
      else [start, end] = [index - Math.ceil(half), index + Math.floor(half)];
      const known = (w: string) => v.has(w);
      const a = state.words.slice(start, end + 1).map((w) => w.toLowerCase());
      const b = a.slice();
      b[index - start] = word.toLowerCase();
      const xs = a.filter(known);
      const ys = b.filter(known);
      const aa = dot(xs, xs);
      const bb = dot(ys, ys);
      if (!(aa > 0) || !(bb > 0)) return true;
      const c = Math.max(-1, Math.min(1, dot(xs, ys) / Math.sqrt(aa * bb)));
      const sim = metric === 'angular' ? 1 - Math.acos(c) / Math.PI : c;
      return sim >= min - 1e-9;
    },
  };
}

/** The resources' part-of-speech tagger, or a one-line error naming what needs it. */
export async function requirePosTagger(resources: TextResources, what: string): Promise<PosTagger> {
  if (!resources.posTagger) throw new UsageError(`${what} needs a part-of-speech tagger ("pos") and these text resources have none`);
  return resources.posTagger();
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
    name: 'parry/part-of-speech',
    summary: 'replacement must have the original word\'s part of speech in its context (wink-nlp tagger; NOUN<->VERB allowed by default)',
    needs: ['pos'],
    options: z.object({
      allowVerbNounSwap: z.boolean().default(true).describe('NOUN and VERB may replace each other (as TextAttack)'),
      before: z.number().int().nonnegative().default(4).describe('context words before the word that are tagged with it'),
      after: z.number().int().nonnegative().default(3).describe('context words after the word that are tagged with it'),
    }),
    create: async (ctx, o) => partOfSpeech({ tagger: await requirePosTagger(ctx.resources, 'parry/part-of-speech'), ...o }),
  }),
  defineTextComponent({
    kind: 'constraint',
    name: 'parry/sentence-similarity',
    summary: 'window of words around the change stays similar: mean-of-word-vectors encoder (not USE), TextFooler window and threshold',
    needs: ['word-vectors'],
    options: z.object({
      minSimilarity: z.number().min(-1).max(1).default(TEXTFOOLER_MIN_SIMILARITY).describe('least similarity of the two windows (TextFooler: 0.840845057, angular)'),
      window: z.number().int().positive().default(15).describe('words in the window around the changed word'),
      metric: z.enum(['angular', 'cosine']).default('angular').describe('angular = 1 - arccos(cosine)/pi (as TextAttack)'),
      skipShortTexts: z.boolean().default(true).describe('texts shorter than the window pass (as TextAttack\'s TextFooler)'),
    }),
    create: async (ctx, o) => sentenceSimilarity({ vectors: await ctx.resources.wordVectors(), ...o }),
  }),
  defineTextComponent({
    kind: 'constraint',
    name: 'parry/max-edit-distance',
    summary: 'character edit distance at most max: summed over the changed words, or of the whole text (scope text, TextAttack)',
    options: z.object({ max: z.number().int().nonnegative().default(30), scope: z.enum(['text', 'words']).default('words') }),
    create: (_ctx, o) => maxEditDistance(o),
  }),
];
