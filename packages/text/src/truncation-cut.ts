/**
 * Truncation without tokenizing the whole text. A long text (an e-mail) cut to a model's budget keeps its first
 * and/or last tokens only, so only a prefix and/or a suffix of it needs tokenizing: the prefix ends just before a space
 * that follows a non-space character, the suffix starts at a space that precedes one. For the tokenizers
 * {@link spaceCutSafe} accepts, no token crosses such a space, so the prefix's tokens are the first tokens of the whole
 * text and the suffix's tokens its last ones — exactly, not approximately:
 *
 * - WordPiece behind a whitespace-splitting pre-tokenizer (`BertPreTokenizer`, `Whitespace`, `WhitespaceSplit`, alone
 *   or in a `Sequence` with `Punctuation` / `Digits`): every pre-token lies between spaces;
 * - byte-level BPE (`ByteLevel` with the GPT-2 regex): a space starts the piece of the word after it (` ?\p{L}+`, ...)
 *   and a piece never ends inside a run of spaces before a non-space character, so a text cut before the space ends
 *   its last piece where the whole text does, and one starting at the space starts its first piece where the whole
 *   text does (`add_prefix_space` adds nothing to a text that starts with a space);
 * - the normalizers allowed (`BertNormalizer`, `Lowercase`, `NFC` / `NFD` / `NFKC` / `NFKD`, `StripAccents`, in a
 *   `Sequence`) act per character or per combining sequence, and a space is neither part of one nor, for lower-casing,
 *   a cased or case-ignorable character (Greek final sigma sees the same context on both sides of the cut);
 * - added tokens (`[MASK]`, `<mask>`) hold no whitespace and strip none on their right (`rstrip`); `lstrip` only trims
 *   the space before them, on the cut-away side or inside the kept part alike.
 *
 * Anything else (SentencePiece `Metaspace`, `Split` regexes, `Strip` / `Replace` / `Precompiled` normalizers,
 * `remove_space`) tokenizes the whole text, as before, and so does a text under 1.5 times the budget at 6 characters per
 * token. The cut is searched from about 6 characters per token (per side) and
 * doubled until the prefix (suffix) holds more tokens than it must keep; a text with no space past that point, or
 * whose prefix and suffix would overlap, is tokenized whole. The result is then identical to tokenizing everything and
 * truncating (`truncateItems`), which the tests check on random texts for WordPiece and byte-level BPE.
 */
import {
  type HeadTail,
  splitWords,
  type TextTokenizer,
  type TruncationStrategy,
  truncationKeep,
  visibleWordsFromRanges,
  type WordSpan,
  wordTokenRanges,
} from '@parry/core';

type Json = Record<string, unknown>;

const SAFE_NORMALIZERS = new Set(['BertNormalizer', 'Lowercase', 'NFC', 'NFD', 'NFKC', 'NFKD', 'StripAccents']);
const SPLITTING_PRE_TOKENIZERS = new Set(['BertPreTokenizer', 'Whitespace', 'WhitespaceSplit']);
const LOCAL_PRE_TOKENIZERS = new Set(['Punctuation', 'Digits']);

function normalizerSafe(n: unknown): boolean {
  if (n === null || n === undefined) return true;
  const t = (n as Json).type;
  if (t === 'Sequence') return Array.isArray((n as Json).normalizers) && ((n as Json).normalizers as unknown[]).every(normalizerSafe);
  return typeof t === 'string' && SAFE_NORMALIZERS.has(t);
}

function preTokenizerSafe(p: unknown): boolean {
  if (p === null || p === undefined || typeof p !== 'object') return false;
  const t = (p as Json).type;
  if (t === 'ByteLevel') return (p as Json).use_regex !== false;
  if (typeof t === 'string' && SPLITTING_PRE_TOKENIZERS.has(t)) return true;
  if (t !== 'Sequence' || !Array.isArray((p as Json).pretokenizers)) return false;
  const parts = (p as Json).pretokenizers as Json[];
  // every final pre-token lies between spaces: one part splits at whitespace, the others only split further
  return (
    parts.some((q) => SPLITTING_PRE_TOKENIZERS.has(q?.type as string)) &&
    parts.every((q) => SPLITTING_PRE_TOKENIZERS.has(q?.type as string) || LOCAL_PRE_TOKENIZERS.has(q?.type as string))
  );
}

