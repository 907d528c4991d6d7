/**
 * Constraints: which words may be modified (checked before transformations), and which replacements are acceptable
 * (checked on each candidate).
 */
import {
  type Constraint,
  defineTextComponent,
  levenshtein,
  type PosTagger,
  type SentenceEncoder,
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

/** Options of {@link sentenceSimilarity}. */
export interface SentenceSimilarityOptions {
  /** The sentence encoder to compare windows with (the `sentence-encoder` resource); preferred over `vectors`. */
  encoder?: SentenceEncoder;
  /** Word vectors for the fallback encoder (mean of unit word vectors) when no `encoder` is given. */
  vectors?: WordVectors;
  /** Least similarity (default {@link TEXTFOOLER_MIN_SIMILARITY}). */
  minSimilarity?: number;
  /** Words in the window around the changed word (default 15); `Infinity` compares whole texts (TextAttack's `window_size=None`). */
  window?: number;
  /** `angular` (default): 1 - arccos(cos)/π, as TextAttack's TextFooler; or `cosine`. */
  metric?: 'angular' | 'cosine';
  /** Texts shorter than the window pass (default true, as TextAttack's TextFooler). */
  skipShortTexts?: boolean;
  /** Compare with the original text's window instead of the current text's (default false, as TextFooler; BAE and BERT-Attack: true). */
  compareAgainstOriginal?: boolean;
  /** Window embeddings kept between calls (default 16384); the current window recurs across candidates and steps. */
  cacheSize?: number;
}

/** TextAttack's AttackedText.text_window_around_index: `[start, end]` (inclusive) of the `size` words around `index`. */
function windowAround(index: number, n: number, size: number): [number, number] {
  if (!Number.isFinite(size) || size >= n) return [0, n - 1];
  const half = (size - 1) / 2;
  if (index - half < 0) return [0, Math.min(size - 1, n - 1)];
  if (index + half >= n) return [Math.max(0, n - size), n - 1];
  return [index - Math.ceil(half), index + Math.floor(half)];
}

const similarity = (c: number, metric: 'angular' | 'cosine'): number => {
  const x = Math.max(-1, Math.min(1, c));
  return metric === 'angular' ? 1 - Math.acos(x) / Math.PI : x;
};

/**
 * Sentence similarity over a window of words, as TextAttack's SentenceEncoder constraint with TextFooler's settings
 * (window of 15 words centred on the changed word — `text_window_around_index` — compared with the current text,
 * `skip_text_shorter_than_window`): the similarity (`angular`: 1 - arccos(cos)/π, as TextAttack's TextFooler; or
 * `cosine`) of the window's embedding before and after the replacement must be >= `minSimilarity`.
 *
 * With an `encoder` (the `sentence-encoder` resource: a Parry encoder folder or an ONNX sentence-embedding model, any
 * the user names) each window — its words joined by spaces, as TextAttack — is embedded by it; the check is
 * asynchronous (`allowCandidates`), so a search embeds every candidate window of one step in one `embed` call, and
 * window embeddings are cached. TextAttack's thresholds were calibrated for the Universal Sentence Encoder; with
 * another encoder the same number is a different bar (see the TextFooler recipe).
 *
 * Without an encoder it falls back to mean word vectors (synchronous `allowCandidate`), NOT a sentence encoder: a
 * window's embedding is the mean of its lower-cased words' unit vectors (words without a vector are left out; a window
 * with no known word passes), and `note` says so. With neither the constraint is inactive and says so.
 */
export function sentenceSimilarity(options: SentenceSimilarityOptions): Constraint {
  const min = options.minSimilarity ?? TEXTFOOLER_MIN_SIMILARITY;
  const size = options.window ?? 15;
  const metric = options.metric ?? 'angular';
  const skip = options.skipShortTexts ?? true;
  const againstOriginal = options.compareAgainstOriginal ?? false;
  if (!(size >= 1)) throw new UsageError(`sentence-similarity window must be a positive number of words (or Infinity), got ${size}`);
  /** The reference window and the window with the replacement, as word lists; undefined when the text is skipped. */
  const windows = (state: TextState, index: number, word: string): [string[], string[]] | undefined => {
    const n = state.numWords;
    if (skip && Number.isFinite(size) && n < size) return undefined;
    const [start, end] = windowAround(index, n, size);
    const ref = againstOriginal ? state.spans.map((s) => s.text) : state.words;
    const a = ref.slice(start, end + 1);
    const b = state.words.slice(start, end + 1);
    b[index - start] = word;
    return [a, b];
  };
  const enc = options.encoder;
  if (enc) {
    const cache = new Map<string, Float32Array>();
    const cap = options.cacheSize ?? 16384;
    return {
      name: 'sentence-similarity',
      async allowCandidates(items) {
        const pairs = items.map((it) => {
          const w = windows(it.state, it.index, it.word);
          return w && ([w[0].join(' '), w[1].join(' ')] as const);
        });
        const missing = [...new Set(pairs.flatMap((p) => (p ? [p[0], p[1]] : [])))].filter((t) => !cache.has(t));
        const fresh = new Map<string, Float32Array>();
        if (missing.length > 0) {
          const got = await enc.embed(missing);
          if (got.length !== missing.length) throw new Error(`sentence encoder ${enc.name} returned ${got.length} embeddings for ${missing.length} texts`);
          if (cache.size + missing.length > cap) cache.clear();
          missing.forEach((t, k) => {
            fresh.set(t, got[k]);
            cache.set(t, got[k]);
          });
        }
        const vec = (t: string) => fresh.get(t) ?? cache.get(t)!;
        return pairs.map((p) => {
          if (!p) return true;
          if (p[0] === p[1]) return true;
          const x = vec(p[0]);
          const y = vec(p[1]);
          let dot = 0;
          let xx = 0;
          let yy = 0;
          for (let d = 0; d < x.length; d++) {
            dot += x[d] * y[d];
            xx += x[d] * x[d];
            yy += y[d] * y[d];
          }
          if (!(xx > 0) || !(yy > 0)) return true;
          return similarity(dot / Math.sqrt(xx * yy), metric) >= min - 1e-9;
        });
      },
    };
  }
  const v = options.vectors;
  if (!v) return { name: 'sentence-similarity', note: `sentence-similarity >= ${min} skipped: no sentence encoder and no word vectors given` };
  // Unit vectors only through cosines: the dot product of two sums of unit vectors is the sum of pairwise cosines.
  const pairs = boundedCache<number>(1 << 18);
  const cos = (a: string, b: string): number => (a === b ? 1 : pairs.get(a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`, () => v.cosine(a, b) ?? 0));
  const dot = (xs: readonly string[], ys: readonly string[]): number => {
    let s = 0;
    for (const x of xs) for (const y of ys) s += cos(x, y);
    return s;
  };
  const known = (w: string) => v.has(w);
  return {
    name: 'sentence-similarity',
    note: `sentence similarity: mean of word vectors (${v.source}) over ${Number.isFinite(size) ? `${size}-word windows` : 'whole texts'}, ${metric} >= ${min}; not a sentence encoder (none given: --sentence-encoder <folder>)`,
    allowCandidate(state, index, word) {
      const w = windows(state, index, word);
      if (!w) return true;
      const xs = w[0].map((x) => x.toLowerCase()).filter(known);
      const ys = w[1].map((x) => x.toLowerCase()).filter(known);
      const aa = dot(xs, xs);
      const bb = dot(ys, ys);
      if (!(aa > 0) || !(bb > 0)) return true;
      return similarity(dot(xs, ys) / Math.sqrt(aa * bb), metric) >= min - 1e-9;
    },
  };
}

/**
 * The sentence encoder the resources give, or undefined when they have none (the user named none); an encoder that
 * fails to load is an error, not a silent fallback.
 */
export async function optionalSentenceEncoder(resources: TextResources): Promise<SentenceEncoder | undefined> {
  return resources.sentenceEncoder ? resources.sentenceEncoder() : undefined;
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
    summary: 'window of words around the change stays similar: the sentence encoder given (else mean word vectors, not USE), TextFooler window and threshold',
    needs: ['sentence-encoder', 'word-vectors'],
    options: z.object({
      minSimilarity: z.number().min(-1).max(1).default(TEXTFOOLER_MIN_SIMILARITY).describe('least similarity of the two windows (TextFooler: 0.840845057, angular; calibrated for USE)'),
      window: z.union([z.number().int().positive(), z.literal('all')]).default(15).describe("words in the window around the changed word ('all': whole texts)"),
      metric: z.enum(['angular', 'cosine']).default('angular').describe('angular = 1 - arccos(cosine)/pi (as TextAttack)'),
      skipShortTexts: z.boolean().default(true).describe('texts shorter than the window pass (as TextAttack\'s TextFooler)'),
      compareAgainstOriginal: z.boolean().default(false).describe('compare with the original text instead of the current one (BAE, BERT-Attack: true)'),
    }),
    create: async (ctx, o) => {
      const encoder = await optionalSentenceEncoder(ctx.resources);
      const window = o.window === 'all' ? Number.POSITIVE_INFINITY : o.window;
      return sentenceSimilarity({ ...o, window, ...(encoder ? { encoder } : { vectors: await ctx.resources.wordVectors() }) });
    },
  }),
  defineTextComponent({
    kind: 'constraint',
    name: 'parry/max-edit-distance',
    summary: 'character edit distance at most max: summed over the changed words, or of the whole text (scope text, TextAttack)',
    options: z.object({ max: z.number().int().nonnegative().default(30), scope: z.enum(['text', 'words']).default('words') }),
    create: (_ctx, o) => maxEditDistance(o),
  }),
];
