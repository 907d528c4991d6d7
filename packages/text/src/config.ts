/**
 * Hugging Face `config.json` of BERT-family encoders, normalised to one {@link EncoderConfig} shape (DistilBERT's
 * `dim` / `n_layers` / ... become `hiddenSize` / `numLayers` / ...), and written back with each family's own keys.
 * Absent keys take the defaults of the family's transformers config class (BertConfig, ElectraConfig,
 * DistilBertConfig, RobertaConfig).
 */
import * as os from 'node:os';
import { z } from '@parry/core';
import { InputError, UsageError } from '@parry/core';
import type { ModelFamily, OutputKind } from '@parry/core';

/** Hugging Face `problem_type` values Parry supports; Parry itself says `single-label` / `multi-label` ({@link OutputKind}). */
type HfProblemType = 'single_label_classification' | 'multi_label_classification';
const HF_PROBLEM: Record<OutputKind, HfProblemType> = { 'single-label': 'single_label_classification', 'multi-label': 'multi_label_classification' };

/** Families and activations Parry implements. */
export const MODEL_FAMILIES: readonly ModelFamily[] = ['bert', 'electra', 'distilbert', 'roberta'];

/** Hidden activations (HF `hidden_act` / DistilBERT `activation`) the encoder implements. */
export const HIDDEN_ACTIVATIONS = [
  'gelu',
  'gelu_python',
  'gelu_new',
  'gelu_pytorch_tanh',
  'gelu_fast',
  'gelu_accurate',
  'quick_gelu',
  'relu',
  'silu',
  'swish',
  'tanh',
  'sigmoid',
  'linear',
] as const;

/** A hidden activation name (see {@link HIDDEN_ACTIVATIONS}). */
export type HiddenActivation = (typeof HIDDEN_ACTIVATIONS)[number];

/** An encoder classifier's configuration, family-independent. */
export interface EncoderConfig {
  family: ModelFamily;
  vocabSize: number;
  /** Width of the encoder layers (DistilBERT `dim`). */
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  /** Width of the feed-forward layer (DistilBERT `hidden_dim`). */
  intermediateSize: number;
  hiddenAct: HiddenActivation;
  hiddenDropout: number;
  attentionDropout: number;
  /** Dropout before (and, for ELECTRA/RoBERTa, inside) the classification head. */
  classifierDropout: number;
  maxPositions: number;
  /** Number of segment ids; 0 for DistilBERT (no token-type embeddings). */
  typeVocabSize: number;
  layerNormEps: number;
  padTokenId: number;
  /** Width of the embeddings: ELECTRA's `embedding_size`, the hidden size for the other families. */
  embeddingSize: number;
  /** DistilBERT: fixed sinusoidal position embeddings (not trained). */
  sinusoidalPosEmbds: boolean;
  initializerRange: number;
  /** `single-label` (softmax, cross-entropy) or `multi-label` (per-label sigmoid, binary cross-entropy); HF `problem_type`. */
  outputKind: OutputKind;
  numLabels: number;
  /** Label name per class id (`id2label`). */
  labelNames: string[];
  /** The parsed `config.json` as given, so that saving keeps keys Parry does not use. */
  raw: Record<string, unknown>;
}

const PROBLEM_TYPES: readonly HfProblemType[] = ['single_label_classification', 'multi_label_classification'];

const ARCHITECTURES: Record<ModelFamily, string> = {
  bert: 'BertForSequenceClassification',
  electra: 'ElectraForSequenceClassification',
  distilbert: 'DistilBertForSequenceClassification',
  roberta: 'RobertaForSequenceClassification',
};