/**
 * Whether a tokenizer (its `tokenizer.json` and `tokenizer_config.json`) may be cut at spaces before tokenizing (see
 * the file header for what is accepted and why).
 */
export function spaceCutSafe(json: Json, config: Json): boolean {
  if (config.remove_space === true || config.do_lowercase_and_remove_accent === true) return false;
  const added = Array.isArray(json.added_tokens) ? (json.added_tokens as Json[]) : [];
  if (added.some((t) => typeof t.content !== 'string' || /\s/.test(t.content) || t.rstrip === true || t.single_word === true)) return false;
  return normalizerSafe(json.normalizer) && preTokenizerSafe(json.pre_tokenizer);
}

/** The tokens `strategy` keeps of an over-long text, from a prefix and a suffix of it. */
export interface TextCut {
  /** `text.slice(0, prefixEnd)` was tokenized: `prefix`, the first tokens of the text (more than the head kept). */
  prefixEnd: number;
  prefix: number[];
  /** `text.slice(suffixStart)` was tokenized: `suffix`, the last tokens of the text (at least the tail kept). */
  suffixStart: number;
  suffix: number[];
  /** Tokens kept from each end (`truncationKeep` of an over-long text). */
  keep: HeadTail;
}

const isSpace = (c: string | undefined) => c !== undefined && /\s/.test(c);

/** The first index >= `from` holding a space (U+0020) right after a non-space character, or -1. */
function prefixCut(text: string, from: number): number {
  for (let i = Math.max(1, from); i < text.length; i++) if (text[i] === ' ' && !isSpace(text[i - 1])) return i;
  return -1;
}

/** The last index <= `to` holding a space (U+0020) right before a non-space character, or -1. */
function suffixCut(text: string, to: number): number {
  for (let j = Math.min(to, text.length - 2); j >= 0; j--) if (text[j] === ' ' && !isSpace(text[j + 1])) return j;
  return -1;
}

/** Characters per token the search starts from (English WordPiece averages about 4.5 with spaces). */
const CHARS_PER_TOKEN = 6;

/**
 * The prefix and suffix of `text` whose tokens (`pieces`, without special tokens) decide what `strategy` keeps of
 * `budget` tokens, when the text certainly has more than `budget` tokens; `undefined` when it may fit, or no cut was
 * found (tokenize the whole text then). Call it only for tokenizers {@link spaceCutSafe} accepts.
 */
export function cutOverlong(text: string, budget: number, strategy: TruncationStrategy, pieces: (s: string) => number[]): TextCut | undefined {
  const keep = truncationKeep(budget + 1, budget, strategy);
  if (keep.head + keep.tail === 0) return undefined; // nothing kept: whether the text has any token is the whole question
  // each side's search starts from about 6 characters per token it must hold; a text shorter than 1.5 times the whole
  // budget's worth is tokenized whole at once (cutting would save little and might have to be redone)
  const startFor = (tokens: number) => CHARS_PER_TOKEN * (tokens + 1) + 16;
  if (text.length <= 1.5 * startFor(budget)) return undefined;
  let prefixEnd = 0;
  let prefix: number[] = [];
  if (keep.head > 0) {
    // one token more than the head, so the text is known to be over the budget even without the suffix
    for (let chars = startFor(keep.head); ; chars *= 2) {
      const end = prefixCut(text, chars);
      if (end < 0) return undefined;
      prefix = pieces(text.slice(0, end));
      if (prefix.length > keep.head) {
        prefixEnd = end;
        break;
      }
    }
  }
  let suffixStart = text.length;
  let suffix: number[] = [];
  if (keep.tail > 0) {
    const need = keep.head > 0 ? keep.tail : keep.tail + 1;
    for (let chars = startFor(keep.tail); ; chars *= 2) {
      const at = suffixCut(text, text.length - chars);
      if (at < 0 || at < prefixEnd) return undefined;
      suffix = pieces(text.slice(at));
      if (suffix.length >= need) {
        suffixStart = at;
        break;
      }
    }
  }
  return { prefixEnd, prefix, suffixStart, suffix, keep };
}

/** The kept tokens of a cut: the head from the prefix, the tail from the suffix. */
export function keptTokens(cut: TextCut): number[] {
  return [...cut.prefix.slice(0, cut.keep.head), ...cut.suffix.slice(cut.suffix.length - cut.keep.tail)];
}

