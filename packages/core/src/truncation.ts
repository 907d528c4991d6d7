/**
 * Truncation of over-long texts, shared by the tokenizer (which tokens are kept), the victims (which words reach the
 * model) and the pipelines (how many texts and words were cut). Strategies of Sun et al. 2019, "How to Fine-Tune BERT
 * for Text Classification?" (https://arxiv.org/abs/1905.05583), section 5.3.1:
 *
 * - `head`: keep the first tokens (Parry's default, and Hugging Face's `truncation_side: 'right'`);
 * - `tail`: keep the last tokens (Hugging Face's `truncation_side: 'left'`);
 * - `head+tail`: keep a quarter of the token budget from the start and three quarters from the end (the paper keeps
 *   the first 128 and the last 382 of 510 tokens; Parry keeps `ceil(budget / 4)` head tokens, 128 of 510).
 *
 * The special tokens (`[CLS]`, `[SEP]`) are always kept; the budget is what is left for the text's own tokens.
 */
import { UsageError } from './errors.js';
import type { WordSpan } from './text-attack/words.js';

/** Which tokens of an over-long text are kept. */
export type TruncationStrategy = 'head' | 'tail' | 'head+tail';

/** The strategies, default first. */
export const TRUNCATION_STRATEGIES: readonly TruncationStrategy[] = ['head', 'tail', 'head+tail'];

/** `strategy` checked: one of {@link TRUNCATION_STRATEGIES}, or a UsageError naming `flag` (default `truncation`). */
export function parseTruncation(strategy: unknown, flag = 'truncation'): TruncationStrategy {
  if (typeof strategy === 'string' && (TRUNCATION_STRATEGIES as readonly string[]).includes(strategy)) return strategy as TruncationStrategy;
  throw new UsageError(`${flag} must be one of ${TRUNCATION_STRATEGIES.join(', ')}, got ${JSON.stringify(strategy)}`);
}

/** A count of leading and trailing items (tokens or words) kept; everything between them is cut. */
export interface HeadTail {
  head: number;
  tail: number;
}

/**
 * Tokens kept from the start (`head`) and the end (`tail`) of a text of `n` tokens when at most `budget` may stay.
 * A text that fits is kept whole (`{ head: n, tail: 0 }`).
 */
export function truncationKeep(n: number, budget: number, strategy: TruncationStrategy = 'head'): HeadTail {
  if (!(Number.isInteger(n) && n >= 0)) throw new UsageError(`truncationKeep: n must be an integer >= 0, got ${n}`);
  if (!(Number.isInteger(budget) && budget >= 0)) throw new UsageError(`truncationKeep: budget must be an integer >= 0, got ${budget}`);
  if (n <= budget) return { head: n, tail: 0 };
  if (strategy === 'head') return { head: budget, tail: 0 };
  if (strategy === 'tail') return { head: 0, tail: budget };
  if (strategy === 'head+tail') {
    const head = Math.ceil(budget / 4);
    return { head, tail: budget - head };
  }
  throw new UsageError(`truncation must be one of ${TRUNCATION_STRATEGIES.join(', ')}, got ${JSON.stringify(strategy)}`);
}

/**
 * Token budgets of the two texts of a pair of `a` and `b` tokens when `budget` tokens may stay in all, longest-first as
 * Hugging Face's fast tokenizers: the shorter text keeps all its tokens while they fit in half the budget and the
 * longer one gets the rest; otherwise both get half (the longer one the larger half). Each text is then cut to its
 * share with the truncation strategy.
 */
export function pairBudgets(a: number, b: number, budget: number): [number, number] {
  if (a + b <= budget) return [a, b];
  const [short, long] = a <= b ? [a, b] : [b, a];
  let nShort = short;
  let nLong = Math.min(long, Math.max(short, budget - short));
  if (nShort + nLong > budget) {
    nShort = Math.floor(budget / 2);
    nLong = nShort + (budget % 2);
  }
  return a <= b ? [nShort, nLong] : [nLong, nShort];
}

/** `items` cut to the kept head and tail (a new array). */
export function truncateItems<T>(items: readonly T[], budget: number, strategy: TruncationStrategy = 'head'): T[] {
  const { head, tail } = truncationKeep(items.length, budget, strategy);
  return [...items.slice(0, head), ...items.slice(items.length - tail)];
}