/** Defaults of transformers' config classes, per family. */
type FamilyDefaults = Omit<EncoderConfig, 'family' | 'classifierDropout' | 'outputKind' | 'numLabels' | 'labelNames' | 'raw'>;
const FAMILY_DEFAULTS: Record<ModelFamily, FamilyDefaults> = {
  bert: {
    vocabSize: 30522, hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072, hiddenAct: 'gelu',
    hiddenDropout: 0.1, attentionDropout: 0.1, maxPositions: 512, typeVocabSize: 2, layerNormEps: 1e-12,
    padTokenId: 0, embeddingSize: 768, sinusoidalPosEmbds: false, initializerRange: 0.02,
  },
  electra: {
    vocabSize: 30522, hiddenSize: 256, numLayers: 12, numHeads: 4, intermediateSize: 1024, hiddenAct: 'gelu',
    hiddenDropout: 0.1, attentionDropout: 0.1, maxPositions: 512, typeVocabSize: 2, layerNormEps: 1e-12,
    padTokenId: 0, embeddingSize: 128, sinusoidalPosEmbds: false, initializerRange: 0.02,
  },
  distilbert: {
    vocabSize: 30522, hiddenSize: 768, numLayers: 6, numHeads: 12, intermediateSize: 3072, hiddenAct: 'gelu',
    hiddenDropout: 0.1, attentionDropout: 0.1, maxPositions: 512, typeVocabSize: 0, layerNormEps: 1e-12,
    padTokenId: 0, embeddingSize: 768, sinusoidalPosEmbds: false, initializerRange: 0.02,
  },
  roberta: {
    vocabSize: 50265, hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072, hiddenAct: 'gelu',
    hiddenDropout: 0.1, attentionDropout: 0.1, maxPositions: 512, typeVocabSize: 2, layerNormEps: 1e-12,
    padTokenId: 1, embeddingSize: 768, sinusoidalPosEmbds: false, initializerRange: 0.02,
  },
};

/** DistilBERT's classifier dropout default (`seq_classif_dropout`). */
const DISTILBERT_CLASSIF_DROPOUT = 0.2;

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();
const prob = z.number().min(0).max(1);
const optNull = <T extends z.ZodType>(t: T) => t.nullable().optional();

/** The keys Parry reads (all families); anything else stays in `raw`. */
const hfSchema = z.object({
  model_type: z.string(),
  vocab_size: optNull(posInt),
  hidden_size: optNull(posInt),
  dim: optNull(posInt),
  num_hidden_layers: optNull(posInt),
  n_layers: optNull(posInt),
  num_attention_heads: optNull(posInt),
  n_heads: optNull(posInt),
  intermediate_size: optNull(posInt),
  hidden_dim: optNull(posInt),
  hidden_act: optNull(z.string()),
  activation: optNull(z.string()),
  hidden_dropout_prob: optNull(prob),
  dropout: optNull(prob),
  attention_probs_dropout_prob: optNull(prob),
  attention_dropout: optNull(prob),
  classifier_dropout: optNull(prob),
  seq_classif_dropout: optNull(prob),
  max_position_embeddings: optNull(posInt),
  type_vocab_size: optNull(nonNegInt),
  layer_norm_eps: optNull(z.number().positive()),
  pad_token_id: optNull(nonNegInt),
  embedding_size: optNull(posInt),
  sinusoidal_pos_embds: optNull(z.boolean()),
  initializer_range: optNull(z.number().nonnegative()),
  problem_type: optNull(z.string()),
  num_labels: optNull(posInt),
  id2label: optNull(z.record(z.string(), z.string())),
  label2id: optNull(z.record(z.string(), z.number())),
  position_embedding_type: optNull(z.string()),
});

/**
 * Parses a Hugging Face `config.json` (already JSON-parsed) of a BERT, ELECTRA, DistilBERT or RoBERTa model.
 *
 * @param source the file name used in error messages.
 * @throws InputError when the JSON is not an object, the `model_type` is unsupported, or a key has a bad value.
 */
/** Tokens per row the position table holds: `maxPositions`, less RoBERTa's offset (its positions start after the padding index). */
export function usablePositions(c: Pick<EncoderConfig, 'family' | 'maxPositions' | 'padTokenId'>): number {
  return c.family === 'roberta' ? c.maxPositions - c.padTokenId - 1 : c.maxPositions;
}

