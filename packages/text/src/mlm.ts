/**
 * Masked-language-model heads on Parry's encoders, with the parameter names and layouts of Hugging Face's
 * `*ForMaskedLM` checkpoints, and their folders in and out (`loadMaskedLm`, `saveMaskedLm`).
 *
 * | family | HF class | head (HF names) | activation |
 * |---|---|---|---|
 * | bert | BertForMaskedLM | `cls.predictions.transform.dense`, `.transform.LayerNorm`, `cls.predictions.bias` | `hidden_act` |
 * | roberta | RobertaForMaskedLM | `lm_head.dense`, `lm_head.layer_norm`, `lm_head.bias` | gelu |
 * | distilbert | DistilBertForMaskedLM | `vocab_transform`, `vocab_layer_norm` (eps 1e-12), `vocab_projector.bias` | `activation` |
 * | electra | ElectraForMaskedLM (the generator) | `generator_predictions.dense` (hidden -> embedding), `.LayerNorm`, `generator_lm_head.bias` | gelu |
 *
 * Each head is dense -> activation -> LayerNorm -> decoder, the decoder's weight tied to the word embeddings (HF's
 * default `tie_word_embeddings: true`; with `false` it is a parameter of its own). A checkpoint may hold the tied
 * decoder weight under its own name (`cls.predictions.decoder.weight`, `lm_head.decoder.weight`, `vocab_projector.weight`,
 * `generator_lm_head.weight`) and BERT/RoBERTa's decoder bias a second time (`*.decoder.bias`) or not: both load, and
 * saving writes each tensor once, as transformers does with safetensors.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type GuardOptions, InputError, ParryError, UsageError, writeOutputDir } from '@parry/core';
import { type EncoderConfig, type HiddenActivation, toHfConfig } from './config.js';
import { readFolderConfig } from './folder-config.js';
import { activation, type Dense, dropper, EncoderBody, encoderParameterShapes, type ForwardOptions, layerNorm, linear, type Norm } from './encoder-body.js';
import { type HubOptions, resolveModelSource } from './hub.js';
import { openSafetensorsFile, serializeSafetensors } from './safetensors.js';
import { loadTokenizer } from './tokenizer.js';
import type { HostTensor, ModelFamily, SafetensorsDtype, TextBatch, TextTokenizer } from '@parry/core';

/** The Hugging Face architecture of each family's masked-LM model (`config.json` `architectures`). */
export const MASKED_LM_ARCHITECTURES: Readonly<Record<ModelFamily, string>> = {
  bert: 'BertForMaskedLM',
  electra: 'ElectraForMaskedLM',
  distilbert: 'DistilBertForMaskedLM',
  roberta: 'RobertaForMaskedLM',
};

/** A Transformer encoder with a masked-language-model head. */
export interface MaskedLm {
  readonly config: EncoderConfig;
  readonly family: ModelFamily;
  /** Whether the decoder's weight is the word-embedding matrix (HF `tie_word_embeddings`, default true). */
  readonly tied: boolean;
  /** Trainable variables in a fixed order, with their HF parameter names (the tied decoder weight once, as the word embeddings). */
  parameters(): Array<{ name: string; variable: tf.Variable }>;
  /** Every weight by HF name in Parry's layout (Linear weights `[in, out]`, `linear: true`), fixed tables included. */
  weights(): Array<{ name: string; variable: tf.Variable; linear: boolean }>;
  /** The word-embedding matrix [V, E] (also the decoder's weight when tied). */
  wordEmbeddings(): tf.Variable;
  /** The last encoder layer's hidden states `[B, T, H]`. */
  hiddenStates(batch: TextBatch, options?: ForwardOptions): tf.Tensor3D;
  /** Vocabulary logits at every position: `[B, T, V]`. */
  mlmLogits(batch: TextBatch, options?: ForwardOptions): tf.Tensor3D;
  /**
   * Vocabulary logits at chosen positions only: `[N, V]` for flat positions `b * T + t` of the batch (the head and the
   * `[H, V]` decoder run on those rows only, which is most of the work at a real vocabulary size).
   */
  mlmLogitsAt(batch: TextBatch, positions: readonly number[], options?: ForwardOptions): tf.Tensor2D;
  /** float32 host copies with HF names and HF (torch) layouts; the tied decoder weight is not repeated. */
  stateDict(): Record<string, HostTensor>;
  /**
   * Load HF-named tensors (see {@link TransformerClassifier.loadStateDict}); the tied decoder weight and BERT/RoBERTa's
   * `*.decoder.bias` may be present or not.
   */
  loadStateDict(tensors: Record<string, HostTensor>, options?: { strict?: boolean; source?: string }): void;
  dispose(): void;
}

