/**
 * Classification metrics for text models: multi-label (per-label thresholds on sigmoid probabilities) and single-label
 * (argmax class ids). Definitions follow scikit-learn with `zero_division=0`: a precision, recall or F1 whose
 * denominator is 0 is 0. Plain arrays in, plain numbers out; no tensors.
 */
import { UsageError } from '@parry/core';

/**
 * Scores of one label. Field names match `labelMetricsSchema` in results.ts (`label`, `support`, `accuracy`,
 * `precision`, `recall`, `f1`), so a `LabelScore` can be stored as a per-label result as is; `predicted` and
 * `threshold` are extra.
 */
export interface LabelScore {
  label: string;
  /** TP / (TP + FP); 0 when nothing was predicted. */
  precision: number;
  /** TP / (TP + FN); 0 when the label has no support. */
  recall: number;
  /** 2 TP / (2 TP + FP + FN); 0 when the label is neither present nor predicted. */
  f1: number;
  /** Examples that carry the label. */
  support: number;
  /** Examples the model assigned the label to. */
  predicted: number;
  /** Fraction of examples whose decision on this label is right, (TP + TN) / n. */
  accuracy: number;
  /** Multi-label only: the probability at or above which the label is predicted. */
  threshold?: number;
}

export interface MultiLabelMetrics {
  /** Pooled over labels: sum TP / (sum TP + sum FP). */
  microPrecision: number;
  microRecall: number;
  microF1: number;
  /** Unweighted means of the per-label scores (every label counts, including ones with no support). */
  macroPrecision: number;
  macroRecall: number;
  macroF1: number;
  /** Fraction of wrong label decisions, (FP + FN) / (samples * numLabels). */
  hammingLoss: number;
  /** Fraction of examples whose whole label set is predicted exactly. */
  subsetAccuracy: number;
  samples: number;
  perLabel: (LabelScore & { threshold: number })[];
}

export interface SingleLabelMetrics {
  accuracy: number;
  macroPrecision: number;
  macroRecall: number;
  macroF1: number;
  perLabel: LabelScore[];
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

function checkNumLabels(numLabels: number, fn: string): void {
  if (!Number.isInteger(numLabels) || numLabels < 1) throw new UsageError(`${fn}: numLabels ${numLabels} must be a positive integer`);
}

function checkLabelNames(labelNames: string[] | undefined, numLabels: number, fn: string): string[] {
  if (labelNames === undefined) return Array.from({ length: numLabels }, (_, i) => String(i));
  if (labelNames.length !== numLabels) {
    throw new UsageError(`${fn}: labelNames has ${labelNames.length} names but numLabels is ${numLabels}; give one name per label`);
  }
  return [...labelNames];
}

/** Checks a `[n * numLabels]` pair of probabilities and 0/1 targets; returns n. */
function checkMultiLabel(probs: ArrayLike<number>, targets: ArrayLike<number>, numLabels: number, fn: string): number {
  checkNumLabels(numLabels, fn);
  if (probs.length !== targets.length) {
    throw new UsageError(`${fn}: probs has ${probs.length} values but targets has ${targets.length}; both must be [samples * numLabels]`);
  }
  if (probs.length === 0) throw new UsageError(`${fn}: no samples (probs and targets are empty)`);
  if (probs.length % numLabels !== 0) {
    throw new UsageError(`${fn}: ${probs.length} values is not a multiple of numLabels ${numLabels}; pass [samples * numLabels] arrays`);
  }
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i];
    if (!(p >= 0 && p <= 1)) {
      throw new UsageError(`${fn}: probs[${i}] = ${p} is outside [0, 1]; pass sigmoid probabilities, not logits`);
    }
    const t = targets[i];
    if (t !== 0 && t !== 1) throw new UsageError(`${fn}: targets[${i}] = ${t} is not 0 or 1; pass multi-hot targets`);
  }
  return probs.length / numLabels;
}

