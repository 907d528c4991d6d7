/**
 * Results format version 1, frozen as it was written (image and text attacks in one object, text squeezed into the
 * image fields), and its migration to version 2. Nothing here is written any more: `validateResults` reads a v1 file,
 * checks it against this schema and migrates it in memory (see `migrateV1`).
 */
import type { ResultsInput } from './results.js';
import { z } from '@parry/core';

const stat = z.object({ mean: z.number(), max: z.number(), count: z.number().int() }).nullable();

const rate = z.number().min(0).max(1);

/** Multi-label robustness of one label at one epsilon. */
const labelRobustnessSchema = z.object({
  label: z.string(),
  /** Fraction of examples whose decision on this label is still correct under attack. */
  robustAccuracy: rate,
  /** Fraction of examples whose decision on this label the attack flipped. */
  flipRate: rate.optional(),
  f1: rate.optional(),
});

const epsilonSummarySchema = z.object({
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
const labelMetricsSchema = z.object({
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
const imageExampleSchema = z.object({
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
const textExampleSchema = z.object({
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

const attackSummarySchema = z.object({
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

const epochRecordSchema = z.object({
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
const cleanMetricsSchema = z.object({
  accuracy: rate,
  n: z.number().int().nonnegative(),
  microF1: rate.optional(),
  macroF1: rate.optional(),
  hammingLoss: rate.optional(),
  subsetAccuracy: rate.optional(),
});

export const resultsV1Schema = z.object({
  schema: z.literal('parry-results'),
  version: z.literal(1),
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


export type ResultsV1 = z.infer<typeof resultsV1Schema>;

// ---------------------------------------------------------------- migration to version 2

type V1Attack = ResultsV1['attacks'][number];
type V2Input = Extract<ResultsInput, object>;
type OutputKindV2 = 'single-label' | 'multi-label';

/** Every spelling of the output kind that version 1 files carry, to the one spelling of version 2. */
const OUTPUT_KINDS: Record<string, OutputKindV2> = {
  'single-label': 'single-label',
  'multi-label': 'multi-label',
  softmax: 'single-label',
  sigmoid: 'multi-label',
  single_label_classification: 'single-label',
  multi_label_classification: 'multi-label',
  singleLabel: 'single-label',
  multiLabel: 'multi-label',
};
/** Spellings only the text commands wrote (the text model writer and `parry text-attack`). */
const TEXT_ONLY_KINDS = new Set(['softmax', 'sigmoid', 'single_label_classification', 'multi_label_classification']);

/** A v1 attack entry is a text attack when it has the TextAttack summary or the dummy norm `words`. */
export const isV1TextAttack = (a: V1Attack): boolean => a.norm === 'words' || a.textSummary !== undefined;

const WORD_RE = /[\p{L}\p{N}]+(?:['\u2019-][\p{L}\p{N}]+)*/gu;

/**
 * The changed words of a word-substitution attack, with offsets in the original (what core's `TextState.changes`
 * records): word i of the original against word i of the perturbed text. Empty when the word counts differ (v1 did
 * not record the spans; the report diffs the two texts itself).
 */
function wordChanges(original: string, perturbed: string): Array<{ start: number; end: number; before: string; after: string }> {
  const a = [...original.matchAll(WORD_RE)];
  const b = [...perturbed.matchAll(WORD_RE)];
  if (a.length !== b.length) return [];
  return a.flatMap((m, i) => (m[0] === b[i][0] ? [] : [{ start: m.index!, end: m.index! + m[0].length, before: m[0], after: b[i][0] }]));
}

/**
 * Migrate a validated version 1 results object to version 2 (validate the result again). What moves where:
 * - the model: `modality` from its output kind (`sigmoid`/`softmax`/HF `problem_type` spellings, or the dummy
 *   `bounds: [0, 0]` + `inputShape: []`, or any text attack in the file: text; else image); `outputKind` spelled
 *   'single-label' | 'multi-label'; text models drop `bounds`/`inputShape` (`maxLength` from a `[maxLength]` shape),
 *   `numClasses` becomes `numLabels`, missing label names become the label ids;
 * - text attacks (`norm: 'words'` or `textSummary`): the TextAttack summary becomes the entry, `perEpsilon[0].perLabel`
 *   the per-label flip rates, `successBits[0]` the bits, `textExamples` the examples (status from `success`; skipped
 *   ones were never kept). The goal was not recorded in v1: the recipes' default for the output kind (untargeted /
 *   flip-any-gold) is assumed and a note says so;
 * - image attacks gain `modality: 'image'` and lose the text-only fields.
 * `refuse(problem)` is called (and must throw) when a text attack lacks what version 2 needs.
 */
export function migrateV1(r: ResultsV1, refuse: (problem: string) => Error): V2Input {
  const m = r.model;
  const spelled = m.outputKind;
  if (spelled !== undefined && !(spelled in OUTPUT_KINDS)) {
    throw refuse(`model.outputKind "${spelled}" is not one of ${Object.keys(OUTPUT_KINDS).join(', ')}`);
  }
  const kind = spelled === undefined ? undefined : OUTPUT_KINDS[spelled];
  const dummy = m.bounds[0] === 0 && m.bounds[1] === 0 && m.inputShape.length === 0;
  const text = dummy || (spelled !== undefined && TEXT_ONLY_KINDS.has(spelled)) || r.attacks.some(isV1TextAttack);
  const textKind: OutputKindV2 =
    kind ?? (r.perLabel !== undefined || r.attacks.some((a) => a.textSummary?.microF1Before !== undefined || a.perEpsilon.some((e) => e.perLabel)) ? 'multi-label' : 'single-label');
  const model: V2Input['model'] = text
    ? {
        modality: 'text',
        ...(m.path !== undefined ? { path: m.path } : {}),
        name: m.name,
        numLabels: m.numClasses,
        labelNames: m.labelNames ?? Array.from({ length: Math.max(0, m.numClasses) }, (_, k) => String(k)),
        outputKind: textKind,
        ...(m.inputShape.length === 1 && Number.isInteger(m.inputShape[0]) && m.inputShape[0] > 0 ? { maxLength: m.inputShape[0] } : {}),
      }
    : {
        modality: 'image',
        ...(m.path !== undefined ? { path: m.path } : {}),
        name: m.name,
        inputShape: m.inputShape,
        numClasses: m.numClasses,
        bounds: m.bounds,
        ...(m.labelNames !== undefined ? { labelNames: m.labelNames } : {}),
        ...(kind !== undefined ? { outputKind: kind } : {}),
      };
  const attacks = r.attacks.map((a, i): NonNullable<V2Input['attacks']>[number] => {
    if (!isV1TextAttack(a)) {
      const { textExamples: _t, textSummary: _s, ...image } = a;
      return { modality: 'image', ...image };
    }
    const t = a.textSummary;
    if (!t) throw refuse(`attacks.${i} (${a.attack}) is a text attack without its TextAttack summary (textSummary)`);
    const bits = a.successBits?.[0];
    if (bits === undefined) throw refuse(`attacks.${i} (${a.attack}) is a text attack without its per-example successBits`);
    const goal = textKind === 'multi-label' ? { kind: 'flip-any-gold' } : { kind: 'untargeted' };
    const budget = a.options.queryBudget;
    const perLabel = a.perEpsilon[0]?.perLabel?.map((l) => ({ label: l.label, flipRate: l.flipRate ?? 1 - l.robustAccuracy }));
    return {
      modality: 'text',
      attack: a.attack,
      goal,
      options: a.options,
      n: a.n,
      cleanAccuracy: t.originalAccuracy,
      robustAccuracy: t.accuracyUnderAttack,
      attackSuccessRate: t.attackSuccessRate,
      successful: t.successful,
      failed: t.failed,
      skipped: t.skipped,
      budgetExhausted: t.budgetExhausted,
      queryBudget: typeof budget === 'number' && Number.isInteger(budget) && budget >= 1 ? budget : null,
      avgPerturbedWordPct: t.avgPerturbedWordPct,
      avgWordsPerInput: t.avgWordsPerInput,
      avgQueries: t.avgQueries,
      totalQueries: t.totalQueries,
      queriesPerSecond: t.queriesPerSecond,
      gradientCalls: a.gradientEvaluations,
      wallTimeMs: a.wallTimeMs,
      notes: [...t.notes, `read from a version 1 results file, which did not record the goal: ${goal.kind} (the default for ${textKind} models) assumed`],
      ...(perLabel ? { perLabel } : {}),
      ...(t.microF1Before !== undefined ? { microF1Before: t.microF1Before } : {}),
      ...(t.microF1After !== undefined ? { microF1After: t.microF1After } : {}),
      successBits: bits,
      examples: (a.textExamples ?? []).flatMap((x) => {
        const p = x.perEpsilon[0];
        if (!p) return [];
        return [{
          index: x.index,
          label: x.label,
          prediction: x.prediction,
          original: x.original,
          perturbed: p.adversarial,
          perturbedPrediction: p.prediction,
          status: p.success ? ('successful' as const) : ('failed' as const),
          changed: wordChanges(x.original, p.adversarial),
        }];
      }),
    };
  });
  const { model: _m, attacks: _a, version: _v, ...rest } = r;
  return { ...rest, version: 2, model, attacks };
}