/** HF names of a family's masked-LM head. */
interface HeadNames {
  dense: string;
  norm: string;
  bias: string;
  decoder: string;
  /** Another name of the bias (BERT/RoBERTa tie `decoder.bias` to it). */
  biasAlias?: string;
  /** The activation after the dense layer. */
  act: (c: EncoderConfig) => HiddenActivation;
  /** The LayerNorm's eps. */
  eps: (c: EncoderConfig) => number;
  /** Width of the head's output (the decoder's input): the hidden size, or ELECTRA's embedding size. */
  width: (c: EncoderConfig) => number;
}

const HEADS: Record<ModelFamily, HeadNames> = {
  bert: {
    dense: 'cls.predictions.transform.dense',
    norm: 'cls.predictions.transform.LayerNorm',
    bias: 'cls.predictions.bias',
    decoder: 'cls.predictions.decoder.weight',
    biasAlias: 'cls.predictions.decoder.bias',
    act: (c) => c.hiddenAct,
    eps: (c) => c.layerNormEps,
    width: (c) => c.hiddenSize,
  },
  roberta: {
    dense: 'lm_head.dense',
    norm: 'lm_head.layer_norm',
    bias: 'lm_head.bias',
    decoder: 'lm_head.decoder.weight',
    biasAlias: 'lm_head.decoder.bias',
    act: () => 'gelu',
    eps: (c) => c.layerNormEps,
    width: (c) => c.hiddenSize,
  },
  distilbert: {
    dense: 'vocab_transform',
    norm: 'vocab_layer_norm',
    bias: 'vocab_projector.bias',
    decoder: 'vocab_projector.weight',
    act: (c) => c.hiddenAct,
    // DistilBertForMaskedLM's vocab_layer_norm has a fixed eps of 1e-12.
    eps: () => 1e-12,
    width: (c) => c.hiddenSize,
  },
  electra: {
    dense: 'generator_predictions.dense',
    norm: 'generator_predictions.LayerNorm',
    bias: 'generator_lm_head.bias',
    decoder: 'generator_lm_head.weight',
    act: () => 'gelu',
    eps: (c) => c.layerNormEps,
    width: (c) => c.embeddingSize,
  },
};

/** Whether a config ties the decoder to the word embeddings (HF `tie_word_embeddings`, default true). */
function isTied(c: EncoderConfig): boolean {
  return c.raw.tie_word_embeddings !== false;
}

/** Checkpoint names of a family's masked-LM head (its own parameters and the tied names), e.g. `cls.predictions.`. */
export function isMaskedLmHeadName(family: ModelFamily, name: string): boolean {
  const h = HEADS[family];
  return [h.dense, h.norm, h.bias, h.decoder, h.biasAlias].some((n) => n !== undefined && (name === n || name.startsWith(`${n}.`)));
}

/**
 * The parameters of a masked LM a config gives, by HF name, with their HF (torch) shapes (Linear weights `[out, in]`),
 * in the order of {@link MaskedLm.parameters} (the tied decoder weight is the word embeddings, not listed twice).
 */
export function maskedLmParameterShapes(c: EncoderConfig): Map<string, number[]> {
  const out = encoderParameterShapes(c, new Map());
  const h = HEADS[c.family];
  const W = h.width(c);
  out.set(`${h.dense}.weight`, [W, c.hiddenSize]);
  out.set(`${h.dense}.bias`, [W]);
  out.set(`${h.norm}.weight`, [W]);
  out.set(`${h.norm}.bias`, [W]);
  out.set(h.bias, [c.vocabSize]);
  if (!isTied(c)) out.set(h.decoder, [c.vocabSize, W]);
  return out;
}

/**
 * Builds a masked LM with freshly initialised weights as Hugging Face does (see {@link createTransformerClassifier};
 * the head's bias starts at zero, the decoder is the word-embedding matrix unless `tie_word_embeddings` is false).
 *
 * @param options.seed seed of the initial weights (default 0).
 */
export function createMaskedLm(config: EncoderConfig, options: { seed?: number } = {}): MaskedLm {
  return new MaskedLmModel(config, options.seed ?? 0);
}

class MaskedLmModel extends EncoderBody implements MaskedLm {
  readonly tied: boolean;
  private readonly headDense: Dense;
  private readonly headNorm: Norm;
  private readonly headBias: tf.Variable;
  /** `[W, V]` when untied. */
  private readonly decoder?: tf.Variable;
  private readonly names: HeadNames;