/**
 * Where each word's tokens lie in the un-truncated token sequence of `text`: `[start, end)` per word, and `total`, the
 * text's token count. `count(s)` is the number of tokens of `s` without special tokens. Tokenises each word and each gap
 * between words on its own (exact for WordPiece, whose pre-tokenizer splits at these boundaries); when those counts do
 * not add up to the whole text's (byte-level BPE, whose tokens carry the space before them), each word with the gap
 * before it; failing that, prefixes of each whitespace-delimited piece (a character the tokenizer drops or joins, e.g. a
 * C1 control inside a word, then costs its piece only); failing that, every prefix of the text (exact by construction,
 * quadratic in the length).
 */
export function wordTokenRanges(text: string, spans: readonly WordSpan[], count: (s: string) => number): { ranges: Array<[number, number]>; total: number } {
  const total = count(text);
  // separate: gap tokens belong to no word
  const separate = (): Array<[number, number]> | undefined => {
    const ranges: Array<[number, number]> = [];
    let at = 0;
    let prev = 0;
    for (const s of spans) {
      if (s.start > prev) at += count(text.slice(prev, s.start));
      const n = count(text.slice(s.start, s.end));
      ranges.push([at, at + n]);
      at += n;
      prev = s.end;
    }
    if (prev < text.length) at += count(text.slice(prev));
    return at === total ? ranges : undefined;
  };
  // merged: each word with the gap before it (BPE's leading-space tokens)
  const merged = (): Array<[number, number]> | undefined => {
    const ranges: Array<[number, number]> = [];
    let at = 0;
    let prev = 0;
    for (const s of spans) {
      const n = count(text.slice(prev, s.end));
      ranges.push([at, at + n]);
      at += n;
      prev = s.end;
    }
    if (prev < text.length) at += count(text.slice(prev));
    return at === total ? ranges : undefined;
  };
  // pieces: the text cut before each run of whitespace (no tokenizer here joins characters across it); prefixes within
  // a piece only, so one odd character (a C1 control inside a word, a symbol the tokenizer drops) costs that piece, not
  // the whole text
  const pieces = (): Array<[number, number]> | undefined => {
    const cuts: number[] = [0];
    for (let i = 1; i < text.length; i++) if (/\s/.test(text[i]) && !/\s/.test(text[i - 1])) cuts.push(i);
    cuts.push(text.length);
    const ranges: Array<[number, number]> = [];
    let at = 0;
    let w = 0;
    for (let p = 0; p + 1 < cuts.length; p++) {
      const [a, b] = [cuts[p], cuts[p + 1]];
      for (; w < spans.length && spans[w].end <= b; w++) {
        const before = at + count(text.slice(a, Math.max(a, spans[w].start)));
        ranges.push([before, Math.max(before, at + count(text.slice(a, spans[w].end)))]);
      }
      at += count(text.slice(a, b));
    }
    return at === total && w === spans.length ? ranges : undefined;
  };
  const prefixes = (): Array<[number, number]> =>
    spans.map((s) => {
      const before = count(text.slice(0, s.start));
      return [before, Math.max(before, count(text.slice(0, s.end)))];
    });
  return { ranges: separate() ?? merged() ?? pieces() ?? prefixes(), total };
}

/**
 * Words that reach the model when a text of `total` tokens, its words at token `ranges`, is cut to `budget` tokens:
 * the leading `head` words and the trailing `tail` words (a word counts when any of its tokens is kept). A text that
 * fits is all visible: `{ head: words, tail: 0 }`.
 */
export function visibleWordsFromRanges(ranges: ReadonlyArray<readonly [number, number]>, total: number, budget: number, strategy: TruncationStrategy = 'head'): HeadTail {
  const words = ranges.length;
  if (total <= budget) return { head: words, tail: 0 };
  const keep = truncationKeep(total, budget, strategy);
  const tailFrom = total - keep.tail;
  let head = 0;
  while (head < words && ranges[head][0] < keep.head) head++;
  let tail = 0;
  if (keep.tail > 0) while (tail < words - head && ranges[words - 1 - tail][1] > tailFrom) tail++;
  return head + tail >= words ? { head: words, tail: 0 } : { head, tail };
}

/**
 * A victim's `visibleWords` answer (a leading-word count, as before truncation strategies, or a head/tail pair) as a
 * head/tail pair within `numWords` words.
 */
export function normalizeVisibleWords(v: number | HeadTail, numWords: number): HeadTail {
  const clamp = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? Math.max(0, Math.min(numWords, Math.floor(x))) : numWords);
  if (typeof v === 'number') return { head: clamp(v), tail: 0 };
  const head = clamp(v?.head);
  const tail = Math.min(numWords - head, typeof v?.tail === 'number' ? clamp(v.tail) : 0);
  return head + tail >= numWords ? { head: numWords, tail: 0 } : { head, tail };
}
