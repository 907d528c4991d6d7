import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { InputError, type OutputKind, readInputBytes, writeFileAtomic, z } from '@parry/core';
import { migrateV1, resultsV1Schema } from './results-v1.js';

/** Name and version of the results format; bump the version on any incompatible change. */
export const RESULTS_SCHEMA = 'parry-results';
export const RESULTS_VERSION = 2;

const stat = z.object({ mean: z.number(), max: z.number(), count: z.number().int() }).nullable();

const rate = z.number().min(0).max(1);

/** Multi-label robustness of one label at one epsilon. */
export const labelRobustnessSchema = z.object({
  label: z.string(),
  /** Fraction of examples whose decision on this label is still correct under attack. */
  robustAccuracy: rate,
  /** Fraction of examples whose decision on this label the attack flipped. */
  flipRate: rate.optional(),
  f1: rate.optional(),
});

export const epsilonSummarySchema = z.object({
  epsilon: z.number().nullable(), // null encodes +Infinity (unbounded minimization attacks)
  robustAccuracy: z.number().min(0).max(1),
  attackSuccessRate: z.number().min(0).max(1),
  linf: stat,
  l2: stat,
  /** Optional: per-example perturbation sizes of the successful adversarials (the examples behind `linf`/`l2`), for distributions. */
  sizes: z.object({ linf: z.array(z.number()), l2: z.array(z.number()) }).optional(),
  /** Optional, multi-label models: robust metrics per label at this epsilon. */
  perLabel: z.array(labelRobustnessSchema).optional(),
  /** Composed attacks (AutoAttack): robust accuracy after each stage, 'clean' first. */
  stages: z.array(z.object({ label: z.string(), robustAccuracy: z.number().min(0).max(1) })).optional(),
});

/** Clean metrics of one label of a multi-label model. */
export const labelMetricsSchema = z.object({
  label: z.string(),
  support: z.number().int().nonnegative().optional(),
  accuracy: rate,
  precision: rate.optional(),
  recall: rate.optional(),
  f1: rate.optional(),
  /** Decision threshold of this label (tuned on a dev split, or 0.5). */
  threshold: rate.optional(),
});

/**
 * A few image examples for the report: pixels as base64 of uint8 values (row-major `shape`, e.g. `[28, 28, 1]`),
 * scaled from the model bounds to 0..255, with the true label and the predictions before and after the attack.
 */
export const imageExampleSchema = z.object({
  index: z.number().int().nonnegative(),
  shape: z.array(z.number().int().positive()).min(2).max(3),
  label: z.number().int(),
  prediction: z.number().int(),
  original: z.string(),
  perEpsilon: z.array(
    z.object({
      epsilon: z.number().nullable(),
      adversarial: z.string(),
      prediction: z.number().int(),
      success: z.boolean(),
    }),
  ),
});

/** How a classifier turns logits into decisions: one class (softmax/argmax) or a set of labels (sigmoid/threshold). The one spelling. */
export const outputKindSchema = z.enum(['single-label', 'multi-label']);
// the schema's spelling is core's OutputKind, in both directions
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _outputKindIsCore: Same<z.infer<typeof outputKindSchema>, OutputKind> = true;
void _outputKindIsCore;

/** An attack on an image classifier: robust accuracy and perturbation sizes per epsilon, image examples for the grid. */
export const imageAttackEntrySchema = z.strictObject({
  modality: z.literal('image'),
  attack: z.string(),
  norm: z.string(),
  options: z.record(z.string(), z.unknown()),
  cleanAccuracy: rate,
  n: z.number().int().nonnegative(),
  perEpsilon: z.array(epsilonSummarySchema),
  wallTimeMs: z.number().nonnegative(),
  gradientEvaluations: z.number().int().nonnegative(),
  forwardEvaluations: z.number().int().nonnegative(),
  /** Compact per-example records: success per epsilon as a string of 0/1, one char per example. */
  successBits: z.array(z.string().regex(/^[01]*$/)).optional(),
  /** Optional examples for the report's image grid. */
  examples: z.array(imageExampleSchema).optional(),
});

/** A word changed by a text attack, with character offsets in the original text. */
export const textChangeSchema = z.strictObject({
  start: z.number().int().nonnegative(),
  end: z.number().int().nonnegative(),
  before: z.string(),
  after: z.string(),
});