export function parseHfConfig(json: unknown, source = 'config.json'): EncoderConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InputError(`${source}: expected a JSON object (a Hugging Face config.json)`);
  }
  const raw = json as Record<string, unknown>;
  const modelType = raw.model_type;
  if (typeof modelType !== 'string' || !(MODEL_FAMILIES as readonly string[]).includes(modelType)) {
    throw new InputError(
      `${source}: model_type ${JSON.stringify(modelType ?? null)} is not supported: use one of ${MODEL_FAMILIES.join(', ')}`,
    );
  }
  const parsed = hfSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue.path.map(String).join('.');
    throw new InputError(`${source}: key "${key}" is invalid (${issue.message}); fix or remove it`);
  }
  const c = parsed.data;
  const family = modelType as ModelFamily;
  const d = FAMILY_DEFAULTS[family];
  const distil = family === 'distilbert';
  const pick = <T>(...values: Array<T | null | undefined>): T | undefined => values.find((v) => v !== undefined && v !== null) ?? undefined;

  if (c.position_embedding_type != null && c.position_embedding_type !== 'absolute') {
    throw new InputError(`${source}: position_embedding_type "${c.position_embedding_type}" is not supported: only "absolute"`);
  }
  const act = (distil ? pick(c.activation, c.hidden_act) : pick(c.hidden_act)) ?? d.hiddenAct;
  if (!(HIDDEN_ACTIVATIONS as readonly string[]).includes(act)) {
    throw new InputError(`${source}: ${distil ? 'activation' : 'hidden_act'} "${act}" is not supported: use one of ${HIDDEN_ACTIVATIONS.join(', ')}`);
  }
  const problemType = c.problem_type ?? 'single_label_classification';
  if (!(PROBLEM_TYPES as readonly string[]).includes(problemType)) {
    throw new InputError(`${source}: problem_type "${problemType}" is not supported: use ${PROBLEM_TYPES.join(' or ')}`);
  }
  const hiddenSize = (distil ? pick(c.dim, c.hidden_size) : pick(c.hidden_size)) ?? d.hiddenSize;
  const sizes: ConfigSizes = {
    family,
    vocabSize: c.vocab_size ?? d.vocabSize,
    hiddenSize,
    numLayers: (distil ? pick(c.n_layers, c.num_hidden_layers) : pick(c.num_hidden_layers)) ?? d.numLayers,
    numHeads: (distil ? pick(c.n_heads, c.num_attention_heads) : pick(c.num_attention_heads)) ?? d.numHeads,
    intermediateSize: (distil ? pick(c.hidden_dim, c.intermediate_size) : pick(c.intermediate_size)) ?? d.intermediateSize,
    maxPositions: c.max_position_embeddings ?? d.maxPositions,
    typeVocabSize: distil ? 0 : (c.type_vocab_size ?? d.typeVocabSize),
    padTokenId: c.pad_token_id ?? d.padTokenId,
    embeddingSize: family === 'electra' ? (c.embedding_size ?? d.embeddingSize) : hiddenSize,
    numLabels: c.id2label && Object.keys(c.id2label).length > 0 ? Object.keys(c.id2label).length : (c.num_labels ?? 2),
  };
  if (c.id2label && Object.keys(c.id2label).length > CONFIG_LIMITS.numLabels) {
    throw new InputError(`${source}: id2label has ${Object.keys(c.id2label).length} entries, over the limit of ${CONFIG_LIMITS.numLabels} labels; fix id2label`);
  }
  // Sizes first: nothing (not even the label names) is built from a size that is out of range.
  validateConfig(sizes, { source });
  const labelNames = parseLabels(c.id2label ?? undefined, c.num_labels ?? undefined, source);

  const hiddenDropout = (distil ? pick(c.dropout, c.hidden_dropout_prob) : pick(c.hidden_dropout_prob)) ?? d.hiddenDropout;
  const cfg: EncoderConfig = {
    ...sizes,
    hiddenAct: act as HiddenActivation,
    hiddenDropout,
    attentionDropout:
      (distil ? pick(c.attention_dropout, c.attention_probs_dropout_prob) : pick(c.attention_probs_dropout_prob)) ?? d.attentionDropout,
    classifierDropout: distil ? (c.seq_classif_dropout ?? DISTILBERT_CLASSIF_DROPOUT) : (c.classifier_dropout ?? hiddenDropout),
    // DistilBERT's LayerNorms use a fixed eps of 1e-12 (not a config key).
    layerNormEps: distil ? d.layerNormEps : (c.layer_norm_eps ?? d.layerNormEps),
    sinusoidalPosEmbds: distil ? (c.sinusoidal_pos_embds ?? false) : false,
    initializerRange: c.initializer_range ?? d.initializerRange,
    outputKind: problemType === 'multi_label_classification' ? 'multi-label' : 'single-label',
    numLabels: labelNames.length,
    labelNames,
    raw: { ...raw },
  };
  if (cfg.labelNames.length !== cfg.numLabels || cfg.numLabels < 1) {
    throw new InputError(`${source}: num_labels ${cfg.numLabels} does not match ${cfg.labelNames.length} label names; make them agree`);
  }
  return cfg;
}

