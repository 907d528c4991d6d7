import * as fs from 'node:fs';
import { InputError, writeFileAtomic, z } from '@parry/core';

/** Name and version of the results format; bump the version on any incompatible change. */
export const RESULTS_SCHEMA = 'parry-results';
export const RESULTS_VERSION = 1;

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

/** A text example: the original and the adversarial text with labels; the report highlights the changed words. */
export const textExampleSchema = z.object({
  index: z.number().int().nonnegative(),
  label: z.string(),
  prediction: z.string(),
  original: z.string(),
  perEpsilon: z.array(
    z.object({
      epsilon: z.number().nullable(),
      adversarial: z.string(),
      prediction: z.string(),
      success: z.boolean(),
    }),
  ),
});

export const attackSummarySchema = z.object({
  attack: z.string(),
  norm: z.string(),
  options: z.record(z.string(), z.unknown()),
  cleanAccuracy: z.number().min(0).max(1),
  n: z.number().int().nonnegative(),
  perEpsilon: z.array(epsilonSummarySchema),
  wallTimeMs: z.number().nonnegative(),
  gradientEvaluations: z.number().int().nonnegative(),
  forwardEvaluations: z.number().int().nonnegative(),
  /** Compact per-example records: success per epsilon as a string of 0/1, one char per example. */
  successBits: z.array(z.string()).optional(),
  /** Optional examples for the report's image grid. */
  examples: z.array(imageExampleSchema).optional(),
  /** Optional examples for the report's text diff. */
  textExamples: z.array(textExampleSchema).optional(),
  /** Optional, text attacks: TextAttack's summary table (counts, accuracies, perturbed word %, queries) and notes on stand-ins. */
  textSummary: z
    .object({
      successful: z.number().int().nonnegative(),
      failed: z.number().int().nonnegative(),
      skipped: z.number().int().nonnegative(),
      /** Failed attacks stopped by the query budget. */
      budgetExhausted: z.number().int().nonnegative(),
      originalAccuracy: rate,
      accuracyUnderAttack: rate,
      attackSuccessRate: rate,
      avgPerturbedWordPct: z.number().min(0).max(100),
      avgWordsPerInput: z.number().nonnegative(),
      avgQueries: z.number().nonnegative(),
      totalQueries: z.number().int().nonnegative(),
      queriesPerSecond: z.number().nonnegative(),
      notes: z.array(z.string()),
      /** Multi-label models: micro-F1 against the gold labels before and after the attack. */
      microF1Before: rate.optional(),
      microF1After: rate.optional(),
    })
    .optional(),
});

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

export const resultsSchema = z.object({
  schema: z.literal(RESULTS_SCHEMA),
  version: z.literal(RESULTS_VERSION),
  kind: z.enum(['eval', 'train']),
  createdAt: z.string(),
  command: z.array(z.string()),
  seed: z.number().int(),
  environment: z.record(z.string(), z.unknown()),
  dataset: z.object({ name: z.string(), source: z.string(), split: z.string(), n: z.number().int().nonnegative() }),
  model: z
    .object({
      path: z.string().optional(),
      name: z.string(),
      inputShape: z.array(z.number()),
      numClasses: z.number().int(),
      bounds: z.tuple([z.number(), z.number()]),
      labelNames: z.array(z.string()).optional(),
      outputKind: z.string().optional(),
    })
    .passthrough(),
  clean: cleanMetricsSchema.optional(),
  /** Optional, multi-label models: clean metrics per label. */
  perLabel: z.array(labelMetricsSchema).optional(),
  attacks: z.array(attackSummarySchema).default([]),
  training: z
    .object({ hyperparameters: z.record(z.string(), z.unknown()), epochs: z.array(epochRecordSchema) })
    .optional(),
});

export type Results = z.infer<typeof resultsSchema>;
export type ResultsInput = z.input<typeof resultsSchema>;

function describeIssue(error: z.ZodError): string {
  const i = error.issues[0];
  return `${i.path.join('.') || '(root)'}: ${i.message}`;
}

/** Validate a results object; throws an `InputError` naming the source, the field and the problem. */
export function validateResults(data: unknown, source = 'results'): Results {
  const head = data as { schema?: unknown; version?: unknown } | null;
  if (head && typeof head === 'object' && head.schema === RESULTS_SCHEMA && typeof head.version === 'number' && head.version !== RESULTS_VERSION) {
    throw new InputError(`${source} has results version ${head.version}; this Parry reads version ${RESULTS_VERSION} (upgrade Parry or re-run the evaluation)`);
  }
  const r = resultsSchema.safeParse(data);
  if (!r.success) throw new InputError(`${source} is not a valid Parry results file: ${describeIssue(r.error)}`);
  return r.data;
}

/** Validate, then write atomically (readers never see a half-written file). */
export function writeResults(file: string, data: ResultsInput): Results {
  const valid = validateResults(data, 'results to write');
  writeFileAtomic(file, `${JSON.stringify(valid, null, 2)}\n`);
  return valid;
}

/** Read and validate a results file. */
export function readResults(file: string): Results {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new InputError(`results file ${file} not found; run \`parry eval\` to write one`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new InputError(`results file ${file} is not JSON (${(e as Error).message})`);
  }
  return validateResults(data, `results file ${file}`);
}

export type ImageExample = z.infer<typeof imageExampleSchema>;
export type TextExample = z.infer<typeof textExampleSchema>;
export type LabelMetrics = z.infer<typeof labelMetricsSchema>;
export type LabelRobustness = z.infer<typeof labelRobustnessSchema>;

/** Where the committed JSON Schema of this results version lives, relative to the package root. */
export const RESULTS_JSON_SCHEMA_PATH = `schema/results.v${RESULTS_VERSION}.schema.json`;

/** The results format as JSON Schema (draft 2020-12), generated from the zod schema; committed as `schema/results.v1.schema.json`. */
export function resultsJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(resultsSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return {
    $schema: generated.$schema,
    $id: `https://parry.dev/schema/results.v${RESULTS_VERSION}.schema.json`,
    title: `Parry results, version ${RESULTS_VERSION}`,
    description: 'Written by `parry eval` and `parry train`; read by `parry report`. Validated on write and on read.',
    ...generated,
  };
}
