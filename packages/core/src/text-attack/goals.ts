/**
 * The goal vocabulary of Parry, shared by image and text attacks: untargeted, targeted, and the multi-label goals
 * (flip a given label, flip any gold label, remove all gold labels). A {@link GoalSpec} names a goal as data (CLI flag,
 * config file, results); {@link goalFunction} makes the text form and `criterionFor` in criteria.ts the image form.
 *
 * Goal functions: when an attack on one example has succeeded, and a score that search methods increase (higher is
 * closer to the goal). Multi-label goals use per-label probabilities and a decision threshold (default 0.5).
 */
import * as tf from '@tensorflow/tfjs-core';
import { UsageError } from '../errors.js';
import type { OutputKind } from '../model.js';

/** The gold annotation of one example: a class id (single-label) or the gold label ids (multi-label). */
export interface GoldLabels {
  label?: number;
  labels?: readonly number[];
}

/** A goal bound to one example. */
export interface BoundGoal {
  /** Higher is closer to the goal. */
  score(probs: ArrayLike<number>): number;
  success(probs: ArrayLike<number>): boolean;
  /** The same score as a differentiable tfjs op on a `[L]` probability vector (for gradient-guided methods). */
  tfScore(probs: tf.Tensor1D): tf.Scalar;
}

/** A goal function: bind it to an example's gold labels. */
export interface GoalFunction {
  readonly name: string;
  /** The models the goal is for. */
  readonly outputKind: OutputKind;
  bind(gold: GoldLabels, numLabels: number): BoundGoal;
}

const EPS = 1e-7;

function goldLabel(gold: GoldLabels, numLabels: number, goal: string): number {
  const y = gold.label;
  if (y === undefined || !Number.isInteger(y) || y < 0 || y >= numLabels) {
    throw new UsageError(`goal ${goal}: every example needs a class label in 0..${numLabels - 1} (got ${y}); check the data's label column`);
  }
  return y;
}

function goldSet(gold: GoldLabels, numLabels: number, goal: string): number[] {
  const ls = gold.labels;
  if (!ls || ls.some((l) => !Number.isInteger(l) || l < 0 || l >= numLabels)) {
    throw new UsageError(`goal ${goal}: every example needs gold label ids in 0..${numLabels - 1}; use a multi-label data set`);
  }
  return [...new Set(ls)];
}

function maxOther(p: ArrayLike<number>, skip: number): number {
  let m = -Infinity;
  for (let j = 0; j < p.length; j++) if (j !== skip && p[j] > m) m = p[j];
  return m;
}

/** Untargeted: success when the gold class is no longer the top class by more than `margin` (max other - p(gold) > margin). Score 1 - p(gold). */
export function untargetedGoal(options: { margin?: number } = {}): GoalFunction {
  const margin = options.margin ?? 0;
  return {
    name: 'untargeted',
    outputKind: 'single-label',
    bind(gold, L) {
      const y = goldLabel(gold, L, 'untargeted');
      return {
        score: (p) => 1 - p[y],
        success: (p) => (margin > 0 ? maxOther(p, y) - p[y] > margin : maxOther(p, y) > p[y]),
        tfScore: (p) => tf.tidy(() => tf.reshape(tf.neg(tf.log(tf.add(tf.slice(p, [y], [1]), EPS))), []) as tf.Scalar),
      };
    },
  };
}

/** Targeted: success when `target` is the top class by more than `margin`. Score p(target). */
export function targetedGoal(options: { target: number; margin?: number }): GoalFunction {
  const margin = options.margin ?? 0;
  const t = options.target;
  return {
    name: 'targeted',
    outputKind: 'single-label',
    bind(_gold, L) {
      if (!Number.isInteger(t) || t < 0 || t >= L) throw new UsageError(`goal targeted: target ${t} is not a class id in 0..${L - 1}`);
      return {
        score: (p) => p[t],
        success: (p) => p[t] - maxOther(p, t) > margin,
        tfScore: (p) => tf.tidy(() => tf.reshape(tf.log(tf.add(tf.slice(p, [t], [1]), EPS)), []) as tf.Scalar),
      };
    },
  };
}

/**
 * Multi-label, flip one given label: when the label is gold, push its probability below `threshold - margin`;
 * otherwise above `threshold + margin`. Score: the signed distance past the threshold.
 */
export function flipLabelGoal(options: { label: number; threshold?: number; margin?: number }): GoalFunction {
  const thr = options.threshold ?? 0.5;
  const margin = options.margin ?? 0;
  const k = options.label;
  return {
    name: 'flip-label',
    outputKind: 'multi-label',
    bind(gold, L) {
      if (!Number.isInteger(k) || k < 0 || k >= L) throw new UsageError(`goal flip-label: label ${k} is not a label id in 0..${L - 1}`);
      const positive = goldSet(gold, L, 'flip-label').includes(k);
      const score = (p: ArrayLike<number>) => (positive ? thr - p[k] : p[k] - thr);
      return {
        score,
        success: (p) => score(p) > margin,
        tfScore: (p) => tf.tidy(() => tf.reshape(positive ? tf.sub(thr, tf.slice(p, [k], [1])) : tf.sub(tf.slice(p, [k], [1]), thr), []) as tf.Scalar),
      };
    },
  };
}