/**
 * One attacked text: the original text, the words the attack changed, the gold label(s) and the predictions before
 * and after. Compact: `perturbed` is left out when the original with `changed` applied gives it (`perturbedText`).
 */
export const textExampleSchema = z.strictObject({
  index: z.number().int().nonnegative(),
  /** Gold label name (multi-label: the gold names joined with ', ', '(none)' when empty). */
  label: z.string(),
  /** Predicted label name(s) on the original text, joined like `label`. */
  prediction: z.string(),
  original: z.string(),
  /** The adversarial text; absent when it is the original with `changed` applied (files before compact records always have it). */
  perturbed: z.string().optional(),
  perturbedPrediction: z.string(),
  status: z.enum(['successful', 'failed', 'skipped']),
  /** Changed words, in order, with offsets in `original` (no overlaps). */
  changed: z.array(textChangeSchema),
  /** Model queries spent on this example (the original included). */
  queries: z.number().int().nonnegative().optional(),
  /** Probability of the top-scoring label on the original and on the perturbed text (4 significant digits). */
  confidence: z.tuple([rate, rate]).optional(),
});

/** Goal of a text attack as data (core's `GoalSpec`: untargeted, targeted, flip-label, flip-any-gold, remove-all-gold). */
export const goalSchema = z.looseObject({ kind: z.string().min(1) });

/** An attack on a text classifier: TextAttack's summary table, per-label flip rates (multi-label) and text examples. */
export const textAttackEntrySchema = z.strictObject({
  modality: z.literal('text'),
  /** Full plugin name of the recipe. */
  attack: z.string(),
  goal: goalSchema,
  options: z.record(z.string(), z.unknown()),
  n: z.number().int().nonnegative(),
  /** TextAttack's original accuracy: (n - skipped) / n. */
  cleanAccuracy: rate,
  /** TextAttack's accuracy under attack: failed / n. */
  robustAccuracy: rate,
  /** successful / (successful + failed). */
  attackSuccessRate: rate,
  successful: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
  /** Failed attacks stopped by the query budget. */
  budgetExhausted: z.number().int().nonnegative(),
  /** Examples cut by the model's token limit (only the words it saw were attacked); absent in files before it was recorded. */
  truncated: z.number().int().nonnegative().optional(),
  /** Queries allowed per example (the original included); null when unlimited. */
  queryBudget: z.number().int().positive().nullable(),
  avgPerturbedWordPct: z.number().min(0).max(100),
  avgWordsPerInput: z.number().nonnegative(),
  avgQueries: z.number().nonnegative(),
  totalQueries: z.number().int().nonnegative(),
  queriesPerSecond: z.number().nonnegative(),
  gradientCalls: z.number().int().nonnegative(),
  wallTimeMs: z.number().nonnegative(),
  notes: z.array(z.string()),
  /** Multi-label models: how often the attack flipped each label's decision. */
  perLabel: z.array(z.strictObject({ label: z.string(), flipRate: rate })).optional(),
  /** Multi-label models: micro-F1 against the gold labels before and after the attack. */
  microF1Before: rate.optional(),
  microF1After: rate.optional(),
  /** One '0' or '1' per example, in order: did the attack succeed on it. */
  successBits: z.string().regex(/^[01]*$/, 'must be a string of 0 and 1'),
  /** Per-example records in order (every example since compact records; older files: the first 50 attacked ones). */
  examples: z.array(textExampleSchema),
});

/** One attack of a results file, image or text (discriminated by `modality`). */
export const attackEntrySchema = z.discriminatedUnion('modality', [imageAttackEntrySchema, textAttackEntrySchema]);

/** @deprecated The image attack entry; use `imageAttackEntrySchema` (or `attackEntrySchema` for either kind). */
export const attackSummarySchema = imageAttackEntrySchema;

/** The name a user gave the run (`parry eval --name`); reports show it instead of the architecture. */
const runName = z.string().min(1).optional();

/** A SHA-256 digest as 64 lowercase hex digits. */
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 digest (64 lowercase hex digits)');

