import { describe, expect, it } from 'vitest';
import { UsageError } from '@parry/core';
import { DEFAULT_THRESHOLD_GRID, multiLabelMetrics, singleLabelMetrics, tuneThresholds } from './multilabel.js';
import { labelMetricsSchema, validateResults } from './results.js';

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a UsageError, none was thrown');
}

describe('multiLabelMetrics', () => {
  // The multi-label example of scikit-learn's f1_score docs, as probabilities (0.9 = predicted at 0.5, 0.1 = not):
  //   y_true = [[0,0,0],[1,1,1],[0,1,1]]   y_pred = [[0,0,0],[1,1,1],[1,1,0]]
  // By hand: label 0: TP 1 FP 1 FN 0 -> P 1/2, R 1, F1 2/3; label 1: TP 2 -> P = R = F1 = 1;
  //          label 2: TP 1 FP 0 FN 1 -> P 1, R 1/2, F1 2/3 (sklearn, average=None: [0.667, 1, 0.667]).
  // Micro: TP 4 FP 1 FN 1 -> P = R = F1 = 4/5. Macro F1 = (2/3 + 1 + 2/3) / 3 = 7/9. Macro P = (1/2 + 1 + 1) / 3 = 5/6.
  // Hamming: 2 wrong of 9 decisions. Subset accuracy: rows 0 and 1 exact -> 2/3.
  const yTrue = [0, 0, 0, 1, 1, 1, 0, 1, 1];
  const probs = [0.1, 0.1, 0.1, 0.9, 0.9, 0.9, 0.9, 0.9, 0.1];

  it('matches the hand-computed sklearn example', () => {
    const m = multiLabelMetrics(probs, yTrue, 3, { labelNames: ['a', 'b', 'c'] });
    expect(m.perLabel.map((s) => s.f1)).toEqual([2 / 3, 1, 2 / 3].map((v) => expect.closeTo(v, 12)));
    expect(m.perLabel.map((s) => s.precision)).toEqual([0.5, 1, 1]);
    expect(m.perLabel.map((s) => s.recall)).toEqual([1, 1, 0.5]);
    expect(m.perLabel.map((s) => [s.label, s.support, s.predicted, s.threshold])).toEqual([
      ['a', 1, 2, 0.5],
      ['b', 2, 2, 0.5],
      ['c', 2, 1, 0.5],
    ]);
    expect(m.perLabel.map((s) => s.accuracy)).toEqual([2 / 3, 1, 2 / 3].map((v) => expect.closeTo(v, 12)));
    expect(m.microPrecision).toBeCloseTo(0.8, 12);
    expect(m.microRecall).toBeCloseTo(0.8, 12);
    expect(m.microF1).toBeCloseTo(0.8, 12);
    expect(m.macroF1).toBeCloseTo(7 / 9, 12);
    expect(m.macroPrecision).toBeCloseTo(5 / 6, 12);
    expect(m.macroRecall).toBeCloseTo(5 / 6, 12);
    expect(m.hammingLoss).toBeCloseTo(2 / 9, 12);
    expect(m.subsetAccuracy).toBeCloseTo(2 / 3, 12);
    expect(m.samples).toBe(3);
  });

  it('matches the sklearn docs examples for hamming_loss and multi-label accuracy_score', () => {
    // hamming_loss([[0,1],[1,1]], zeros) = 0.75; accuracy_score([[0,1],[1,1]], ones) = 0.5.
    expect(multiLabelMetrics([0, 0, 0, 0], [0, 1, 1, 1], 2).hammingLoss).toBe(0.75);
    expect(multiLabelMetrics([1, 1, 1, 1], [0, 1, 1, 1], 2).subsetAccuracy).toBe(0.5);
  });

  it('applies per-label thresholds with prob >= threshold', () => {
    // Two samples, two labels. Thresholds [0.3, 0.8]: sample 0 -> [1 (0.3>=0.3), 0 (0.7<0.8)], sample 1 -> [0, 1].
    const m = multiLabelMetrics([0.3, 0.7, 0.2, 0.8], [1, 0, 0, 1], 2, { thresholds: [0.3, 0.8] });
    expect(m.subsetAccuracy).toBe(1);
    expect(m.perLabel.map((s) => s.threshold)).toEqual([0.3, 0.8]);
    // At the default 0.5, sample 0 misses label 0 and gains label 1 (FN, FP); sample 1 is exact (TP): micro F1 2/4.
    const d = multiLabelMetrics([0.3, 0.7, 0.2, 0.8], [1, 0, 0, 1], 2);
    expect(d.microF1).toBeCloseTo(0.5, 12);
    expect(d.subsetAccuracy).toBe(0.5);
  });

  it('counts a label with no support and no predictions as F1 0 in the macro mean (zero_division=0)', () => {
    // Label 1 never occurs and is never predicted; label 0 is perfect. Macro F1 = (1 + 0) / 2; micro F1 = 1.
    const m = multiLabelMetrics([0.9, 0.1, 0.1, 0.1], [1, 0, 0, 0], 2);
    expect(m.perLabel[1]).toMatchObject({ precision: 0, recall: 0, f1: 0, support: 0, predicted: 0, accuracy: 1 });
    expect(m.macroF1).toBe(0.5);
    expect(m.microF1).toBe(1);
    expect(m.hammingLoss).toBe(0);
    // Nothing predicted at all: micro precision 0, not NaN.
    const none = multiLabelMetrics([0.1, 0.1], [1, 0], 2);
    expect(none.microPrecision).toBe(0);
    expect(none.microF1).toBe(0);
  });

  it('per-label scores fit the results.json labelMetricsSchema', () => {
    const m = multiLabelMetrics(probs, yTrue, 3, { labelNames: ['a', 'b', 'c'] });
    // Every field of the stored per-label record is a LabelScore field with the same name, and survives parsing as is.
    const keys = Object.keys(labelMetricsSchema.shape);
    expect(keys).toEqual(expect.arrayContaining(['label', 'support', 'accuracy', 'precision', 'recall', 'f1']));
    for (const score of m.perLabel) {
      for (const k of keys) expect(score).toHaveProperty(k);
      const stored = labelMetricsSchema.parse(score) as Record<string, unknown>;
      expect(stored).toEqual(Object.fromEntries(keys.map((k) => [k, (score as unknown as Record<string, unknown>)[k]])));
    }
    const results = validateResults({
      schema: 'parry-results',
      version: 1,
      kind: 'eval',
      createdAt: '2025-01-01T00:00:00Z',
      command: [],
      seed: 0,
      environment: {},
      dataset: { name: 'x', source: 'x', split: 'dev', n: 3 },
      model: { name: 'm', inputShape: [128], numClasses: 3, bounds: [0, 1] },
      perLabel: m.perLabel,
    });
    expect(results.perLabel?.map((l) => l.f1)).toEqual(m.perLabel.map((s) => s.f1));
  });

  it('validates its inputs with UsageError', () => {
    expect(usageMessage(() => multiLabelMetrics([0.5], [1, 0], 2))).toMatch(/probs has 1 values but targets has 2/);
    expect(usageMessage(() => multiLabelMetrics([0.5, 0.5, 0.5], [1, 0, 1], 2))).toMatch(/not a multiple of numLabels 2/);
    expect(usageMessage(() => multiLabelMetrics([], [], 2))).toMatch(/no samples/);
    expect(usageMessage(() => multiLabelMetrics([2.5, 0], [1, 0], 2))).toMatch(/probs\[0\] = 2\.5 is outside \[0, 1\]; pass sigmoid probabilities/);
    expect(usageMessage(() => multiLabelMetrics([0.5, Number.NaN], [1, 0], 2))).toMatch(/probs\[1\] = NaN/);
    expect(usageMessage(() => multiLabelMetrics([0.5, 0.5], [1, 2], 2))).toMatch(/targets\[1\] = 2 is not 0 or 1/);
    expect(usageMessage(() => multiLabelMetrics([0.5, 0.5], [1, 0], 0))).toMatch(/numLabels 0 must be a positive integer/);
    expect(usageMessage(() => multiLabelMetrics([0.5, 0.5], [1, 0], 2, { thresholds: 1.5 }))).toMatch(/threshold 1\.5 must be in \[0, 1\]/);
    expect(usageMessage(() => multiLabelMetrics([0.5, 0.5], [1, 0], 2, { thresholds: [0.5] }))).toMatch(/thresholds has 1 values/);
    expect(usageMessage(() => multiLabelMetrics([0.5, 0.5], [1, 0], 2, { thresholds: [0.5, -0.1] }))).toMatch(/thresholds\[1\] -0\.1/);
    expect(usageMessage(() => multiLabelMetrics([0.5, 0.5], [1, 0], 2, { labelNames: ['x'] }))).toMatch(/labelNames has 1 names/);
  });
});