/** Label names from `id2label` (ids must be 0..n-1) or `num_labels`; HF's `LABEL_i` names by default, 2 labels. */
function parseLabels(id2label: Record<string, string> | undefined, numLabels: number | undefined, source: string): string[] {
  if (id2label === undefined || Object.keys(id2label).length === 0) {
    return defaultLabelNames(numLabels ?? 2);
  }
  const entries = Object.entries(id2label);
  const names: string[] = new Array<string>(entries.length);
  for (const [key, name] of entries) {
    const id = Number(key);
    if (!Number.isInteger(id) || id < 0 || id >= entries.length || names[id] !== undefined) {
      throw new InputError(`${source}: id2label key "${key}" is not one of the ids 0..${entries.length - 1} (each once); fix id2label`);
    }
    names[id] = name;
  }
  if (numLabels !== undefined && numLabels !== names.length) {
    throw new InputError(`${source}: num_labels is ${numLabels} but id2label has ${names.length} entries; make them agree`);
  }
  return names;
}

function defaultLabelNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `LABEL_${i}`);
}

/**
 * Upper bounds on a config's sizes, generous for real checkpoints and far below what would exhaust memory. The
 * largest supported checkpoints stay well inside them: XLM-R-sized vocabularies have 250,002 entries, BERT/RoBERTa-large
 * have 24 layers, hidden 1024, feed-forward 4096 and 512-514 positions; the longest BERT-family encoders have 8,192
 * positions. A config over any bound is refused before anything is allocated.
 */
export const CONFIG_LIMITS = {
  vocabSize: 1_000_000,
  hiddenSize: 16_384,
  embeddingSize: 16_384,
  numLayers: 256,
  numHeads: 1_024,
  intermediateSize: 65_536,
  /** Dense attention over 65,536 tokens already needs 16 GB per head and example. */
  maxPositions: 65_536,
  typeVocabSize: 1_024,
  numLabels: 100_000,
  /** All weights together (8 GB as float32; bert-base has 110M, roberta-large 355M). */
  parameters: 2_000_000_000,
} as const;

/** The fields of a config that size its tensors. */
export type ConfigSizes = Pick<
  EncoderConfig,
  'family' | 'vocabSize' | 'hiddenSize' | 'numLayers' | 'numHeads' | 'intermediateSize' | 'maxPositions' | 'typeVocabSize' | 'padTokenId' | 'embeddingSize' | 'numLabels'
>;

type SizeField = Exclude<keyof ConfigSizes, 'family'>;

/**
 * Who gave the config, so that messages use that caller's words: `'flags'` (the CLI: `--hidden`, `--heads`, ...,
 * UsageError), `'options'` (library option keys: `hiddenSize`, ..., UsageError), or the path of a config.json (its
 * own keys, `hidden_size` or DistilBERT's `dim`, InputError prefixed with the path).
 */
export interface ValidateConfigOptions {
  source: 'flags' | 'options' | (string & {});
}

const HF_KEYS: Record<SizeField, [string, string]> = {
  // [BERT/ELECTRA/RoBERTa key, DistilBERT key]
  vocabSize: ['vocab_size', 'vocab_size'],
  hiddenSize: ['hidden_size', 'dim'],
  embeddingSize: ['embedding_size', 'dim'],
  numLayers: ['num_hidden_layers', 'n_layers'],
  numHeads: ['num_attention_heads', 'n_heads'],
  intermediateSize: ['intermediate_size', 'hidden_dim'],
  maxPositions: ['max_position_embeddings', 'max_position_embeddings'],
  typeVocabSize: ['type_vocab_size', 'type_vocab_size'],
  padTokenId: ['pad_token_id', 'pad_token_id'],
  numLabels: ['num_labels', 'num_labels'],
};

const FLAGS: Partial<Record<SizeField, string>> = {
  vocabSize: '--vocab-size',
  hiddenSize: '--hidden',
  numLayers: '--layers',
  numHeads: '--heads',
  intermediateSize: '--intermediate',
  maxPositions: '--max-length',
};