export const imageModelSchema = z.strictObject({
  modality: z.literal('image'),
  path: z.string().optional(),
  name: z.string(),
  runName,
  /** Shape of one input, e.g. `[28, 28, 1]`. */
  inputShape: z.array(z.number().int().positive()).min(1),
  numClasses: z.number().int().positive(),
  /** Pixel range of the inputs, low < high. */
  bounds: z.tuple([z.number(), z.number()]),
  labelNames: z.array(z.string()).optional(),
  outputKind: outputKindSchema.optional(),
  /**
   * Optional: SHA-256 (hex) of the weights as loaded; shards whose hashes differ are not merged. Image models: of
   * weights.bin (every weight's bytes in model.json's manifest order, the checksum parry.json keeps and loading checks).
   * Text models: of every weight tensor by name in sorted order (name, shape, float32 bytes). Independent of the path.
   */
  sha256: sha256Hex.optional(),
});

export const textModelSchema = z.strictObject({
  modality: z.literal('text'),
  path: z.string().optional(),
  name: z.string(),
  runName,
  numLabels: z.number().int().positive(),
  /** One name per label, in label-id order. */
  labelNames: z.array(z.string()),
  outputKind: outputKindSchema,
  /** Tokens per input the model was run with. */
  maxLength: z.number().int().positive().optional(),
  /** Architecture family (bert, distilbert, roberta, ...). */
  family: z.string().optional(),
  /**
   * Optional: SHA-256 (hex) of the weights as loaded; shards whose hashes differ are not merged. Image models: of
   * weights.bin (every weight's bytes in model.json's manifest order, the checksum parry.json keeps and loading checks).
   * Text models: of every weight tensor by name in sorted order (name, shape, float32 bytes). Independent of the path.
   */
  sha256: sha256Hex.optional(),
});

/** The evaluated model, image or text (discriminated by `modality`). */
export const modelInfoSchema = z.discriminatedUnion('modality', [imageModelSchema, textModelSchema]);

export const epochRecordSchema = z.object({
  epoch: z.number().int().nonnegative(),
  loss: z.number(),
  /** Absent for text models (not measured on the training set). */
  trainAccuracy: z.number().min(0).max(1).optional(),
  /** Held-out accuracy (text: dev accuracy; multi-label: subset accuracy). */
  testAccuracy: z.number().min(0).max(1),
  robustAccuracy: z.number().min(0).max(1).optional(),
  /** Multi-label text models: dev micro/macro F1 at threshold 0.5. */
  microF1: rate.optional(),
  macroF1: rate.optional(),
  seconds: z.number().nonnegative(),
  /** Wall time of the training steps alone. */
  trainSeconds: z.number().nonnegative().optional(),
});

/** Clean metrics on the evaluated split; the F1 fields are set for text models (multi-label: with per-label thresholds). */
export const cleanMetricsSchema = z.object({
  accuracy: rate,
  n: z.number().int().nonnegative(),
  microF1: rate.optional(),
  macroF1: rate.optional(),
  hammingLoss: rate.optional(),
  subsetAccuracy: rate.optional(),
});

/** How many texts of one split exceeded the model's token limit, and how many of their words reached the model. */
export const truncationCountSchema = z.strictObject({
  /** `train`, `dev`, `test`, or the name of a given data set. */
  split: z.string(),
  n: z.number().int().nonnegative(),
  /** Texts with more tokens than the limit allows (the special tokens included). */
  truncated: z.number().int().nonnegative(),
  /** Words (letters/digits runs, as the text attacks split them) in all `n` texts. */
  words: z.number().int().nonnegative(),
  /** Of `words`, those with at least one token kept. */
  visibleWords: z.number().int().nonnegative(),
  /** visibleWords / words (1 when there are no words). */
  visibleWordShare: rate,
});

/** Text models: the truncation strategy and token limit, with counts per split (train: train and dev; eval: the split evaluated). */
export const truncationSectionSchema = z.strictObject({
  /** `head` keeps the first tokens, `tail` the last, `head+tail` a quarter of the budget from the start and the rest from the end. */
  strategy: z.enum(['head', 'tail', 'head+tail']),
  maxLength: z.number().int().positive(),
  splits: z.array(truncationCountSchema),
});

