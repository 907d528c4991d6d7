/**
 * Hugging Face `config.json` of BERT-family encoders, normalised to one {@link EncoderConfig} shape (DistilBERT's
 * `dim` / `n_layers` / ... become `hiddenSize` / `numLayers` / ...), and written back with each family's own keys.
 * Absent keys take the defaults of the family's transformers config class (BertConfig, ElectraConfig,
 * DistilBertConfig, RobertaConfig).
 */
import { z } from 'zod';
import { InputError, UsageError } from '../errors.js';
import type { ModelFamily, ProblemType } from './types.js';

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
  problemType: ProblemType;
  numLabels: number;
  /** Label name per class id (`id2label`). */
  labelNames: string[];
  /** The parsed `config.json` as given, so that saving keeps keys Parry does not use. */
  raw: Record<string, unknown>;
}

const PROBLEM_TYPES: readonly ProblemType[] = ['single_label_classification', 'multi_label_classification'];

const ARCHITECTURES: Record<ModelFamily, string> = {
  bert: 'BertForSequenceClassification',
  electra: 'ElectraForSequenceClassification',
  distilbert: 'DistilBertForSequenceClassification',
  roberta: 'RobertaForSequenceClassification',
};

/** Defaults of transformers' config classes, per family. */
type FamilyDefaults = Omit<EncoderConfig, 'family' | 'classifierDropout' | 'problemType' | 'numLabels' | 'labelNames' | 'raw'>;
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
  const labelNames = parseLabels(c.id2label ?? undefined, c.num_labels ?? undefined, source);

  const hiddenSize = (distil ? pick(c.dim, c.hidden_size) : pick(c.hidden_size)) ?? d.hiddenSize;
  const hiddenDropout = (distil ? pick(c.dropout, c.hidden_dropout_prob) : pick(c.hidden_dropout_prob)) ?? d.hiddenDropout;
  const cfg: EncoderConfig = {
    family,
    vocabSize: c.vocab_size ?? d.vocabSize,
    hiddenSize,
    numLayers: (distil ? pick(c.n_layers, c.num_hidden_layers) : pick(c.num_hidden_layers)) ?? d.numLayers,
    numHeads: (distil ? pick(c.n_heads, c.num_attention_heads) : pick(c.num_attention_heads)) ?? d.numHeads,
    intermediateSize: (distil ? pick(c.hidden_dim, c.intermediate_size) : pick(c.intermediate_size)) ?? d.intermediateSize,
    hiddenAct: act as HiddenActivation,
    hiddenDropout,
    attentionDropout:
      (distil ? pick(c.attention_dropout, c.attention_probs_dropout_prob) : pick(c.attention_probs_dropout_prob)) ?? d.attentionDropout,
    classifierDropout: distil ? (c.seq_classif_dropout ?? DISTILBERT_CLASSIF_DROPOUT) : (c.classifier_dropout ?? hiddenDropout),
    maxPositions: c.max_position_embeddings ?? d.maxPositions,
    typeVocabSize: distil ? 0 : (c.type_vocab_size ?? d.typeVocabSize),
    // DistilBERT's LayerNorms use a fixed eps of 1e-12 (not a config key).
    layerNormEps: distil ? d.layerNormEps : (c.layer_norm_eps ?? d.layerNormEps),
    padTokenId: c.pad_token_id ?? d.padTokenId,
    embeddingSize: family === 'electra' ? (c.embedding_size ?? d.embeddingSize) : hiddenSize,
    sinusoidalPosEmbds: distil ? (c.sinusoidal_pos_embds ?? false) : false,
    initializerRange: c.initializer_range ?? d.initializerRange,
    problemType: problemType as ProblemType,
    numLabels: labelNames.length,
    labelNames,
    raw: { ...raw },
  };
  checkConsistency(cfg, (msg) => new InputError(`${source}: ${msg}`));
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

/** Cross-field checks shared by {@link parseHfConfig} and {@link smallConfig}. */
function checkConsistency(cfg: EncoderConfig, fail: (msg: string) => Error): void {
  const heads = cfg.family === 'distilbert' ? 'n_heads' : 'num_attention_heads';
  const hidden = cfg.family === 'distilbert' ? 'dim' : 'hidden_size';
  if (cfg.hiddenSize % cfg.numHeads !== 0) {
    throw fail(`${hidden} ${cfg.hiddenSize} is not a multiple of ${heads} ${cfg.numHeads}; change one of them`);
  }
  if (cfg.padTokenId >= cfg.vocabSize) {
    throw fail(`pad_token_id ${cfg.padTokenId} is not below vocab_size ${cfg.vocabSize}; fix pad_token_id`);
  }
  if (cfg.family === 'roberta' && cfg.maxPositions <= cfg.padTokenId + 1) {
    throw fail(`max_position_embeddings ${cfg.maxPositions} leaves no positions after padding_idx ${cfg.padTokenId}; raise it`);
  }
  if (cfg.labelNames.length !== cfg.numLabels || cfg.numLabels < 1) {
    throw fail(`num_labels ${cfg.numLabels} does not match ${cfg.labelNames.length} label names; make them agree`);
  }
  if (cfg.family !== 'distilbert' && cfg.typeVocabSize < 1) {
    throw fail(`type_vocab_size must be at least 1 for ${cfg.family}; set it to 1 or 2`);
  }
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
    problem_type: cfg.problemType,
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
 * @throws UsageError when the overrides are inconsistent (e.g. hidden size not a multiple of the heads).
 */
export function smallConfig(family: ModelFamily, overrides: EncoderConfigOverrides = {}): EncoderConfig {
  if (!MODEL_FAMILIES.includes(family)) {
    throw new UsageError(`model family ${JSON.stringify(family)} is not supported: use one of ${MODEL_FAMILIES.join(', ')}`);
  }
  const roberta = family === 'roberta';
  const hiddenSize = overrides.hiddenSize ?? 64;
  const hiddenDropout = overrides.hiddenDropout ?? 0.1;
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
    problemType: 'single_label_classification',
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
  if (!PROBLEM_TYPES.includes(cfg.problemType)) {
    throw new UsageError(`problemType "${cfg.problemType}" is not supported: use ${PROBLEM_TYPES.join(' or ')}`);
  }
  checkConsistency(cfg, (msg) => new UsageError(msg));
  return cfg;
}