function checkThreshold(t: number, what: string, fn: string): void {
  if (!(typeof t === 'number' && t >= 0 && t <= 1)) throw new UsageError(`${fn}: ${what} ${t} must be in [0, 1]`);
}

function labelScore(label: string, tp: number, fp: number, fn: number, n: number): LabelScore {
  return {
    label,
    precision: ratio(tp, tp + fp),
    recall: ratio(tp, tp + fn),
    f1: ratio(2 * tp, 2 * tp + fp + fn),
    support: tp + fn,
    predicted: tp + fp,
    accuracy: (n - fp - fn) / n,
  };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Multi-label metrics of `probs` against multi-hot `targets`, both `[samples * numLabels]` sample-major. Label `j` is
 * predicted when `prob >= thresholds[j]` (default 0.5 for every label). Micro scores pool TP/FP/FN over labels; macro
 * scores average the per-label scores over all `numLabels` labels, so a label with no support and no predictions counts
 * with precision, recall and F1 0 (scikit-learn's `zero_division=0`).
 */
export function multiLabelMetrics(
  probs: ArrayLike<number>,
  targets: ArrayLike<number>,
  numLabels: number,
  options: { thresholds?: number | number[]; labelNames?: string[] } = {},
): MultiLabelMetrics {
  const fnName = 'multiLabelMetrics';
  const n = checkMultiLabel(probs, targets, numLabels, fnName);
  const names = checkLabelNames(options.labelNames, numLabels, fnName);
  const th = options.thresholds ?? 0.5;
  let thresholds: number[];
  if (typeof th === 'number') {
    checkThreshold(th, 'threshold', fnName);
    thresholds = new Array<number>(numLabels).fill(th);
  } else {
    if (th.length !== numLabels) {
      throw new UsageError(`${fnName}: thresholds has ${th.length} values but numLabels is ${numLabels}; give one per label`);
    }
    th.forEach((t, j) => checkThreshold(t, `thresholds[${j}]`, fnName));
    thresholds = [...th];
  }
  const tp = new Array<number>(numLabels).fill(0);
  const fp = new Array<number>(numLabels).fill(0);
  const fn = new Array<number>(numLabels).fill(0);
  let exact = 0;
  for (let i = 0; i < n; i++) {
    let allRight = true;
    for (let j = 0; j < numLabels; j++) {
      const k = i * numLabels + j;
      const pred = probs[k] >= thresholds[j];
      const gold = targets[k] === 1;
      if (pred && gold) tp[j]++;
      else if (pred) fp[j]++;
      else if (gold) fn[j]++;
      if (pred !== gold) allRight = false;
    }
    if (allRight) exact++;
  }
  const perLabel = names.map((label, j) => ({ ...labelScore(label, tp[j], fp[j], fn[j], n), threshold: thresholds[j] }));
  const TP = tp.reduce((a, b) => a + b, 0);
  const FP = fp.reduce((a, b) => a + b, 0);
  const FN = fn.reduce((a, b) => a + b, 0);
  return {
    microPrecision: ratio(TP, TP + FP),
    microRecall: ratio(TP, TP + FN),
    microF1: ratio(2 * TP, 2 * TP + FP + FN),
    macroPrecision: mean(perLabel.map((s) => s.precision)),
    macroRecall: mean(perLabel.map((s) => s.recall)),
    macroF1: mean(perLabel.map((s) => s.f1)),
    hammingLoss: (FP + FN) / (n * numLabels),
    subsetAccuracy: exact / n,
    samples: n,
    perLabel,
  };
}

/** 0.05, 0.10, ..., 0.95. */
export const DEFAULT_THRESHOLD_GRID: readonly number[] = Array.from({ length: 19 }, (_, i) => (i + 1) / 20);

/**
 * Per-label decision thresholds tuned on a (dev) set: for each label, the grid value whose predictions
 * (`prob >= t`) give that label the highest F1. Ties go to the threshold closest to 0.5, then to the lower one, so a
 * label with no positives (F1 0 everywhere) keeps 0.5 when the grid has it.
 */
export function tuneThresholds(
  probs: ArrayLike<number>,
  targets: ArrayLike<number>,
  numLabels: number,
  options: { grid?: number[]; metric?: 'f1' } = {},
): number[] {
  const fnName = 'tuneThresholds';
  const n = checkMultiLabel(probs, targets, numLabels, fnName);
  if ((options.metric ?? 'f1') !== 'f1') throw new UsageError(`${fnName}: metric "${options.metric}" is not supported; use 'f1'`);
  const grid = options.grid ?? DEFAULT_THRESHOLD_GRID;
  if (grid.length === 0) throw new UsageError(`${fnName}: grid is empty; give at least one threshold in [0, 1]`);
  grid.forEach((t, g) => checkThreshold(t, `grid[${g}]`, fnName));
  const out: number[] = [];
  for (let j = 0; j < numLabels; j++) {
    let best = Number.NaN;
    let bestF1 = -1;
    for (const t of grid) {
      let tp = 0;
      let fp = 0;
      let fn = 0;
      for (let i = 0; i < n; i++) {
        const k = i * numLabels + j;
        const pred = probs[k] >= t;
        const gold = targets[k] === 1;
        if (pred && gold) tp++;
        else if (pred) fp++;
        else if (gold) fn++;
      }
      const f1 = ratio(2 * tp, 2 * tp + fp + fn);
      // Distances to 0.5 within 1e-9 are equal (|0.7 - 0.5| and |0.3 - 0.5| differ in floating point).
      const dt = Math.abs(t - 0.5);
      const db = Math.abs(best - 0.5);
      const closer = dt < db - 1e-9 || (Math.abs(dt - db) <= 1e-9 && t < best);
      if (f1 > bestF1 || (f1 === bestF1 && closer)) {
        best = t;
        bestF1 = f1;
      }
    }
    out.push(best);
  }
  return out;
}

/**
 * Single-label metrics of predicted class ids against gold ids (both length n, ints in `0..numLabels-1`). Per-label
 * scores are one-vs-rest; macro scores average over all `numLabels` labels, a label never present nor predicted
 * counting as 0 (scikit-learn's `average='macro', zero_division=0`).
 */
export function singleLabelMetrics(pred: ArrayLike<number>, gold: ArrayLike<number>, numLabels: number, labelNames?: string[]): SingleLabelMetrics {
  const fnName = 'singleLabelMetrics';
  checkNumLabels(numLabels, fnName);
  const names = checkLabelNames(labelNames, numLabels, fnName);
  if (pred.length !== gold.length) throw new UsageError(`${fnName}: pred has ${pred.length} values but gold has ${gold.length}; they must match`);
  const n = pred.length;
  if (n === 0) throw new UsageError(`${fnName}: no samples (pred and gold are empty)`);
  const tp = new Array<number>(numLabels).fill(0);
  const fp = new Array<number>(numLabels).fill(0);
  const fn = new Array<number>(numLabels).fill(0);
  let right = 0;
  for (let i = 0; i < n; i++) {
    const p = pred[i];
    const g = gold[i];
    for (const [v, what] of [[p, 'pred'], [g, 'gold']] as const) {
      if (!Number.isInteger(v) || v < 0 || v >= numLabels) {
        throw new UsageError(`${fnName}: ${what}[${i}] = ${v} is not a class id in 0..${numLabels - 1}`);
      }
    }
    if (p === g) {
      tp[p]++;
      right++;
    } else {
      fp[p]++;
      fn[g]++;
    }
  }
  const perLabel = names.map((label, j) => labelScore(label, tp[j], fp[j], fn[j], n));
  return {
    accuracy: right / n,
    macroPrecision: mean(perLabel.map((s) => s.precision)),
    macroRecall: mean(perLabel.map((s) => s.recall)),
    macroF1: mean(perLabel.map((s) => s.f1)),
    perLabel,
  };
}
