import * as fs from 'node:fs';
import { InputError, writeFileAtomic, z } from '@parry/core';

/** Name and version of the results format; bump the version on any incompatible change. */
export const RESULTS_SCHEMA = 'parry-results';
export const RESULTS_VERSION = 1;

const stat = z.object({ mean: z.number(), max: z.number(), count: z.number().int() }).nullable();

export const epsilonSummarySchema = z.object({
  epsilon: z.number().nullable(), // null encodes +Infinity (unbounded minimization attacks)
  robustAccuracy: z.number().min(0).max(1),
  attackSuccessRate: z.number().min(0).max(1),
  linf: stat,
  l2: stat,
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
});

export const epochRecordSchema = z.object({
  epoch: z.number().int().nonnegative(),
  loss: z.number(),
  trainAccuracy: z.number().min(0).max(1),
  testAccuracy: z.number().min(0).max(1),
  robustAccuracy: z.number().min(0).max(1).optional(),
  seconds: z.number().nonnegative(),
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
  model: z.object({ path: z.string().optional(), name: z.string(), inputShape: z.array(z.number()), numClasses: z.number().int(), bounds: z.tuple([z.number(), z.number()]) }).passthrough(),
  clean: z.object({ accuracy: z.number().min(0).max(1), n: z.number().int().nonnegative() }).optional(),
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