/**
 * One shard of a sharded evaluation (`parry eval --shard i/N`): which contiguous block of the run's examples it
 * attacked, and the exact per-example values `parry merge` needs to rebuild the unsharded summaries. Absent in
 * unsharded and merged files.
 */
export const shardSectionSchema = z.strictObject({
  /** 0-based shard index, below `count`. */
  index: z.number().int().nonnegative(),
  count: z.number().int().positive(),
  /** Examples of the whole run (clean metrics are measured on all of them in every shard). */
  total: z.number().int().nonnegative(),
  /** The block attacked: examples `start` (included) to `end` (excluded) of the whole run. */
  start: z.number().int().nonnegative(),
  end: z.number().int().nonnegative(),
  /** Blocks are whole units of this many examples (image: the attack batch size; text: 1). */
  unit: z.number().int().positive(),
  /** Image models: examples the whole run keeps per attack for the report's grid (the first ones of the run). */
  imageExamples: z.number().int().nonnegative().optional(),
  /** Image models: clean correctness of every example of the whole run, one 0/1 per example. */
  cleanBits: z.string().regex(/^[01]*$/).optional(),
  /** Per attack, in the order of `attacks`: image: exact sizes of the fooled examples per epsilon; text: per-example counts the compact records leave out. */
  attacks: z.array(
    z.union([
      z.strictObject({ perEpsilon: z.array(z.strictObject({ linf: z.array(z.number()), l2: z.array(z.number()) })) }),
      z.strictObject({
        records: z.array(
          z.strictObject({
            words: z.number().int().nonnegative(),
            visibleWords: z.number().int().nonnegative().optional(),
            visibleTailWords: z.number().int().nonnegative().optional(),
            gradientCalls: z.number().int().nonnegative(),
            budget: z.literal(true).optional(),
          }),
        ),
      }),
    ]),
  ),
});

export const resultsSchema = z.object({
  schema: z.literal(RESULTS_SCHEMA),
  version: z.literal(RESULTS_VERSION),
  kind: z.enum(['eval', 'train']),
  createdAt: z.string(),
  command: z.array(z.string()),
  seed: z.number().int(),
  environment: z.record(z.string(), z.unknown()),
  dataset: z.object({
    name: z.string(),
    source: z.string(),
    split: z.string(),
    n: z.number().int().nonnegative(),
    /**
     * Optional: SHA-256 (hex) of the run's N evaluated examples in order (all of them, also in a shard's output):
     * images: pixels as float32 then labels as int32; text: each example's text, pair and label(s).
     */
    sha256: sha256Hex.optional(),
  }),
  model: modelInfoSchema,
  clean: cleanMetricsSchema.optional(),
  /** Optional, multi-label models: clean metrics per label. */
  perLabel: z.array(labelMetricsSchema).optional(),
  attacks: z.array(attackEntrySchema).default([]),
  /** Optional, text models: texts cut by the token limit and the share of words that reached the model. */
  truncation: truncationSectionSchema.optional(),
  training: z
    .object({ hyperparameters: z.record(z.string(), z.unknown()), epochs: z.array(epochRecordSchema) })
    .optional(),
  /** Set in the output of one shard of a sharded evaluation (see `shardSectionSchema`). */
  shard: shardSectionSchema.optional(),
});

export type Results = z.infer<typeof resultsSchema>;
export type ResultsInput = z.input<typeof resultsSchema>;
export type ImageModelInfo = z.infer<typeof imageModelSchema>;
export type TextModelInfo = z.infer<typeof textModelSchema>;
export type ModelInfo = z.infer<typeof modelInfoSchema>;
export type ImageAttackEntry = z.infer<typeof imageAttackEntrySchema>;
export type TextAttackEntry = z.infer<typeof textAttackEntrySchema>;
export type AttackEntry = z.infer<typeof attackEntrySchema>;
export type TextChange = z.infer<typeof textChangeSchema>;
export type TruncationCount = z.infer<typeof truncationCountSchema>;
export type TruncationSection = z.infer<typeof truncationSectionSchema>;
export type ShardSection = z.infer<typeof shardSectionSchema>;