/** Multi-label, flip any gold label: success when some gold label falls below `threshold - margin`. Score: max over gold of threshold - p. */
export function flipAnyGoldGoal(options: { threshold?: number; margin?: number } = {}): GoalFunction {
  const thr = options.threshold ?? 0.5;
  const margin = options.margin ?? 0;
  return {
    name: 'flip-any-gold',
    outputKind: 'multi-label',
    bind(gold, L) {
      const g = goldSet(gold, L, 'flip-any-gold');
      const score = (p: ArrayLike<number>) => (g.length ? Math.max(...g.map((k) => thr - p[k])) : -Infinity);
      return {
        score,
        success: (p) => g.length > 0 && score(p) > margin,
        tfScore: (p) => tf.tidy(() => tf.max(tf.sub(thr, tf.gather(p, tf.tensor1d(g, 'int32')))) as tf.Scalar),
      };
    },
  };
}

/**
 * Multi-label, remove all gold labels: success when every gold label is below `threshold - margin`.
 * Score: minus the mean excess of the gold probabilities over `threshold - margin` (0 when all are below).
 */
export function removeAllGoldGoal(options: { threshold?: number; margin?: number } = {}): GoalFunction {
  const thr = options.threshold ?? 0.5;
  const margin = options.margin ?? 0;
  const bar = thr - margin;
  return {
    name: 'remove-all-gold',
    outputKind: 'multi-label',
    bind(gold, L) {
      const g = goldSet(gold, L, 'remove-all-gold');
      return {
        // A small bonus for lowering already-removed labels keeps the score informative (ties broken toward lower p).
        score: (p) => (g.length ? -g.reduce((s, k) => s + Math.max(0, p[k] - bar) + 1e-3 * p[k], 0) / g.length : -Infinity),
        success: (p) => g.length > 0 && g.every((k) => p[k] < bar),
        tfScore: (p) => tf.tidy(() => tf.neg(tf.mean(tf.relu(tf.sub(tf.gather(p, tf.tensor1d(g, 'int32')), bar)))) as tf.Scalar),
      };
    },
  };
}

/** Every goal kind, single-label first. */
export const GOAL_KINDS = ['untargeted', 'targeted', 'flip-label', 'flip-any-gold', 'remove-all-gold'] as const;
export type GoalKind = (typeof GOAL_KINDS)[number];
/** Goals for single-label (softmax) models; the others are for multi-label (sigmoid) models. */
export const SINGLE_LABEL_GOALS: readonly GoalKind[] = ['untargeted', 'targeted'];

/** A goal as data. `margin` is the confidence margin; `threshold` the multi-label decision threshold (default 0.5). */
export type GoalSpec =
  | { kind: 'untargeted'; margin?: number }
  | { kind: 'targeted'; target: number; margin?: number }
  | { kind: 'flip-label'; label: number; threshold?: number; margin?: number }
  | { kind: 'flip-any-gold'; threshold?: number; margin?: number }
  | { kind: 'remove-all-gold'; threshold?: number; margin?: number };

/** Is this goal for multi-label models? */
export function isMultiLabelGoal(goal: GoalSpec | GoalKind): boolean {
  return !SINGLE_LABEL_GOALS.includes(typeof goal === 'string' ? goal : goal.kind);
}

/** The default goal of a model: untargeted (single-label) or flip-any-gold (multi-label). */
export function defaultGoal(outputKind: 'single-label' | 'multi-label'): GoalSpec {
  return outputKind === 'multi-label' ? { kind: 'flip-any-gold' } : { kind: 'untargeted' };
}

/**
 * Parse `untargeted`, `targeted:<class>`, `flip-label:<label>`, `flip-any-gold`, `remove-all-gold` (the `--goal` flag).
 * `where` names the input in the error.
 */
export function parseGoal(text: string, where = '--goal'): GoalSpec {
  const [kind, arg, ...rest] = text.trim().split(':');
  const id = (what: string): number => {
    const n = Number(arg);
    if (arg === undefined || arg === '' || !Number.isInteger(n) || n < 0 || rest.length) {
      throw new UsageError(`${where} ${JSON.stringify(text)}: ${kind} needs a ${what} id, e.g. ${kind}:1`);
    }
    return n;
  };
  switch (kind) {
    case 'targeted':
      return { kind, target: id('class') };
    case 'flip-label':
      return { kind, label: id('label') };
    case 'untargeted':
    case 'flip-any-gold':
    case 'remove-all-gold':
      if (arg !== undefined) throw new UsageError(`${where} ${JSON.stringify(text)}: ${kind} takes no argument`);
      return { kind };
    default:
      throw new UsageError(`${where} ${JSON.stringify(text)} is not a goal; use one of untargeted, targeted:<class>, flip-label:<label>, flip-any-gold, remove-all-gold`);
  }
}

/** The text-attack goal function of a goal. */
export function goalFunction(goal: GoalSpec): GoalFunction {
  switch (goal.kind) {
    case 'untargeted':
      return untargetedGoal(goal);
    case 'targeted':
      return targetedGoal(goal);
    case 'flip-label':
      return flipLabelGoal(goal);
    case 'flip-any-gold':
      return flipAnyGoldGoal(goal);
    case 'remove-all-gold':
      return removeAllGoldGoal(goal);
  }
}