  constructor(config: EncoderConfig, seed: number) {
    super(config, seed, 'masked LM');
    const c = config;
    const h = HEADS[c.family];
    this.names = h;
    const W = h.width(c);
    this.tied = isTied(c);
    if (this.tied && W !== c.embeddingSize) {
      throw new UsageError(`the ${c.family} masked-LM head is ${W} wide but the word embeddings are ${c.embeddingSize}; they cannot be tied`);
    }
    this.headDense = this.dense(h.dense, c.hiddenSize, W);
    this.headNorm = this.norm(h.norm, W);
    this.headBias = this.add(h.bias, tf.zeros([c.vocabSize]));
    if (this.tied) this.aliases.set(h.decoder, `${c.family}.embeddings.word_embeddings.weight`);
    else this.decoder = this.add(h.decoder, this.normal([W, c.vocabSize]), true);
    if (h.biasAlias) this.aliases.set(h.biasAlias, h.bias);
  }

  mlmLogits(batch: TextBatch, options: ForwardOptions = {}): tf.Tensor3D {
    this.alive();
    const drop = dropper(options);
    return tf.tidy(() => {
      const [B, T] = batch.inputIds.shape;
      const h = this.encode(this.embed(batch.inputIds), batch, drop, false);
      return tf.reshape(this.head(h), [B, T, this.config.vocabSize]) as tf.Tensor3D;
    });
  }

  mlmLogitsAt(batch: TextBatch, positions: readonly number[], options: ForwardOptions = {}): tf.Tensor2D {
    this.alive();
    const [B, T] = batch.inputIds.shape;
    for (const p of positions) {
      if (!Number.isInteger(p) || p < 0 || p >= B * T) throw new UsageError(`mlmLogitsAt: position ${p} is outside the batch's ${B} x ${T} tokens`);
    }
    const drop = dropper(options);
    return tf.tidy(() => {
      const h = this.encode(this.embed(batch.inputIds), batch, drop, false);
      return this.head(tf.gather(h, tf.tensor1d(Int32Array.from(positions), 'int32'))) as tf.Tensor2D;
    });
  }

  /** dense -> activation -> LayerNorm -> decoder (+ bias) on rows `[N, H]` -> `[N, V]`. */
  private head(x: tf.Tensor): tf.Tensor {
    const c = this.config;
    const t = layerNorm(activation(linear(x, this.headDense), this.names.act(c)), this.headNorm, this.names.eps(c));
    const logits = this.decoder ? tf.matMul(t as tf.Tensor2D, this.decoder as tf.Tensor2D) : tf.matMul(t as tf.Tensor2D, this.wordEmb as tf.Tensor2D, false, true);
    return tf.add(logits, this.headBias);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Folders

const FLOAT_DTYPES: ReadonlySet<SafetensorsDtype> = new Set(['F32', 'F16', 'BF16', 'F64']);
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'vocab.json', 'merges.txt', 'special_tokens_map.json'] as const;

export interface LoadedMaskedLm {
  model: MaskedLm;
  /** Absent when the folder has no tokenizer files. */
  tokenizer?: TextTokenizer;
  config: EncoderConfig;
  /** The local folder the files were read from (the cache snapshot for Hub ids). */
  dir: string;
  /** Checkpoint tensors the masked LM does not use (a pooler, BERT's next-sentence head, a classification head). */
  ignored: string[];
}

/** Old TF-converted checkpoints name LayerNorm parameters `gamma` / `beta`. */
function modernName(name: string): string {
  return name.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
}

/**
 * Load a masked LM from a local Hugging Face folder or a Hub id (`bert-base-uncased`, `distilroberta-base`, a folder
 * `parry pretrain` or {@link saveMaskedLm} wrote): `config.json`, `model.safetensors` holding the encoder and the
 * family's masked-LM head (other tensors, such as a pooler or BERT's next-sentence head, are ignored and listed), and
 * the tokenizer files. Every tensor's dtype and shape is checked against the header before any weight is read; a
 * folder without the masked-LM head (a classifier) is refused in one line naming the missing tensors.
 */
export async function loadMaskedLm(source: string, options: HubOptions & { seed?: number } = {}): Promise<LoadedMaskedLm> {
  const resolved = await resolveModelSource(source, options);
  const dir = resolved.dir;
  const { config } = readFolderConfig(dir);
  const weightsFile = path.join(dir, 'model.safetensors');
  const file = openSafetensorsFile(weightsFile);
  const ignored: string[] = [];
  const picked: Array<[string, string]> = [];
  try {
    const prefix = `${config.family}.`;
    const names = Object.keys(file.tensors);
    const hasPrefix = names.some((k) => k.startsWith(prefix));
    const wanted = maskedLmParameterShapes(config);
    const h = HEADS[config.family];
    // Tied names: loaded in place of the parameter when it is absent (then shape-checked as it), else skipped.
    const tiedNames = new Map<string, string>();
    if (isTied(config)) tiedNames.set(h.decoder, `${prefix}embeddings.word_embeddings.weight`);
    if (h.biasAlias) tiedNames.set(h.biasAlias, h.bias);
    const present = new Set<string>();
    const normalised = names.map((key) => {
      const k = hasPrefix || isMaskedLmHeadName(config.family, key) || !/^(embeddings|encoder|transformer|embeddings_project)\./.test(key) ? key : prefix + key;
      return [key, modernName(k)] as const;
    });
    const direct = new Set(normalised.map(([, n]) => n));
    for (const [key, name] of normalised) {
      let target = name;
      const tiedTo = tiedNames.get(name);
      if (tiedTo !== undefined) {
        if (direct.has(tiedTo)) {
          checkHeader(file.tensors[key], wanted.get(tiedTo)!, key, weightsFile);
          continue;
        }
        target = tiedTo;
      }
      const shape = wanted.get(target);
      if (!shape) {
        if (!/position_ids$|token_type_ids$/.test(name)) ignored.push(key);
        continue;
      }
      checkHeader(file.tensors[key], shape, key, weightsFile);
      picked.push([key, target]);
      present.add(target);
    }
    const missing = [...wanted.keys()].filter((k) => !present.has(k) && !(config.sinusoidalPosEmbds && k.endsWith('position_embeddings.weight')));
    if (missing.length > 0) {
      const head = missing.filter((k) => isMaskedLmHeadName(config.family, k));
      throw new InputError(
        head.length === missing.length
          ? `${weightsFile} has no masked-LM head (${head.join(', ')}): it is not a masked-LM checkpoint (${MASKED_LM_ARCHITECTURES[config.family]}); use a masked-LM folder (one parry pretrain wrote, or e.g. bert-base-uncased)`
          : `${weightsFile} lacks ${missing.length} weight(s) of a ${config.family} masked LM (e.g. ${missing.slice(0, 3).join(', ')}); is config.json from the same checkpoint?`,
      );
    }
  } catch (e) {
    file.close();
    throw e;
  }
  let model: MaskedLm | undefined;
  try {
    model = createMaskedLm(config, { seed: options.seed ?? 0 });
    for (const [key, name] of picked) model.loadStateDict({ [name]: file.read([key])[key] }, { strict: false, source: weightsFile });
    file.close();
    const tokenizer = TOKENIZER_FILES.some((f) => fs.existsSync(path.join(dir, f))) ? await loadTokenizer(dir) : undefined;
    return { model, tokenizer, config, dir, ignored };
  } catch (e) {
    file.close();
    model?.dispose();
    throw e;
  }
}

function checkHeader(t: { dtype: SafetensorsDtype; shape: number[] }, shape: number[], key: string, file: string): void {
  if (!FLOAT_DTYPES.has(t.dtype)) {
    throw new InputError(`${file}: tensor "${key}" has dtype ${t.dtype}, not a float type; check that config.json matches the checkpoint`);
  }
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new InputError(
      `${file}: tensor "${key}" has shape [${t.shape.join(', ')}] but config.json needs [${shape.join(', ')}]; check that config.json is from the same checkpoint`,
    );
  }
}