/** `1234567` -> `1,234,567`. */
const grouped = (n: number): string => Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/**
 * Checks a config's sizes before anything is allocated: each size a positive integer within {@link CONFIG_LIMITS},
 * the hidden size a multiple of the heads, the padding id inside the vocabulary, and the total parameter count (as
 * {@link countParameters}) within the cap and the machine's memory. One validator for config.json files, CLI flags and
 * library options; messages name the caller's keys or flags (see {@link ValidateConfigOptions}).
 *
 * @throws InputError (a config.json) or UsageError (flags, options) with one line naming the field and the fix.
 */
export function validateConfig(cfg: ConfigSizes, options: ValidateConfigOptions): void {
  const { source } = options;
  const file = source !== 'flags' && source !== 'options';
  const fail = (msg: string): Error => (file ? new InputError(`${source}: ${msg}`) : new UsageError(msg));
  const distil = cfg.family === 'distilbert';
  // RoBERTa's positions are the tokens plus padding_idx + 1; the --max-length flag counts the tokens only.
  const flagOffset = (key: SizeField): number => (key === 'maxPositions' && cfg.family === 'roberta' ? cfg.padTokenId + 1 : 0);
  const name = (key: SizeField): string => {
    if (source === 'options') return key;
    if (source === 'flags' && FLAGS[key]) return FLAGS[key]!;
    if (source === 'flags' && key === 'numLabels') return 'the label count';
    return HF_KEYS[key][distil ? 1 : 0];
  };
  const show = (key: SizeField, value = cfg[key]): string => `${name(key)} ${source === 'flags' ? value - flagOffset(key) : value}`;
  const fix = (key: SizeField): string =>
    file ? `fix ${name(key)} in the file (is it from a real checkpoint?)` : source === 'flags' && key === 'numLabels' ? 'check --label-column and the data' : `lower ${name(key)}`;

  const limited: Array<[SizeField, number]> = [
    ['vocabSize', CONFIG_LIMITS.vocabSize],
    ['hiddenSize', CONFIG_LIMITS.hiddenSize],
    ['embeddingSize', CONFIG_LIMITS.embeddingSize],
    ['numLayers', CONFIG_LIMITS.numLayers],
    ['numHeads', CONFIG_LIMITS.numHeads],
    ['intermediateSize', CONFIG_LIMITS.intermediateSize],
    ['maxPositions', CONFIG_LIMITS.maxPositions],
    ['typeVocabSize', CONFIG_LIMITS.typeVocabSize],
    ['numLabels', CONFIG_LIMITS.numLabels],
  ];
  for (const [key, limit] of limited) {
    const v = cfg[key];
    const min = key === 'typeVocabSize' ? 0 : 1;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      throw fail(`${name(key)} must be an integer >= ${min}, got ${String(v)}`);
    }
    if (v > limit) throw fail(`${show(key)} is over the limit of ${limit - (source === 'flags' ? flagOffset(key) : 0)}; ${fix(key)}`);
  }
  if (typeof cfg.padTokenId !== 'number' || !Number.isSafeInteger(cfg.padTokenId) || cfg.padTokenId < 0) {
    throw fail(`${name('padTokenId')} must be an integer >= 0, got ${String(cfg.padTokenId)}`);
  }
  if (cfg.hiddenSize % cfg.numHeads !== 0) {
    throw fail(`${show('hiddenSize')} is not a multiple of ${show('numHeads')}; change one of them`);
  }
  if (cfg.padTokenId >= cfg.vocabSize) {
    throw fail(`${name('padTokenId')} ${cfg.padTokenId} is not below ${name('vocabSize')} ${cfg.vocabSize}; fix ${name('padTokenId')}`);
  }
  if (cfg.family === 'roberta' && cfg.maxPositions <= cfg.padTokenId + 1) {
    throw fail(`${show('maxPositions')} leaves no positions after padding_idx ${cfg.padTokenId}; raise it`);
  }
  if (cfg.family !== 'distilbert' && cfg.typeVocabSize < 1) {
    throw fail(`${name('typeVocabSize')} must be at least 1 for ${cfg.family}; set it to 1 or 2`);
  }
  const params = countParameters(cfg);
  const largest = limited.filter(([k]) => k !== 'numLabels' && k !== 'typeVocabSize').sort((a, b) => cfg[b[0]] / b[1] - cfg[a[0]] / a[1])[0][0];
  if (params > CONFIG_LIMITS.parameters) {
    throw fail(
      `a ${cfg.family} model with these sizes has ${grouped(params)} parameters, over the limit of ${grouped(CONFIG_LIMITS.parameters)} (${CONFIG_LIMITS.parameters * 4 / 1e9} GB of float32 weights); lower ${name(largest)} or the other sizes`,
    );
  }
  const total = os.totalmem();
  if (params * 4 > total) {
    throw fail(
      `a ${cfg.family} model with these sizes has ${grouped(params)} parameters (${(params * 4 / 1e9).toFixed(1)} GB of float32 weights), more than this machine's ${(total / 1e9).toFixed(1)} GB of memory; lower ${name(largest)} or the other sizes`,
    );
  }
}

