import { UsageError } from '@parry/core';

/** Learning-rate schedule over the whole run, as a function of progress `t` in [0, 1] (fractional epochs / epochs). */
export type ScheduleKind = 'constant' | 'cosine' | 'cyclic' | 'piecewise';

export interface ScheduleOptions {
  /** cyclic: where the triangle peaks, as a fraction of the run (default 0.4 = Wong et al.'s `epochs * 2 // 5`). */
  peakAt?: number;
  /** piecewise: progress fractions at which the rate is multiplied by `factor` (default [0.5, 0.75]). */
  milestones?: number[];
  /** piecewise: multiplier at each milestone (default 0.1). */
  factor?: number;
}

/** Cosine decay from `base` at t = 0 to 0 at t = 1. */
export function learningRateAt(base: number, t: number): number {
  return 0.5 * base * (1 + Math.cos(Math.PI * Math.min(Math.max(t, 0), 1)));
}

/**
 * The learning rate at progress `t` in [0, 1]:
 * - `constant`: `base`;
 * - `cosine`: cosine decay from `base` to 0;
 * - `cyclic`: one triangle 0 -> `base` at `peakAt` -> 0 (Wong et al. 2020, "cyclic" in their code);
 * - `piecewise`: `base * factor^k` after the k-th milestone (Madry et al. / Rice et al. step decay).
 */
export function scheduledRate(kind: ScheduleKind, base: number, t: number, options: ScheduleOptions = {}): number {
  const u = Math.min(Math.max(t, 0), 1);
  switch (kind) {
    case 'constant':
      return base;
    case 'cosine':
      return learningRateAt(base, u);
    case 'cyclic': {
      const peak = options.peakAt ?? 0.4;
      return u <= peak ? (base * u) / peak : (base * (1 - u)) / (1 - peak);
    }
    case 'piecewise': {
      const milestones = options.milestones ?? [0.5, 0.75];
      const passed = milestones.filter((m) => u >= m).length;
      return base * (options.factor ?? 0.1) ** passed;
    }
    default:
      throw new UsageError(`unknown schedule "${String(kind)}"; use constant, cosine, cyclic or piecewise`);
  }
}

export function checkSchedule(kind: ScheduleKind, options: ScheduleOptions = {}): void {
  if (!['constant', 'cosine', 'cyclic', 'piecewise'].includes(kind)) {
    throw new UsageError(`unknown schedule "${String(kind)}"; use constant, cosine, cyclic or piecewise`);
  }
  if (options.peakAt != null && !(options.peakAt > 0 && options.peakAt < 1)) throw new UsageError(`cyclic peakAt must be in (0, 1), got ${options.peakAt}`);
  for (const m of options.milestones ?? []) if (!(m > 0 && m < 1)) throw new UsageError(`piecewise milestones must be in (0, 1), got ${m}`);
  if (options.factor != null && !(options.factor > 0)) throw new UsageError(`piecewise factor must be > 0, got ${options.factor}`);
}
