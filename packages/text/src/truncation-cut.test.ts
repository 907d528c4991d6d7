/**
 * Truncation without tokenizing the whole text (issue 16): on random long texts, WordPiece (bert-base-uncased's
 * vocabulary) and a byte-level BPE give exactly the ids of tokenizing everything and then truncating, for head, tail
 * and head+tail; the visible words match the whole-text computation; the cut is really taken (the test fails if it
 * never is), and tokenizers it is not proven for are tokenized whole.
 */
import { splitWords, type TextTokenizer, type TruncationStrategy, truncateItems, visibleWordsFromRanges, wordTokenRanges } from '@parry/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bertBaseUncasedTokenizer, tokenizerFromFiles } from './tokenizer.js';
import { spaceCutSafe, visibleWordsOf } from './truncation-cut.js';

/** GPT-2's byte -> printable character table (bytes_to_unicode). */
function byteChars(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const out: string[] = new Array(256);
  bs.forEach((b, i) => (out[b] = String.fromCodePoint(cs[i])));
  return out;
}

/** A byte-level BPE over all 256 byte symbols with merges for common English pieces (RoBERTa-style, `<mask>` lstrip). */
function byteLevelBpe(): TextTokenizer {
  const vocab: Record<string, number> = { '<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3 };
  for (const c of byteChars()) vocab[c] ??= Object.keys(vocab).length;
  const merges: Array<[string, string]> = [];
  const add = (a: string, b: string) => {
    merges.push([a, b]);
    vocab[a + b] ??= Object.keys(vocab).length;
  };
  for (const [a, b] of [['Ġ', 't'], ['h', 'e'], ['Ġt', 'he'], ['i', 'n'], ['Ġ', 'a'], ['e', 'r'], ['o', 'n'], ['Ġ', 's'], ['r', 'e'], ['Ġ', 'w'], ['a', 'n'], ['Ġa', 'n'], ['Ġan', 'd'], ['in', 'g'], ['Ġ', 'o'], ['Ġo', 'f'], ['Ġ', 'i'], ['Ġi', 's'], ['e', 's'], ['Ġ', 'c'], ['o', 'u'], ['Ġ', 'm'], ['Ġ', 'Ġ'], ['Ċ', 'Ċ'], ['Ġ', 'Ċ']]) add(a, b);
  vocab['<mask>'] = Object.keys(vocab).length;
  const json = {
    version: '1.0',
    added_tokens: [
      { id: 0, content: '<s>', special: true, normalized: false },
      { id: 1, content: '<pad>', special: true, normalized: false },
      { id: 2, content: '</s>', special: true, normalized: false },
      { id: 3, content: '<unk>', special: true, normalized: false },
      { id: vocab['<mask>'], content: '<mask>', special: true, normalized: false, lstrip: true },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, vocab, merges: merges.map(([a, b]) => `${a} ${b}`) },
  };
  return tokenizerFromFiles({ 'tokenizer.json': JSON.stringify(json) });
}

const TOKENIZERS: Array<[string, TextTokenizer]> = [
  ['WordPiece (bert-base-uncased)', bertBaseUncasedTokenizer()],
  ['byte-level BPE', byteLevelBpe()],
];

/** Words that exercise the normalizers and pre-tokenizers: case, accents, CJK, Greek sigma, punctuation, digits, emoji, controls, added tokens. */
const WORDS = [
  'the', 'The', 'movie', 'wasn\'t', 'it\'s', 'ΟΔΟΣ', 'Σίσυφος', 'naïve', 'café', 'İstanbul', '日本語', '中', 'emoji😀', '👍🏽', 'don\'t', 'U.S.A.', '3.14', '2024',
  'hello,', '(quoted)', '--', '...', 'e-mail', 'x\u0301', '\u0007bell', 'zero\u200bwidth', 'straße', 'ﬁne', 'Ǆ', 'antidisestablishmentarianism', '[MASK]', '<mask>',
  'Hello', 'WORLD', 'a', 'i', 'of', 'and', 'ing', 'tion',
];
const GAPS = [' ', ' ', ' ', ' ', '  ', '\n', '\n\n', '\t', ' \n', '\u00a0', '\r\n', ' \u3000 '];

/**
 * Words whose token ranges `wordTokenRanges` gets right on the whole text (for the visible-words comparison): an added
 * token written in the text (`[MASK]`) or a character the normalizer deletes inside a word (a zero-width space, a
 * bell) make its per-word counts disagree with the whole text's, and two such disagreements can cancel, so the
 * whole-text ranges are themselves off there.
 */
const PLAIN_WORDS = WORDS.filter((w) => !/MASK|mask|\u200b|\u0007/.test(w));

/** A random text of `n` words and gaps (as a fast-check arbitrary). */
const textArb = (minWords: number, maxWords: number, words: readonly string[] = WORDS) =>
  fc
    .array(fc.tuple(fc.constantFrom(...words), fc.constantFrom(...GAPS)), { minLength: minWords, maxLength: maxWords, size: 'max' })
    .chain((parts) => fc.tuple(fc.constantFrom('', ' ', '\n'), fc.constantFrom('', ' ', '\n')).map(([lead, trail]) => lead + parts.map(([w, g]) => w + g).join('').trimEnd() + trail));

/** Tokenize everything, then truncate (the reference the cut must equal). */
function reference(t: TextTokenizer, text: string, maxLength: number, strategy: TruncationStrategy): number[] {
  const full = t.encode(text).ids;
  const inner = full.slice(1, -1);
  return [full[0], ...truncateItems(inner, maxLength - 2, strategy), full[full.length - 1]];
}

const STRATEGIES: TruncationStrategy[] = ['head', 'tail', 'head+tail'];
type Cuttable = TextTokenizer & { cut(text: string, budget: number, strategy: TruncationStrategy): unknown };

describe.each(TOKENIZERS)('cutting long texts before tokenizing: %s', (_name, tok) => {
  it('is allowed for this tokenizer', () => {
    expect((tok as unknown as { spaceCuts: boolean }).spaceCuts).toBe(true);
  });

  it('gives exactly the ids of tokenizing the whole text and truncating (random long texts, every strategy)', () => {
    let cuts = 0;
    let runs = 0;
    fc.assert(
      fc.property(textArb(50, 900), fc.integer({ min: 4, max: 140 }), fc.constantFrom(...STRATEGIES), (text, maxLength, strategy) => {
        runs++;
        if ((tok as Cuttable).cut(text, maxLength - 2, strategy)) cuts++;
        expect(tok.encode(text, { maxLength, truncation: strategy }).ids).toEqual(reference(tok, text, maxLength, strategy));
      }),
      { numRuns: 150, seed: 16 },
    );
    // the fast path was taken for most of these long texts (the comparison above is not vacuous)
    expect(cuts).toBeGreaterThan(runs / 2);
  });

  it('the prefix\'s tokens begin the whole text\'s tokens and the suffix\'s tokens end them (the lemma the cut rests on)', () => {
    type Cut = { prefixEnd: number; prefix: number[]; suffixStart: number; suffix: number[] };
    let checked = 0;
    fc.assert(
      fc.property(textArb(50, 900), fc.integer({ min: 2, max: 140 }), fc.constantFrom(...STRATEGIES), (text, budget, strategy) => {
        const cut = (tok as Cuttable).cut(text, budget, strategy) as Cut | undefined;
        if (!cut) return;
        checked++;
        const all = tok.encode(text).ids.slice(1, -1);
        expect(all.slice(0, cut.prefix.length)).toEqual(cut.prefix);
        expect(all.slice(all.length - cut.suffix.length)).toEqual(cut.suffix);
        expect(cut.prefixEnd).toBeLessThanOrEqual(cut.suffixStart);
      }),
      { numRuns: 150, seed: 20 },
    );
    expect(checked).toBeGreaterThan(75);
  });

  it('short texts, texts just over the budget and texts without spaces are tokenized whole, with the same ids', () => {
    fc.assert(
      fc.property(textArb(0, 40), fc.integer({ min: 3, max: 60 }), fc.constantFrom(...STRATEGIES), (text, maxLength, strategy) => {
        expect(tok.encode(text, { maxLength, truncation: strategy }).ids).toEqual(reference(tok, text, maxLength, strategy));
      }),
      { numRuns: 150, seed: 17 },
    );
    const blob = 'x'.repeat(5000);
    expect((tok as Cuttable).cut(blob, 30, 'head')).toBeUndefined();
    expect(tok.encode(blob, { maxLength: 32 }).ids).toEqual(reference(tok, blob, 32, 'head'));
  });

  it('visible words are the same whether the text was cut or tokenized whole (and, for WordPiece, as wordTokenRanges has them)', () => {
    const count = (s: string) => tok.tokenize(s).length;
    const whole = Object.create(tok, { cut: { value: undefined } }) as TextTokenizer; // the same tokenizer, never cut
    // an added token with lstrip written in the text (RoBERTa's "<mask>") swallows all the spaces before it, across
    // pieces; word ranges then fall back to wordTokenRanges, whose method depends on the whole text
    const words = tok.tokenToId('<mask>') === undefined ? WORDS : WORDS.filter((w) => w !== '<mask>');
    let cuts = 0;
    fc.assert(
      fc.property(textArb(20, 400, words), fc.integer({ min: 2, max: 120 }), fc.constantFrom(...STRATEGIES), (text, budget, strategy) => {
        if ((tok as Cuttable).cut(text, budget, strategy)) cuts++;
        const got = visibleWordsOf(tok, text, budget, strategy);
        expect(got).toEqual(visibleWordsOf(whole, text, budget, strategy));
        expect(got.truncated).toBe(count(text) > budget);
      }),
      { numRuns: 100, seed: 18 },
    );
    expect(cuts).toBeGreaterThan(50);
    if (tok !== TOKENIZERS[0][1]) return;
    fc.assert(
      fc.property(textArb(20, 400, PLAIN_WORDS), fc.integer({ min: 2, max: 120 }), fc.constantFrom(...STRATEGIES), (text, budget, strategy) => {
        const spans = splitWords(text);
        const n = count(text);
        const want = n <= budget ? { head: spans.length, tail: 0 } : visibleWordsFromRanges(wordTokenRanges(text, spans, count).ranges, n, budget, strategy);
        expect(visibleWordsOf(tok, text, budget, strategy).visible).toEqual(want);
      }),
      { numRuns: 100, seed: 19 },
    );
  });
});

describe('which tokenizers are cut', () => {
  const base = { added_tokens: [{ id: 0, content: '[CLS]' }], normalizer: { type: 'BertNormalizer' }, pre_tokenizer: { type: 'BertPreTokenizer' } };
  it('accepts whitespace-splitting WordPiece and GPT-2 byte-level BPE, refuses what it is not proven for', () => {
    expect(spaceCutSafe(base, {})).toBe(true);
    expect(spaceCutSafe({ ...base, normalizer: { type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'Lowercase' }, { type: 'StripAccents' }] } }, {})).toBe(true);
    expect(spaceCutSafe({ ...base, pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Punctuation' }] } }, {})).toBe(true);
    expect(spaceCutSafe({ ...base, pre_tokenizer: { type: 'Punctuation' } }, {})).toBe(false); // pieces may span spaces
    expect(spaceCutSafe({ ...base, pre_tokenizer: { type: 'Metaspace' } }, {})).toBe(false);
    expect(spaceCutSafe({ ...base, pre_tokenizer: { type: 'ByteLevel', use_regex: false } }, {})).toBe(false);
    expect(spaceCutSafe({ ...base, normalizer: { type: 'Strip', strip_left: true } }, {})).toBe(false);
    expect(spaceCutSafe({ ...base, normalizer: { type: 'Precompiled' } }, {})).toBe(false);
    expect(spaceCutSafe({ ...base, added_tokens: [{ id: 0, content: '<mask>', rstrip: true }] }, {})).toBe(false);
    expect(spaceCutSafe({ ...base, added_tokens: [{ id: 0, content: 'new york' }] }, {})).toBe(false);
    expect(spaceCutSafe(base, { remove_space: true })).toBe(false);
  });
});