function describeIssue(error: z.ZodError): string {
  const i = error.issues[0];
  const where = i.path.join('.') || '(root)';
  // a discriminated union with a missing or unknown tag (the path ends at the tag): say which tags there are
  if (i.code === 'invalid_union' && (i as { note?: string }).note === 'No matching discriminator') return `${where}: must be "image" or "text"`;
  return `${where}: ${i.message.replace(/\s*\n\s*/g, ' ')}`;
}

/** Base64 as written by Buffer's `toString('base64')` (padding optional). */
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/** Byte length of a base64 string, or -1 when it is not base64. */
function base64Bytes(s: string): number {
  if (!BASE64_RE.test(s)) return -1;
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const body = s.length - pad;
  return Math.floor((body * 3) / 4);
}

/** Each image example's pixels (`original` and every `adversarial`) are base64 of exactly `product(shape)` bytes, the size the report decodes them at. */
function checkImageExamples(attack: ImageAttackEntry, a: number): string | undefined {
  for (const [k, ex] of (attack.examples ?? []).entries()) {
    const need = ex.shape.reduce((p, d) => p * d, 1);
    const where = `attacks.${a}.examples.${k}`;
    const check = (field: string, b64: string): string | undefined => {
      const got = base64Bytes(b64);
      if (got < 0) return `${where}.${field}: not base64 (expected ${need} uint8 pixels as base64)`;
      if (got !== need) return `${where}.${field}: ${got} bytes, but shape [${ex.shape.join(', ')}] needs ${need}`;
      return undefined;
    };
    const bad = check('original', ex.original) ?? ex.perEpsilon.map((p, j) => check(`perEpsilon.${j}.adversarial`, p.adversarial)).find((m) => m !== undefined);
    if (bad) return bad;
  }
  return undefined;
}

/** The counts of a text attack agree with each other and with its per-example bits. */
function checkTextAttack(t: TextAttackEntry, a: number): string | undefined {
  const where = `attacks.${a}`;
  if (t.successful + t.failed + t.skipped !== t.n) return `${where}: successful + failed + skipped is ${t.successful + t.failed + t.skipped}, but n is ${t.n}`;
  if (t.budgetExhausted > t.failed) return `${where}.budgetExhausted: ${t.budgetExhausted} is more than the ${t.failed} failed attacks`;
  if (t.successBits.length !== t.n) return `${where}.successBits: ${t.successBits.length} characters, but n is ${t.n} (one per example)`;
  const ones = [...t.successBits].filter((c) => c === '1').length;
  if (ones !== t.successful) return `${where}.successBits: ${ones} successes, but successful is ${t.successful}`;
  for (const [k, x] of t.examples.entries()) {
    const bad = checkChanges(x);
    if (bad) return `${where}.examples.${k}.changed: ${bad}`;
  }
  return undefined;
}

/** A compact record's changes must rebuild its perturbed text: in order, inside the original, each `before` the text it replaces. */
function checkChanges(x: TextExample): string | undefined {
  if (x.perturbed !== undefined) return undefined;
  let end = 0;
  for (const [j, c] of x.changed.entries()) {
    if (c.start < end || c.end < c.start || c.end > x.original.length) return `change ${j} (${c.start}..${c.end}) is out of order or outside the original text (${x.original.length} characters), and perturbed is absent`;
    if (x.original.slice(c.start, c.end) !== c.before) return `change ${j}: before is not the original text at ${c.start}..${c.end}, and perturbed is absent`;
    end = c.end;
  }
  return undefined;
}

/** The perturbed text of a text example: as stored, or the original with its changed words applied (compact records). */
export function perturbedText(x: Pick<TextExample, 'original' | 'perturbed' | 'changed'>): string {
  if (x.perturbed !== undefined) return x.perturbed;
  let out = '';
  let pos = 0;
  for (const c of x.changed) {
    out += x.original.slice(pos, c.start) + c.after;
    pos = c.end;
  }
  return out + x.original.slice(pos);
}

const article = (w: string) => (/^[aeiou]/.test(w) ? 'an' : 'a');

/**
 * Checks what the schema cannot: the model and every attack are of the same modality, image bounds are a range, a
 * text model names each label, image example bytes match their shape, text attack counts add up.
 * Returns `path: problem` or undefined.
 */