/** The `config.json` of a masked LM: the family's keys (see {@link toHfConfig}) with the `*ForMaskedLM` architecture. */
export function maskedLmHfConfig(config: EncoderConfig): Record<string, unknown> {
  const { problem_type: _p, id2label: _i, label2id: _l, ...rest } = toHfConfig(config);
  return { ...rest, architectures: [MASKED_LM_ARCHITECTURES[config.family]] };
}

/**
 * Write a masked LM as a Hugging Face folder (`config.json` with the `*ForMaskedLM` architecture, `model.safetensors`
 * with HF names, the tokenizer's files, `extraFiles` as given), atomically, guarding an existing `dir` as
 * {@link savePretrained} does; weights that are not finite are refused and nothing is written.
 */
export async function saveMaskedLm(
  dir: string,
  model: MaskedLm,
  tokenizer?: TextTokenizer,
  extraFiles: Record<string, string | Uint8Array> = {},
  options: Pick<GuardOptions, 'force' | 'flag' | 'protect'> = {},
): Promise<void> {
  const state = model.stateDict();
  for (const [name, t] of Object.entries(state)) {
    const d = t.data as Float32Array;
    const bad = d.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new ParryError(`the weights are not finite (${name}[${bad}] = ${d[bad]}): training diverged, nothing was written to ${dir}; lower the learning rate (--lr)`, 1);
  }
  const weights = serializeSafetensors(state, { format: 'pt' });
  const config = `${JSON.stringify(maskedLmHfConfig(model.config), null, 2)}\n`;
  const tokenizerFiles = tokenizer?.toFiles() ?? {};
  await writeOutputDir(dir, { kind: 'text-model', ...options }, (tmp) => {
    fs.writeFileSync(path.join(tmp, 'config.json'), config);
    fs.writeFileSync(path.join(tmp, 'model.safetensors'), weights);
    for (const [name, text] of Object.entries({ ...tokenizerFiles, ...extraFiles })) fs.writeFileSync(path.join(tmp, name), text);
  });
}