/** What a tokenizer offers for cutting (Parry's tokenizers from `@parry/text` have it; others are tokenized whole). */
interface Cuttable {
  cut?(text: string, budget: number, strategy: TruncationStrategy): TextCut | undefined;
  readonly spaceCuts?: boolean;
}

/**
 * Token ranges of `spans` (words of `text`, offsets in `text`) from the pieces of `text` between the cut points of
 * this module (a space after a non-space character, or before one): a word's range is counted from the start of its
 * piece, so it is the same whether `text` is a whole text or a prefix / suffix of one cut at such a point. `undefined`
 * when the pieces' tokens do not add up to `total` (then the caller uses `wordTokenRanges`).
 */
function pieceRanges(text: string, spans: readonly WordSpan[], total: number, count: (s: string) => number): Array<[number, number]> | undefined {
  const cuts: number[] = [0];
  for (let i = 1; i < text.length; i++) {
    if (text[i] === ' ' && (!isSpace(text[i - 1]) || (i + 1 < text.length && !isSpace(text[i + 1])))) cuts.push(i);
  }
  cuts.push(text.length);
  const ranges: Array<[number, number]> = [];
  let at = 0;
  let w = 0;
  for (let p = 0; p + 1 < cuts.length; p++) {
    const [a, b] = [cuts[p], cuts[p + 1]];
    if (a === b) continue;
    for (; w < spans.length && spans[w].end <= b; w++) {
      // a word's first token may hold the spaces before it (byte-level BPE's "Ġword"): they do not push its start
      const lead = text.slice(a, spans[w].start).replace(/\s+$/, '');
      const before = at + (lead === '' ? 0 : count(lead));
      ranges.push([before, Math.max(before, at + count(text.slice(a, spans[w].end)))]);
    }
    at += count(text.slice(a, b));
  }
  return at === total && w === spans.length ? ranges : undefined;
}

/**
 * The words of `text` (as `splitWords` splits them) that reach a model reading `budget` of its tokens (special tokens
 * excluded) with `strategy`: `visible` leading and trailing word counts (a word counts when any of its tokens is kept),
 * whether the text was `truncated`, and its word count. A long text is tokenized only in the prefix and suffix that
 * decide it (see {@link cutOverlong}); word ranges are then counted piece by piece (text between spaces), the same on
 * the whole text, so the answer does not depend on where the cut fell. Tokenizers that cannot be cut keep
 * `wordTokenRanges` over the whole text. `count` counts the tokens of a string (default: `tokenizer.tokenize`).
 */
export function visibleWordsOf(
  tokenizer: TextTokenizer,
  text: string,
  budget: number,
  strategy: TruncationStrategy = 'head',
  count: (s: string) => number = (s) => tokenizer.tokenize(s).length,
): { truncated: boolean; words: number; visible: HeadTail } {
  const spans = splitWords(text);
  const words = spans.length;
  const t = tokenizer as Cuttable;
  const rangesOf = (s: string, sp: readonly WordSpan[], total: number) =>
    (t.spaceCuts ? pieceRanges(s, sp, total, count) : undefined) ?? wordTokenRanges(s, sp, count).ranges;
  const cut = t.cut?.(text, budget, strategy);
  if (!cut) {
    const n = count(text);
    if (n <= budget) return { truncated: false, words, visible: { head: words, tail: 0 } };
    return { truncated: true, words, visible: visibleWordsFromRanges(rangesOf(text, spans, n), n, budget, strategy) };
  }
  // words never contain a space, so each lies wholly in the prefix, the suffix or the cut-away middle
  let head = 0;
  if (cut.keep.head > 0) {
    const inPrefix = spans.filter((s) => s.end <= cut.prefixEnd);
    const ranges = rangesOf(text.slice(0, cut.prefixEnd), inPrefix, cut.prefix.length);
    while (head < inPrefix.length && ranges[head][0] < cut.keep.head) head++;
  }
  let tail = 0;
  if (cut.keep.tail > 0) {
    const at = cut.suffixStart;
    const inSuffix = spans.filter((s) => s.start >= at).map((s) => ({ ...s, start: s.start - at, end: s.end - at }));
    const ranges = rangesOf(text.slice(at), inSuffix, cut.suffix.length);
    const from = cut.suffix.length - cut.keep.tail;
    while (tail < inSuffix.length && ranges[inSuffix.length - 1 - tail][1] > from) tail++;
  }
  return { truncated: true, words, visible: head + tail >= words ? { head: words, tail: 0 } : { head, tail } };
}