/**
 * The number of weights of the classifier a config describes (every tensor the encoder allocates, DistilBERT's fixed
 * sinusoidal table included), computed without allocating: bert-base-uncased with 2 labels has 109,483,778.
 */
export function countParameters(cfg: ConfigSizes): number {
  const { vocabSize: V, hiddenSize: H, embeddingSize: E, maxPositions: P, intermediateSize: I, numLayers: L, numLabels: N } = cfg;
  const distil = cfg.family === 'distilbert';
  let n = V * E + P * E + (distil ? 0 : Math.max(1, cfg.typeVocabSize) * E) + 2 * E;
  if (E !== H) n += E * H + H;
  n += L * (4 * (H * H + H) + 2 * 2 * H + (H * I + I) + (I * H + H));
  n += H * H + H + H * N + N;
  return n;
}

/**
 * The `config.json` content for a config: the family's own HF keys, `architectures`, `id2label` / `label2id` and
 * `problem_type`, merged over `cfg.raw` (so unknown keys survive a load/save round trip).
 */
export function toHfConfig(cfg: EncoderConfig): Record<string, unknown> {
  const id2label: Record<string, string> = {};
  const label2id: Record<string, number> = {};
  cfg.labelNames.forEach((name, i) => {
    id2label[String(i)] = name;
    label2id[name] = i;
  });
  const common = {
    model_type: cfg.family,
    architectures: [ARCHITECTURES[cfg.family]],
    vocab_size: cfg.vocabSize,
    max_position_embeddings: cfg.maxPositions,
    initializer_range: cfg.initializerRange,
    pad_token_id: cfg.padTokenId,
    problem_type: HF_PROBLEM[cfg.outputKind],
    id2label,
    label2id,
  };
  const { num_labels: _ignored, ...raw } = cfg.raw;
  if (cfg.family === 'distilbert') {
    return {
      ...raw,
      ...common,
      dim: cfg.hiddenSize,
      n_layers: cfg.numLayers,
      n_heads: cfg.numHeads,
      hidden_dim: cfg.intermediateSize,
      activation: cfg.hiddenAct,
      dropout: cfg.hiddenDropout,
      attention_dropout: cfg.attentionDropout,
      seq_classif_dropout: cfg.classifierDropout,
      sinusoidal_pos_embds: cfg.sinusoidalPosEmbds,
    };
  }
  return {
    ...raw,
    ...common,
    hidden_size: cfg.hiddenSize,
    num_hidden_layers: cfg.numLayers,
    num_attention_heads: cfg.numHeads,
    intermediate_size: cfg.intermediateSize,
    hidden_act: cfg.hiddenAct,
    hidden_dropout_prob: cfg.hiddenDropout,
    attention_probs_dropout_prob: cfg.attentionDropout,
    classifier_dropout: cfg.classifierDropout,
    type_vocab_size: cfg.typeVocabSize,
    layer_norm_eps: cfg.layerNormEps,
    position_embedding_type: 'absolute',
    ...(cfg.family === 'electra' ? { embedding_size: cfg.embeddingSize } : {}),
  };
}

/** Fields {@link smallConfig} accepts as overrides. */
export type EncoderConfigOverrides = Partial<Omit<EncoderConfig, 'family' | 'raw'>>;