function checkConsistency(r: Results): string | undefined {
  const m = r.model;
  if (m.modality === 'image' && !(m.bounds[0] < m.bounds[1])) return `model.bounds: [${m.bounds.join(', ')}] is not a pixel range (low < high)`;
  if (m.modality === 'text' && m.labelNames.length !== m.numLabels) return `model.labelNames: ${m.labelNames.length} names, but numLabels is ${m.numLabels}`;
  for (const [a, attack] of r.attacks.entries()) {
    if (attack.modality !== m.modality) return `attacks.${a}.modality: ${article(attack.modality)} ${attack.modality} attack on ${article(m.modality)} ${m.modality} model (model.modality is "${m.modality}")`;
    const bad = attack.modality === 'image' ? checkImageExamples(attack, a) : checkTextAttack(attack, a);
    if (bad) return bad;
  }
  return undefined;
}

const rerun = (kind: unknown) => `re-run \`parry ${kind === 'train' ? 'train' : 'eval'}\` to write a v${RESULTS_VERSION} file`;

/** Parse and check a version 2 object; `fail` turns `path: problem` into the error. */
function parseV2(data: unknown, fail: (problem: string) => InputError): Results {
  const r = resultsSchema.safeParse(data);
  if (!r.success) throw fail(describeIssue(r.error));
  const bad = checkConsistency(r.data);
  if (bad) throw fail(bad);
  return r.data;
}

/** A version 1 object, checked against the v1 schema and migrated to version 2 in memory (see `migrateV1`). */
function readV1(data: unknown, source: string): Results {
  const kind = (data as { kind?: unknown }).kind;
  const v1 = resultsV1Schema.safeParse(data);
  if (!v1.success) throw new InputError(`${source} is not a valid Parry results file (results version 1): ${describeIssue(v1.error)}`);
  const cannot = (problem: string) => new InputError(`${source} is a version 1 results file that cannot be read as version ${RESULTS_VERSION} (${problem}); ${rerun(kind)}`);
  return parseV2(migrateV1(v1.data, (problem) => cannot(problem)), cannot);
}

/**
 * Validate a results object; throws an `InputError` naming the source, the field and the problem. Version 2 is read
 * as is; version 1 (image and text in one shape) is migrated to version 2 in memory, or refused in one line when it
 * cannot be (a text attack without its TextAttack summary); newer versions are refused.
 */
export function validateResults(data: unknown, source = 'results'): Results {
  const head = data as { schema?: unknown; version?: unknown; kind?: unknown } | null;
  if (!head || typeof head !== 'object' || Array.isArray(head) || head.schema !== RESULTS_SCHEMA) {
    throw new InputError(`${source} is not a Parry results file (no "schema": "${RESULTS_SCHEMA}"); pass a results.json written by \`parry eval\` or \`parry train\``);
  }
  const v = head.version;
  if (v === 1) return readV1(data, source);
  if (v !== RESULTS_VERSION) {
    if (typeof v === 'number' && v > RESULTS_VERSION) {
      throw new InputError(`${source} was written by a newer Parry (results version ${v}; this Parry reads versions 1 to ${RESULTS_VERSION}); upgrade Parry`);
    }
    throw new InputError(`${source} has results version ${JSON.stringify(v) ?? 'undefined'}; this Parry reads versions 1 to ${RESULTS_VERSION}; ${rerun(head.kind)}`);
  }
  return parseV2(data, (problem) => new InputError(`${source} is not a valid Parry results file: ${problem}`));
}

/** Validate, then write atomically (readers never see a half-written file). Writes version 2 only: a v1 object is refused. */
export function writeResults(file: string, data: ResultsInput): Results {
  const version = (data as { version?: unknown } | null)?.version;
  if (version !== RESULTS_VERSION) {
    throw new InputError(`results to write have version ${JSON.stringify(version) ?? 'undefined'}; Parry writes results version ${RESULTS_VERSION} only (build them with the v${RESULTS_VERSION} types of @parry/metrics)`);
  }
  const valid = validateResults(data, 'results to write');
  writeFileAtomic(file, formatResults(valid));
  return valid;
}

/**
 * The text of a results file: indented JSON, except that each per-example record of a text attack takes one line
 * (compact records stay compact on disk: a 500-example attack is 500 lines, not 10,000).
 */