describe('tuneThresholds', () => {
  it('default grid is 0.05..0.95 in steps of 0.05', () => {
    expect(DEFAULT_THRESHOLD_GRID).toHaveLength(19);
    expect(DEFAULT_THRESHOLD_GRID[0]).toBe(0.05);
    expect(DEFAULT_THRESHOLD_GRID[9]).toBe(0.5);
    expect(DEFAULT_THRESHOLD_GRID[18]).toBe(0.95);
  });

  it('picks the per-label threshold with the best F1; ties go to the one closest to 0.5', () => {
    // One label, 4 samples: probs 0.2 (pos), 0.35 (neg), 0.6 (pos), 0.9 (pos). Grid [0.1, 0.3, 0.5, 0.7]:
    //   t=0.1: all predicted -> TP 3 FP 1 FN 0 -> F1 6/7;   t=0.3: {0.35,0.6,0.9} -> TP 2 FP 1 FN 1 -> 4/6
    //   t=0.5: {0.6,0.9} -> TP 2 FP 0 FN 1 -> 4/5;          t=0.7: {0.9} -> TP 1 FN 2 -> 2/4.   Best: 0.1.
    // Label 2 (second column) has no positives: F1 0 for every t -> tie -> 0.5.
    // Label 3: probs 0.4 (pos), 0.6 (pos), 0.1 (neg), 0.1 (neg): t=0.1 -> FP 2 -> F1 4/6; t=0.3 -> F1 1;
    //   t=0.5 -> TP 1 FN 1 -> 2/3; t=0.7 -> 0. Best: 0.3.
    const probs = [0.2, 0.3, 0.4, 0.35, 0.9, 0.6, 0.6, 0.2, 0.1, 0.9, 0.2, 0.1];
    const targets = [1, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0];
    expect(tuneThresholds(probs, targets, 3, { grid: [0.1, 0.3, 0.5, 0.7] })).toEqual([0.1, 0.5, 0.3]);
  });

  it('breaks an exact tie between thresholds equally far from 0.5 towards the lower one', () => {
    // probs 0.9 (pos), 0.05 (neg): any t in (0.05, 0.9] gives F1 1. Grid [0.3, 0.7] -> both 0.2 from 0.5 -> 0.3.
    expect(tuneThresholds([0.9, 0.05], [1, 0], 1, { grid: [0.7, 0.3] })).toEqual([0.3]);
    // With the default grid every t from 0.1 to 0.9 is perfect -> 0.5.
    expect(tuneThresholds([0.9, 0.05], [1, 0], 1)).toEqual([0.5]);
  });

  it('tuned thresholds never lower the per-label F1 on the same data', () => {
    // A pseudo-random but fixed problem: 200 samples, 5 labels, probs correlated with targets.
    let s = 12345;
    const rnd = (): number => (s = (s * 16807) % 2147483647) / 2147483647;
    const n = 200;
    const k = 5;
    const targets: number[] = [];
    const probs: number[] = [];
    for (let i = 0; i < n * k; i++) {
      const t = rnd() < 0.2 + 0.1 * (i % k) ? 1 : 0;
      targets.push(t);
      probs.push(Math.min(1, Math.max(0, 0.3 * t + 0.7 * rnd() - 0.1 * (i % k))));
    }
    const tuned = tuneThresholds(probs, targets, k);
    const before = multiLabelMetrics(probs, targets, k);
    const after = multiLabelMetrics(probs, targets, k, { thresholds: tuned });
    for (let j = 0; j < k; j++) expect(after.perLabel[j].f1).toBeGreaterThanOrEqual(before.perLabel[j].f1);
    expect(after.macroF1).toBeGreaterThan(before.macroF1);
    // And each tuned value is the grid maximum: no other grid value does strictly better on that label.
    for (let j = 0; j < k; j++) {
      for (const t of DEFAULT_THRESHOLD_GRID) {
        const th = [...tuned];
        th[j] = t;
        expect(multiLabelMetrics(probs, targets, k, { thresholds: th }).perLabel[j].f1).toBeLessThanOrEqual(after.perLabel[j].f1);
      }
    }
  });

  it('validates the grid and metric', () => {
    expect(usageMessage(() => tuneThresholds([0.5], [1], 1, { grid: [] }))).toMatch(/grid is empty/);
    expect(usageMessage(() => tuneThresholds([0.5], [1], 1, { grid: [0.5, 2] }))).toMatch(/grid\[1\] 2 must be in \[0, 1\]/);
    expect(usageMessage(() => tuneThresholds([0.5], [1], 1, { metric: 'auc' as 'f1' }))).toMatch(/metric "auc" is not supported/);
  });
});

