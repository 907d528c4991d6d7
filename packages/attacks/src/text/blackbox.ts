/**
 * Black-box text victims: any Hugging Face sequence classifier exported to ONNX (a local folder with `config.json`,
 * tokenizer files and `onnx/model.onnx`), run through transformers.js (`@huggingface/transformers`, onnxruntime-node
 * on the CPU). Attacks see class probabilities only; every scored text counts as one query.
 *
 * transformers.js is imported lazily (dynamic `import()`), so onnxruntime is loaded only when a black-box victim is
 * created. It is an optional peer dependency: install `@huggingface/transformers` to use this path.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type HeadTail,
  InputError,
  type OutputKind,
  parseTruncation,
  splitWords,
  type TextTokenizer,
  type TextVictim,
  type TruncationStrategy,
  truncateItems,
  UsageError,
  visibleWordsFromRanges,
  wordTokenRanges,
} from '@parry/core';
import { cutOverlong, keptTokens, spaceCutSafe, visibleWordsOf } from '@parry/text';

/** Options of {@link transformersJsVictim}. */
export interface TransformersJsVictimOptions {
  /** Texts per model call (default 32). Query counts do not depend on it. */
  batchSize?: number;
  /** Truncate to this many tokens, special tokens included (default: the smaller of the tokenizer's `model_max_length` and the model's positions). */
  maxLength?: number;
  /** `multi-label` scores labels independently with a sigmoid (default: from `problem_type` in config.json). */
  outputKind?: OutputKind;
  /** Which tokens of an over-long text reach the model: `head` (default), `tail` or `head+tail` (see `TruncationStrategy`). */
  truncation?: TruncationStrategy;
  /**
   * Cut a long text at a space before tokenizing it, so only the prefix and / or suffix whose tokens are kept is
   * tokenized (default true; the same tokens, see `cutOverlong` in @parry/text). It applies only when the folder's
   * tokenizer is one that can be cut at spaces exactly (`spaceCutSafe`); `false` tokenizes every text whole (for
   * comparisons).
   */
  preCut?: boolean;
}

/** The parts of transformers.js this module uses (structural, so its large type tree stays out of our API). */
interface HfTensor {
  readonly dims: number[];
  readonly data: ArrayLike<number>;
  dispose?(): void;
}
/** Un-padded, un-truncated encodings (`return_tensor: false`): one id list per text. */
type HfEncodings = { input_ids: number[][]; attention_mask: number[][]; token_type_ids?: number[][] };
interface HfTokenizer {
  (texts: string[], options: { padding: false; truncation: false; add_special_tokens?: boolean; return_tensor: false }): HfEncodings;
  readonly pad_token_id?: number;
  readonly model_max_length?: number;
}
interface HfModel {
  (inputs: Record<string, HfTensor>): Promise<Record<string, HfTensor>>;
  dispose(): Promise<unknown>;
}
/** The parts of transformers.js Parry uses (internal). */
export interface HfModule {
  AutoTokenizer: { from_pretrained(id: string, options: Record<string, unknown>): Promise<HfTokenizer> };
  AutoModelForSequenceClassification: { from_pretrained(id: string, options: Record<string, unknown>): Promise<HfModel> };
  Tensor: new (type: 'int64', data: BigInt64Array, dims: number[]) => HfTensor;
}

/** A black-box victim that also owns an ONNX session; `dispose` releases it. */
export interface TransformersJsVictim extends TextVictim {
  /** The folder the model was loaded from (absolute). */
  readonly dir: string;
  /** Tokens per text at most (special tokens included). */
  readonly maxLength: number;
  /** Which tokens of an over-long text are kept. */
  readonly truncation: TruncationStrategy;
  /** Whether long texts are cut at a space before tokenizing (`preCut` and a tokenizer that allows it). */
  readonly preCut: boolean;
  /** The words of `text` that reach the model (see `TextVictim.visibleWords`). */
  visibleWords(text: string): HeadTail;
  /** Release the ONNX session. The victim cannot predict afterwards. */
  dispose(): Promise<void>;
}

