/**
 * Texts as words with character offsets. A `TextState` keeps the original text's separators (spaces, punctuation)
 * and swaps words in place, so a perturbed text differs from the original only inside the changed words.
 */

/** A word of the original text: `text.slice(start, end)`. */
export interface WordSpan {
  text: string;
  start: number;
  end: number;
}

/** One changed word, with offsets in the original text. */
export interface ChangedSpan {
  /** Word index. */
  index: number;
  start: number;
  end: number;
  before: string;
  after: string;
}

/** Letters/digits, with inner apostrophes or hyphens (`don't`, `well-made`). */
const WORD_RE = /[\p{L}\p{N}]+(?:['\u2019-][\p{L}\p{N}]+)*/gu;

/** Split `text` into words with their offsets; everything between words (spaces, punctuation) is a separator. */
export function splitWords(text: string): WordSpan[] {
  const out: WordSpan[] = [];
  for (const m of text.matchAll(WORD_RE)) out.push({ text: m[0], start: m.index, end: m.index + m[0].length });
  return out;
}

/** An immutable text under attack: the original words and the current replacement of each. */
export class TextState {
  /** Current word per index. */
  readonly words: readonly string[];
  /** Indices whose word differs from the original (or was changed and changed back: still counted as modified). */
  readonly modified: ReadonlySet<number>;
  private rendered?: string;

  constructor(
    readonly original: string,
    readonly spans: readonly WordSpan[] = splitWords(original),
    words?: readonly string[],
    modified?: ReadonlySet<number>,
  ) {
    this.words = words ?? spans.map((s) => s.text);
    this.modified = modified ?? new Set();
  }

  get numWords(): number {
    return this.spans.length;
  }

  /** The text with the current words in place of the original ones. */
  get text(): string {
    if (this.rendered === undefined) this.rendered = this.render((i) => this.words[i]);
    return this.rendered;
  }

  /** A new state with word `index` replaced by `word` (marked modified). */
  replace(index: number, word: string): TextState {
    const words = this.words.slice();
    words[index] = word;
    const modified = new Set(this.modified);
    modified.add(index);
    return new TextState(this.original, this.spans, words, modified);
  }

  /** The text with word `index` replaced by `word` (not a new state; used for importance scores). */
  textWith(index: number, word: string): string {
    return this.render((i) => (i === index ? word : this.words[i]));
  }

  /** The text with word `index` deleted together with the separator before it (or after it, for the first word). */
  textWithout(index: number): string {
    const s = this.spans;
    let out = '';
    let pos = 0;
    for (let i = 0; i < s.length; i++) {
      if (i === index) {
        const cutFrom = i > 0 ? s[i - 1].end : s[i].start;
        const cutTo = i > 0 ? s[i].end : i + 1 < s.length ? s[i + 1].start : s[i].end;
        out += this.original.slice(pos, cutFrom);
        pos = cutTo;
        continue;
      }
      out += this.original.slice(pos, s[i].start) + this.words[i];
      pos = s[i].end;
    }
    return out + this.original.slice(pos);
  }

  /** Words that differ from the original, in order. */
  changes(): ChangedSpan[] {
    const out: ChangedSpan[] = [];
    this.spans.forEach((s, i) => {
      if (this.words[i] !== s.text) out.push({ index: i, start: s.start, end: s.end, before: s.text, after: this.words[i] });
    });
    return out;
  }

  private render(wordAt: (i: number) => string): string {
    let out = '';
    let pos = 0;
    this.spans.forEach((s, i) => {
      out += this.original.slice(pos, s.start) + wordAt(i);
      pos = s.end;
    });
    return out + this.original.slice(pos);
  }
}

/** Levenshtein distance between two strings (insert, delete, substitute; each costs 1). */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** `replacement` with the capitalisation pattern of `original` (ALL CAPS, Capitalised, or as is). */
export function matchCase(replacement: string, original: string): string {
  if (!replacement) return replacement;
  if (original.length > 1 && original === original.toUpperCase() && original !== original.toLowerCase()) return replacement.toUpperCase();
  if (original[0] !== original[0].toLowerCase()) return replacement[0].toUpperCase() + replacement.slice(1);
  return replacement;
}