export function formatResults(results: Results): string {
  const records: string[][] = [];
  const token = randomUUID(); // placeholders no string in the data can spell
  const json = JSON.stringify(
    results,
    function (this: unknown, key: string, value: unknown) {
      if (key === 'examples' && Array.isArray(value) && (this as { modality?: unknown }).modality === 'text') {
        records.push(value.map((x) => JSON.stringify(x)));
        return `${token}:${records.length - 1}`;
      }
      return value;
    },
    2,
  );
  const text = json.replace(new RegExp(`^( *)"examples": "${token}:(\\d+)"`, 'gm'), (_m, indent: string, k: string) => {
    const lines = records[Number(k)];
    return lines.length ? `${indent}"examples": [\n${lines.map((l) => `${indent}  ${l}`).join(',\n')}\n${indent}]` : `${indent}"examples": []`;
  });
  return `${text}\n`;
}

/** Largest results file read (256 MiB; a full eval with examples is a few MB). */
export const MAX_RESULTS_BYTES = 256 * 1024 ** 2;

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ').trim();
const RUN = '`parry eval` or `parry train`';

/** The bytes of a results file, or an `InputError` that says exactly why not (missing, a directory, unreadable, ...). */
function readResultsBytes(file: string): Buffer {
  return readInputBytes(file, `results file ${file}`, `a results.json written by ${RUN}`, MAX_RESULTS_BYTES, {
    notFound: `run ${RUN} to write one`,
    directory: () => isDirectory(file),
    tooLarge: { limitFor: 'results files', fix: 'is it really a results.json?' },
  });
}

function isDirectory(dir: string): InputError {
  const inside = ['results.json', 'train-results.json'].map((n) => `${dir.replace(/\/+$/, '')}/${n}`).filter((p) => fs.existsSync(p));
  const fix = inside.length ? `pass ${inside.join(' or ')}` : `pass a results.json written by ${RUN}`;
  return new InputError(`results file ${dir} is a directory; ${fix}`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Read and validate a results file. Each failure is one `InputError` line naming the file and the fix: not found, a
 * directory, unreadable, not a regular file, too large, empty, not UTF-8, truncated, not JSON, not a Parry results
 * file, a newer or older results version, or the first field that does not match the schema.
 */
export function readResults(file: string): Results {
  const bytes = readResultsBytes(file);
  const what = `results file ${file}`;
  if (bytes.length === 0) throw new InputError(`${what} is empty; re-run ${RUN} to write it again`);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new InputError(`${what} is not valid UTF-8; pass a results.json written by ${RUN}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    const msg = oneLine((e as Error).message);
    // The parser stopped at the end of the text: a valid start that was cut off (an interrupted copy or download).
    const at = /at position (\d+)/.exec(msg);
    const atEnd = /Unexpected end of JSON input/.test(msg) || (at !== null && Number(at[1]) >= text.trimEnd().length);
    if (text.trim() !== '' && atEnd) {
      throw new InputError(`${what} is truncated (the JSON ends before it is complete); re-run ${RUN} to write it again`);
    }
    throw new InputError(`${what} is not JSON (${msg}); pass a results.json written by ${RUN}`);
  }
  return validateResults(data, what);
}

export type ImageExample = z.infer<typeof imageExampleSchema>;
export type TextExample = z.infer<typeof textExampleSchema>;
export type LabelMetrics = z.infer<typeof labelMetricsSchema>;
export type LabelRobustness = z.infer<typeof labelRobustnessSchema>;

/** Where the committed JSON Schema of this results version lives, relative to the package root. */
export const RESULTS_JSON_SCHEMA_PATH = `schema/results.v${RESULTS_VERSION}.schema.json`;

/** The results format as JSON Schema (draft 2020-12), generated from the zod schema; committed as `schema/results.v2.schema.json` (`schema/results.v1.schema.json` documents the format that `validateResults` migrates). */
export function resultsJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(resultsSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return {
    $schema: generated.$schema,
    $id: `https://parry.dev/schema/results.v${RESULTS_VERSION}.schema.json`,
    title: `Parry results, version ${RESULTS_VERSION}`,
    description: 'Written by `parry eval` and `parry train`; read by `parry report`. Validated on write and on read. `model` and each of `attacks` are discriminated by `modality` ("image" or "text").',
    ...generated,
  };
}
