import * as fs from 'node:fs';
import { InputError, readInputBytes, writeFileAtomic, z } from '@parry/core';

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

/** Base64 as written by Buffer's `toString('base64')` (padding optional). */
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/** Byte length of a base64 string, or -1 when it is not base64. */
function base64Bytes(s: string): number {
  if (!BASE64_RE.test(s)) return -1;
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const body = s.length - pad;
  return Math.floor((body * 3) / 4);
}

/**
 * Checks what the schema cannot: each image example's pixels (`original` and every `adversarial`) are base64 of
 * exactly `product(shape)` bytes, the size the report decodes them at. Returns `path: problem` or undefined.
 */
function checkImageExamples(r: Results): string | undefined {
  for (const [a, attack] of r.attacks.entries()) {
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
  }
  return undefined;
}

/** Validate a results object; throws an `InputError` naming the source, the field and the problem. */
export function validateResults(data: unknown, source = 'results'): Results {
  const head = data as { schema?: unknown; version?: unknown } | null;
  if (head && typeof head === 'object' && head.schema === RESULTS_SCHEMA && typeof head.version === 'number' && head.version !== RESULTS_VERSION) {
    if (head.version > RESULTS_VERSION) {
      throw new InputError(`${source} was written by a newer Parry (results version ${head.version}; this Parry reads version ${RESULTS_VERSION}); upgrade Parry`);
    }
    throw new InputError(`${source} has results version ${head.version}; this Parry reads version ${RESULTS_VERSION} (re-run the evaluation with this Parry)`);
  }
  if (!head || typeof head !== 'object' || Array.isArray(head) || head.schema !== RESULTS_SCHEMA) {
    throw new InputError(`${source} is not a Parry results file (no "schema": "${RESULTS_SCHEMA}"); pass a results.json written by \`parry eval\` or \`parry train\``);
  }
  const r = resultsSchema.safeParse(data);
  if (!r.success) throw new InputError(`${source} is not a valid Parry results file: ${describeIssue(r.error)}`);
  const bad = checkImageExamples(r.data);
  if (bad) throw new InputError(`${source} is not a valid Parry results file: ${bad}`);
  return r.data;
}

/** Validate, then write atomically (readers never see a half-written file). */
export function writeResults(file: string, data: ResultsInput): Results {
  const valid = validateResults(data, 'results to write');
  writeFileAtomic(file, `${JSON.stringify(valid, null, 2)}\n`);
  return valid;
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