/** transformers.js needs both; a folder with only `vocab.txt` (slow tokenizer) is not enough. */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'];

/** transformers.js, imported on first use (one line naming the fix when it is not installed). */
export async function importTransformers(what = 'black-box text models'): Promise<HfModule> {
  try {
    return (await import('@huggingface/transformers')) as unknown as HfModule;
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    throw new UsageError(`${what} need @huggingface/transformers (${why}); install it: pnpm add @huggingface/transformers@4`);
  }
}

function readJson(file: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(`${file} is not readable JSON (${(e as Error).message}); re-export the model or fix the file`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InputError(`${file} must hold a JSON object`);
  return json as Record<string, unknown>;
}

/** Label names by index from `id2label` (or `LABEL_i` from `num_labels`). */
function labelNamesOf(config: Record<string, unknown>, file: string): string[] {
  const id2label = config.id2label;
  if (id2label && typeof id2label === 'object') {
    const entries = Object.entries(id2label as Record<string, unknown>);
    const names: string[] = new Array(entries.length);
    for (const [k, v] of entries) {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0 || i >= entries.length || typeof v !== 'string' || names[i] !== undefined) {
        throw new InputError(`${file}: id2label must map 0..${entries.length - 1} to label names, found ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
      }
      names[i] = v;
    }
    if (names.length > 0) return names;
  }
  const n = typeof config.num_labels === 'number' ? config.num_labels : 2;
  return Array.from({ length: n }, (_, i) => `LABEL_${i}`);
}

/** Position limit of the encoder (RoBERTa-style position ids start after the padding index). */
function positionLimit(config: Record<string, unknown>): number {
  const max = config.max_position_embeddings ?? config.n_positions;
  if (typeof max !== 'number') return Number.POSITIVE_INFINITY;
  return config.model_type === 'roberta' || config.model_type === 'xlm-roberta' || config.model_type === 'camembert' ? max - 2 : max;
}

/**
 * Load a local transformers.js / ONNX text-classification folder as a black-box {@link TextVictim}: `config.json`,
 * `tokenizer.json`, `tokenizer_config.json` and `onnx/model.onnx` (fp32, run on the CPU by
 * onnxruntime-node; never downloaded: files are read with `local_files_only`). `predict` tokenizes each batch,
 * truncates to `maxLength` keeping the special tokens (as Python `transformers` and Parry's tokenizer do), pads, runs
 * the model and returns softmax probabilities, or per-label sigmoids for multi-label models; label names come from
 * `id2label`.
 *
 * @throws InputError when the folder or one of its files is missing or unreadable.
 * @throws UsageError for bad options, or when `@huggingface/transformers` is not installed.
 */
export async function transformersJsVictim(dir: string, options: TransformersJsVictimOptions = {}): Promise<TransformersJsVictim> {
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError(`batchSize must be a positive integer, got ${batchSize}`);
  const truncation = parseTruncation(options.truncation ?? 'head');
  if (options.maxLength !== undefined && !(Number.isInteger(options.maxLength) && options.maxLength >= 2)) {
    throw new UsageError(`maxLength must be an integer >= 2 (room for the special tokens), got ${options.maxLength}`);
  }
  const root = path.resolve(dir);
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) {
    throw new InputError(`model folder ${root} not found; give a local folder with config.json, tokenizer files and onnx/model.onnx`);
  }
  const configFile = path.join(root, 'config.json');
  const onnxFile = path.join(root, 'onnx', 'model.onnx');
  for (const file of [configFile, onnxFile]) {
    if (!fs.existsSync(file)) {
      const fix = file === onnxFile ? 'export it (e.g. /usr/bin/python3 scripts/export-onnx.py <folder>)' : 'is this a Hugging Face model folder?';
      throw new InputError(`${file} not found; ${fix}`);
    }
  }
  for (const f of TOKENIZER_FILES) {
    if (!fs.existsSync(path.join(root, f))) {
      throw new InputError(`${path.join(root, f)} not found; transformers.js needs ${TOKENIZER_FILES.join(' and ')} (e.g. from Parry's savePretrained)`);
    }
  }
  const config = readJson(configFile);
  const labelNames = labelNamesOf(config, configFile);
  // transformers.js implements the tokenizer.json pipeline as Hugging Face tokenizers does, so the same test applies
  const preCut = (options.preCut ?? true) && spaceCutSafe(readJson(path.join(root, 'tokenizer.json')), readJson(path.join(root, 'tokenizer_config.json')));
  const outputKind: OutputKind = options.outputKind ?? (config.problem_type === 'multi_label_classification' ? 'multi-label' : 'single-label');

  const hf = await importTransformers();
  const load = { local_files_only: true };
  let tokenizer: HfTokenizer;
  let model: HfModel;
  try {
    tokenizer = await hf.AutoTokenizer.from_pretrained(root, load);
  } catch (e) {
    throw new InputError(`tokenizer files in ${root} could not be loaded (${(e as Error).message.split('\n')[0]}); re-save the tokenizer`);
  }
  try {
    model = await hf.AutoModelForSequenceClassification.from_pretrained(root, { ...load, dtype: 'fp32', device: 'cpu' });
  } catch (e) {
    throw new InputError(`${onnxFile} could not be loaded (${(e as Error).message.split('\n')[0]}); re-export the model`);
  }
  const limit = positionLimit(config);
  if (options.maxLength !== undefined && options.maxLength > limit) {
    throw new UsageError(`maxLength ${options.maxLength} exceeds the ${limit} positions of ${configFile}; use at most ${limit}`);
  }
  const tokMax = tokenizer.model_max_length;
  const maxLength = options.maxLength ?? Math.min(typeof tokMax === 'number' && tokMax > 0 ? tokMax : 512, limit);
  return new OnnxVictim(root, hf, tokenizer, model, labelNames, outputKind, batchSize, maxLength, truncation, preCut);
}

class OnnxVictim implements TransformersJsVictim {
  readonly name: string;
  private count = 0;
  private disposed = false;

  constructor(
    readonly dir: string,
    private readonly hf: HfModule,
    private readonly tokenizer: HfTokenizer,
    private readonly model: HfModel,
    readonly labelNames: string[],
    readonly outputKind: OutputKind,
    private readonly batchSize: number,
    readonly maxLength: number,
    readonly truncation: TruncationStrategy = 'head',
    readonly preCut = false,
  ) {
    this.name = `onnx:${path.basename(dir)}`;
  }

  /** Tokens of each text without special tokens. */
  private plainIds(texts: string[]): number[][] {
    return this.tokenizer(texts, { padding: false, truncation: false, add_special_tokens: false, return_tensor: false }).input_ids;
  }

  /** Special tokens the tokenizer adds to one text. */
  private specials?: number;

  visibleWords(text: string): HeadTail {
    if (typeof text !== 'string') throw new UsageError(`${this.name}.visibleWords: text is ${typeof text}, expected a string`);
    this.specials ??= this.tokenizer(['x'], { padding: false, truncation: false, return_tensor: false }).input_ids[0].length - this.plainIds(['x'])[0].length;
    const budget = Math.max(0, this.maxLength - this.specials);
    const count = (s: string) => (s === '' ? 0 : this.plainIds([s])[0].length);
    if (this.preCut) {
      // a long text: only the prefix / suffix that decides what is kept is tokenized, as in predict (visibleWordsOf
      // reads only `cut` and `spaceCuts` of the tokenizer it is given, and counts with `count`)
      const pieces = (s: string) => this.plainIds([s])[0];
      const cuttable = { spaceCuts: true, cut: (t: string, b: number, st: TruncationStrategy) => cutOverlong(t, b, st, pieces) };
      return visibleWordsOf(cuttable as unknown as TextTokenizer, text, budget, this.truncation, count).visible;
    }
    const words = splitWords(text);
    const n = count(text);
    if (n <= budget) return { head: words.length, tail: 0 };
    return visibleWordsFromRanges(wordTokenRanges(text, words, count).ranges, n, budget, this.truncation);
  }

  get queries(): number {
    return this.count;
  }

  async predict(texts: readonly string[]): Promise<Float32Array> {
    if (this.disposed) throw new UsageError(`${this.name} was disposed; load the victim again`);
    texts.forEach((t, i) => {
      if (typeof t !== 'string') throw new UsageError(`${this.name}.predict: text ${i} is ${typeof t}, expected a string`);
    });
    const L = this.labelNames.length;
    const out = new Float32Array(texts.length * L);
    for (let start = 0; start < texts.length; start += this.batchSize) {
      const chunk = texts.slice(start, start + this.batchSize);
      const inputs = this.encodeBatch(chunk);
      let outputs: Record<string, HfTensor> | undefined;
      try {
        outputs = await this.model(inputs);
        const logits = outputs.logits;
        if (!logits || logits.dims.length !== 2 || logits.dims[0] !== chunk.length || logits.dims[1] !== L) {
          const got = logits ? `[${logits.dims.join(', ')}]` : '(none)';
          throw new InputError(`${this.dir}: the model returned logits ${got}, expected [${chunk.length}, ${L}] (${L} labels in config.json id2label)`);
        }
        writeProbabilities(logits.data, chunk.length, L, this.outputKind === 'multi-label', out, start * L);
      } finally {
        for (const t of Object.values(inputs)) t.dispose?.();
        for (const t of Object.values(outputs ?? {})) t.dispose?.();
      }
      this.count += chunk.length;
    }
    return out;
  }

  /** The special tokens around one text (`[CLS]` / `[SEP]`, `<s>` / `</s>`) and their type ids, from encoding "x". */
  private frame?: { before: number[]; after: number[]; typesBefore?: number[]; typesAfter?: number[]; textType: number } | null;

  /** {@link frame}, or null when the specials cannot be located around the text's tokens (then nothing is pre-cut). */
  private specialFrame() {
    if (this.frame !== undefined) return this.frame;
    const enc = this.tokenizer(['x'], { padding: false, truncation: false, return_tensor: false });
    const ids = enc.input_ids[0];
    const types = enc.token_type_ids?.[0];
    const plain = this.plainIds(['x'])[0];
    let at = -1;
    for (let p = 0; p + plain.length <= ids.length && at < 0; p++) if (plain.every((id, j) => ids[p + j] === id)) at = p;
    const end = at + plain.length;
    this.frame =
      at < 0 || plain.length === 0
        ? null
        : { before: ids.slice(0, at), after: ids.slice(end), typesBefore: types?.slice(0, at), typesAfter: types?.slice(end), textType: types?.[at] ?? 0 };
    return this.frame;
  }

  /**
   * The encoding of a long `text` from only the prefix / suffix whose tokens `truncation` keeps (see `cutOverlong`),
   * or undefined when it is not cut (pre-cutting off, a short text, no space to cut at): the same ids as tokenizing
   * it whole and truncating.
   */
  private preCutRow(text: string): { ids: number[]; types?: number[] } | undefined {
    if (!this.preCut) return undefined;
    const frame = this.specialFrame();
    if (!frame) return undefined;
    const budget = this.maxLength - frame.before.length - frame.after.length;
    if (budget < 1) return undefined;
    const cut = cutOverlong(text, budget, this.truncation, (s) => this.plainIds([s])[0]);
    if (!cut) return undefined;
    const kept = keptTokens(cut);
    return {
      ids: [...frame.before, ...kept, ...frame.after],
      types: frame.typesBefore && frame.typesAfter ? [...frame.typesBefore, ...kept.map(() => frame.textType), ...frame.typesAfter] : undefined,
    };
  }

  /**
   * Tokenize and pad a batch. Over-long texts are cut as Python `transformers` does, keeping the special tokens
   * (`[CLS] ... [SEP]`) and the text's tokens that `truncation` keeps: transformers.js' own truncation cuts the end,
   * `[SEP]` included, so it would differ from the white-box tokenizer. A long text is first cut at a space past the
   * budget where the tokenizer allows it (`preCut`), so a long e-mail is not tokenized whole for every candidate.
   */
  private encodeBatch(texts: string[]): Record<string, HfTensor> {
    const cut = texts.map((t) => this.preCutRow(t));
    const rest = texts.map((_, i) => i).filter((i) => !cut[i]);
    const enc: HfEncodings = rest.length ? this.tokenizer(rest.map((i) => texts[i]), { padding: false, truncation: false, return_tensor: false }) : { input_ids: [], attention_mask: [] };
    const rows = cut as Array<{ ids: number[]; types?: number[] }>;
    rest.forEach((i, k) => (rows[i] = { ids: enc.input_ids[k], types: enc.token_type_ids?.[k] }));
    const long = rest.filter((i) => rows[i].ids.length > this.maxLength);
    if (long.length > 0) {
      const plain = this.plainIds(long.map((i) => texts[i]));
      long.forEach((i, k) => (rows[i] = truncateKeepingSpecials(rows[i], plain[k], this.maxLength, this.truncation)));
    }
    const T = Math.max(...rows.map((r) => r.ids.length));
    const B = rows.length;
    const ids = new BigInt64Array(B * T).fill(BigInt(this.tokenizer.pad_token_id ?? 0));
    const mask = new BigInt64Array(B * T);
    const types = new BigInt64Array(B * T);
    rows.forEach((r, b) => {
      r.ids.forEach((id, t) => {
        ids[b * T + t] = BigInt(id);
        mask[b * T + t] = 1n;
        types[b * T + t] = BigInt(r.types?.[t] ?? 0);
      });
    });
    const inputs: Record<string, HfTensor> = {
      input_ids: new this.hf.Tensor('int64', ids, [B, T]),
      attention_mask: new this.hf.Tensor('int64', mask, [B, T]),
    };
    if (rows.some((r) => r.types)) inputs.token_type_ids = new this.hf.Tensor('int64', types, [B, T]);
    return inputs;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.model.dispose();
  }
}

/**
 * Cut an encoding to `maxLength` tokens, keeping the special tokens before and after the text (found by comparing with
 * the encoding without special tokens, `plain`) and the text tokens `truncation` keeps; when the special tokens cannot
 * be located, keep the first `maxLength` tokens.
 */
function truncateKeepingSpecials(
  row: { ids: number[]; types?: number[] },
  plain: number[],
  maxLength: number,
  truncation: TruncationStrategy = 'head',
): { ids: number[]; types?: number[] } {
  const n = row.ids.length;
  const extra = n - plain.length;
  let prefix = -1;
  for (let p = 0; p <= extra && prefix < 0; p++) if (plain.every((id, j) => row.ids[p + j] === id)) prefix = p;
  const keep = (a: number[]): number[] => {
    if (prefix < 0 || maxLength <= extra) return a.slice(0, maxLength);
    const suffix = extra - prefix;
    return [...a.slice(0, prefix), ...truncateItems(a.slice(prefix, n - suffix), maxLength - extra, truncation), ...a.slice(n - suffix)];
  };
  return { ids: keep(row.ids), types: row.types ? keep(row.types) : undefined };
}

/** Row-wise softmax (max-shifted, in float64) or element-wise sigmoid of `[rows, L]` logits into `out` at `offset`. */
function writeProbabilities(logits: ArrayLike<number>, rows: number, L: number, multiLabel: boolean, out: Float32Array, offset: number): void {
  for (let r = 0; r < rows; r++) {
    const base = r * L;
    if (multiLabel) {
      for (let j = 0; j < L; j++) out[offset + base + j] = 1 / (1 + Math.exp(-Number(logits[base + j])));
      continue;
    }
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < L; j++) max = Math.max(max, Number(logits[base + j]));
    let sum = 0;
    for (let j = 0; j < L; j++) sum += Math.exp(Number(logits[base + j]) - max);
    for (let j = 0; j < L; j++) out[offset + base + j] = Math.exp(Number(logits[base + j]) - max) / sum;
  }
}