describe('singleLabelMetrics', () => {
  it('matches the sklearn f1_score docs multiclass example', () => {
    // y_true = [0,1,2,0,1,2], y_pred = [0,2,1,0,0,1]: sklearn average=None -> [0.8, 0, 0], macro 0.2667, micro 0.333.
    // By hand, class 0: TP 2, FP 1 (sample 4), FN 0 -> P 2/3, R 1, F1 0.8; classes 1 and 2: TP 0 -> 0.
    const m = singleLabelMetrics([0, 2, 1, 0, 0, 1], [0, 1, 2, 0, 1, 2], 3, ['a', 'b', 'c']);
    expect(m.perLabel.map((s) => s.f1)).toEqual([expect.closeTo(0.8, 12), 0, 0]);
    expect(m.macroF1).toBeCloseTo(0.8 / 3, 12);
    expect(m.accuracy).toBeCloseTo(1 / 3, 12);
    expect(m.macroPrecision).toBeCloseTo(2 / 9, 12);
    expect(m.macroRecall).toBeCloseTo(1 / 3, 12);
    expect(m.perLabel.map((s) => [s.label, s.support, s.predicted])).toEqual([
      ['a', 2, 3],
      ['b', 2, 2],
      ['c', 2, 1],
    ]);
    expect(m.perLabel[0].threshold).toBeUndefined();
    // One-vs-rest accuracy of class 0: wrong only on sample 4 -> 5/6.
    expect(m.perLabel[0].accuracy).toBeCloseTo(5 / 6, 12);
  });

  it('counts an absent, never-predicted class as 0 in the macro mean', () => {
    const m = singleLabelMetrics([0, 1, 1], [0, 1, 1], 3);
    expect(m.accuracy).toBe(1);
    expect(m.perLabel.map((s) => s.label)).toEqual(['0', '1', '2']);
    expect(m.macroF1).toBeCloseTo(2 / 3, 12);
  });

  it('validates its inputs with UsageError', () => {
    expect(usageMessage(() => singleLabelMetrics([0, 1], [0], 2))).toMatch(/pred has 2 values but gold has 1/);
    expect(usageMessage(() => singleLabelMetrics([0, 2], [0, 1], 2))).toMatch(/pred\[1\] = 2 is not a class id in 0\.\.1/);
    expect(usageMessage(() => singleLabelMetrics([0, 1], [0.5, 1], 2))).toMatch(/gold\[0\] = 0\.5/);
    expect(usageMessage(() => singleLabelMetrics([], [], 2))).toMatch(/no samples/);
    expect(usageMessage(() => singleLabelMetrics([0], [0], 2, ['a']))).toMatch(/labelNames has 1 names but numLabels is 2/);
  });
});
