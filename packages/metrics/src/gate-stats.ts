/**
 * Interval estimates behind `robustnessGate`: how far apart two accuracies (or two attack success rates) may be by
 * sampling noise alone, given the number of examples.
 *
 * - One rate: Wilson's score interval (Wilson 1927).
 * - Difference of two rates on independent samples: Newcombe's hybrid score interval ("square and add" of the two
 *   Wilson intervals; Newcombe 1998, Statistics in Medicine 17:873-890, method 10).
 * - Difference of two rates measured on the same examples (paired): Newcombe's square-and-add interval for paired
 *   proportions, the two Wilson intervals combined with the estimated correlation of the pairs (Newcombe 1998,
 *   Statistics in Medicine 17:2635-2650, method 10), together with McNemar's exact test (the binomial test on the
 *   discordant pairs) as the p-value of "any change at all".
 *
 * Reference values in the tests come from the R package contingencytables (Fagerland, Lydersen and Laake,
 * "Statistical Analysis of Contingency Tables", 2017).
 */
import quantile from '@stdlib/stats-base-dists-normal-quantile';

/** The standard normal quantile of a two-sided interval at `confidence` (1.96 for 0.95). */
export function twoSidedZ(confidence: number): number {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  return quantile(1 - (1 - confidence) / 2, 0, 1);
}

/** Wilson's score interval of a rate `k / n`; `[0, 1]` when `n` is 0 (nothing measured, nothing known). */
export function wilsonInterval(k: number, n: number, z: number): [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // exact at the ends (k = 0 or k = n), where rounding could put the bound a hair outside [0, 1]
  return [k === 0 ? 0 : Math.max(0, centre - half), k === n ? 1 : Math.min(1, centre + half)];
}

/** Interval of `p1 - p2` for independent samples `k1 / n1` and `k2 / n2` (Newcombe's hybrid score, method 10). */
export function newcombeInterval(k1: number, n1: number, k2: number, n2: number, z: number): [number, number] {
  const p1 = n1 ? k1 / n1 : 0;
  const p2 = n2 ? k2 / n2 : 0;
  const [l1, u1] = wilsonInterval(k1, n1, z);
  const [l2, u2] = wilsonInterval(k2, n2, z);
  const d = p1 - p2;
  return [Math.max(-1, d - Math.hypot(p1 - l1, u2 - p2)), Math.min(1, d + Math.hypot(u1 - p1, p2 - l2))];
}

/**
 * A paired 2x2 table of the same examples measured twice: `both` right in both runs, `onlyFirst` right only in the
 * first, `onlySecond` right only in the second, `neither` right in neither.
 */
export interface PairedCounts {
  both: number;
  onlyFirst: number;
  onlySecond: number;
  neither: number;
}

/**
 * Interval of `p1 - p2` for paired rates (`p1` = first run, `p2` = second run) by Newcombe's square-and-add method
 * for paired proportions (method 10): Wilson intervals of both margins combined with the correlation `phi` of the
 * pairs, its numerator continuity-corrected as in Newcombe (1998): `ad - bc - n/2` when `ad - bc > n/2`, 0 when
 * `0 <= ad - bc <= n/2`, `ad - bc` when negative.
 */
export function pairedNewcombeInterval(t: PairedCounts, z: number): [number, number] {
  const { both: a, onlyFirst: b, onlySecond: c, neither: d } = t;
  const n = a + b + c + d;
  if (n === 0) return [-1, 1];
  const p1 = (a + b) / n;
  const p2 = (a + c) / n;
  const [l1, u1] = wilsonInterval(a + b, n, z);
  const [l2, u2] = wilsonInterval(a + c, n, z);
  let phi = 0;
  const margins = (a + b) * (c + d) * (a + c) * (b + d);
  if (margins > 0) {
    const cross = a * d - b * c;
    const corrected = cross > n / 2 ? cross - n / 2 : cross >= 0 ? 0 : cross;
    phi = corrected / Math.sqrt(margins);
  }
  const diff = p1 - p2;
  const lo = diff - Math.sqrt(Math.max(0, (p1 - l1) ** 2 + (u2 - p2) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2)));
  const hi = diff + Math.sqrt(Math.max(0, (p2 - l2) ** 2 + (u1 - p1) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1)));
  return [Math.max(-1, lo), Math.min(1, hi)];
}

/**
 * McNemar's exact test: the two-sided p-value that the discordant pairs `b` (right only in the first run) and `c`
 * (right only in the second) split as unevenly as observed when each is equally likely (binomial, p = 1/2).
 * 1 when there are no discordant pairs.
 */
export function mcnemarExactP(b: number, c: number): number {
  const m = b + c;
  if (m === 0) return 1;
  const k = Math.min(b, c);
  // P(X <= k) for X ~ Binomial(m, 1/2): log C(m, i) by the recurrence C(m, i+1) = C(m, i) (m - i) / (i + 1), so no
  // factorial overflows; terms far below the largest one vanish harmlessly in exp
  const logHalf = m * Math.log(0.5);
  let logC = 0;
  let tail = 0;
  for (let i = 0; i <= k; i++) {
    tail += Math.exp(logC + logHalf);
    logC += Math.log(m - i) - Math.log(i + 1);
  }
  return Math.min(1, 2 * tail);
}