/**
 * A small config for from-scratch training and tests: hidden 64, 2 layers, 2 heads, feed-forward 256, vocabulary
 * 1000, 128 positions (RoBERTa: 130, pad id 1, one segment type), 2 labels, the family's activation and eps; ELECTRA's
 * embedding size defaults to the hidden size. `numLabels` without `labelNames` names the labels `LABEL_i`.
 *
 * @param options.source `'flags'` when the overrides come from CLI flags, so that messages name `--hidden` etc.
 * @throws UsageError when the overrides are inconsistent (e.g. hidden size not a multiple of the heads) or over
 *   {@link CONFIG_LIMITS} (see {@link validateConfig}).
 */
export function smallConfig(
  family: ModelFamily,
  overrides: EncoderConfigOverrides = {},
  options: { source?: 'flags' | 'options' } = {},
): EncoderConfig {
  if (!MODEL_FAMILIES.includes(family)) {
    throw new UsageError(`model family ${JSON.stringify(family)} is not supported: use one of ${MODEL_FAMILIES.join(', ')}`);
  }
  const roberta = family === 'roberta';
  const hiddenSize = overrides.hiddenSize ?? 64;
  const hiddenDropout = overrides.hiddenDropout ?? 0.1;
  const n = overrides.labelNames?.length ?? overrides.numLabels ?? 2;
  if (!(n <= CONFIG_LIMITS.numLabels)) {
    throw new UsageError(`${options.source === 'flags' ? 'the label count' : 'numLabels'} ${n} is over the limit of ${CONFIG_LIMITS.numLabels}; use fewer labels`);
  }
  const labelNames = overrides.labelNames ? [...overrides.labelNames] : defaultLabelNames(overrides.numLabels ?? 2);
  const cfg: EncoderConfig = {
    family,
    vocabSize: 1000,
    hiddenSize,
    numLayers: 2,
    numHeads: 2,
    intermediateSize: 4 * hiddenSize,
    hiddenAct: 'gelu',
    hiddenDropout,
    attentionDropout: 0.1,
    classifierDropout: family === 'distilbert' ? DISTILBERT_CLASSIF_DROPOUT : hiddenDropout,
    maxPositions: roberta ? 130 : 128,
    typeVocabSize: family === 'distilbert' ? 0 : roberta ? 1 : 2,
    layerNormEps: roberta ? 1e-5 : 1e-12,
    padTokenId: roberta ? 1 : 0,
    embeddingSize: hiddenSize,
    sinusoidalPosEmbds: false,
    initializerRange: 0.02,
    outputKind: 'single-label',
    ...overrides,
    numLabels: labelNames.length,
    labelNames,
    raw: {},
  };
  if (overrides.numLabels !== undefined && overrides.numLabels !== labelNames.length) {
    throw new UsageError(`numLabels ${overrides.numLabels} does not match ${labelNames.length} labelNames; give one of them`);
  }
  if (family !== 'electra') cfg.embeddingSize = cfg.hiddenSize;
  if (family === 'distilbert') cfg.typeVocabSize = 0;
  const ints: Array<keyof EncoderConfig> = ['vocabSize', 'hiddenSize', 'numLayers', 'numHeads', 'intermediateSize', 'maxPositions', 'embeddingSize'];
  for (const key of ints) {
    const v = cfg[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new UsageError(`${key} must be a positive integer, got ${String(v)}`);
  }
  for (const key of ['hiddenDropout', 'attentionDropout', 'classifierDropout'] as const) {
    if (!(cfg[key] >= 0 && cfg[key] < 1)) throw new UsageError(`${key} must be in [0, 1), got ${cfg[key]}`);
  }
  if (!(HIDDEN_ACTIVATIONS as readonly string[]).includes(cfg.hiddenAct)) {
    throw new UsageError(`hiddenAct "${cfg.hiddenAct}" is not supported: use one of ${HIDDEN_ACTIVATIONS.join(', ')}`);
  }
  if (!(cfg.outputKind in HF_PROBLEM)) {
    throw new UsageError(`outputKind "${cfg.outputKind}" is not supported: use single-label or multi-label`);
  }
  if (cfg.labelNames.length !== cfg.numLabels || cfg.numLabels < 1) {
    throw new UsageError(`numLabels ${cfg.numLabels} does not match ${cfg.labelNames.length} labelNames; make them agree`);
  }
  validateConfig(cfg, { source: options.source ?? 'options' });
  return cfg;
}
