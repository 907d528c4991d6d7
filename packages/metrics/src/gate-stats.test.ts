import { describe, expect, it } from 'vitest';
import { mcnemarExactP, newcombeInterval, pairedNewcombeInterval, twoSidedZ, wilsonInterval } from './gate-stats.js';

const close = (got: number, want: number, tol: number) => expect(Math.abs(got - want), `${got} vs ${want}`).toBeLessThanOrEqual(tol);

describe('gate statistics', () => {
  it('z of a two-sided 95% interval is 1.96', () => {
    close(twoSidedZ(0.95), 1.959964, 1e-6);
    close(twoSidedZ(0.9), 1.644854, 1e-6);
    expect(() => twoSidedZ(1)).toThrow(/confidence/);
  });

  it('Wilson interval: textbook value and exact ends', () => {
    // 81 of 263 (Newcombe 1998, 17:857 table II): 0.2553 to 0.3662
    const [lo, hi] = wilsonInterval(81, 263, twoSidedZ(0.95));
    close(lo, 0.2553, 5e-5);
    close(hi, 0.3662, 5e-5);
    expect(wilsonInterval(0, 10, 1.96)[0]).toBe(0);
    expect(wilsonInterval(10, 10, 1.96)[1]).toBe(1);
    expect(wilsonInterval(0, 0, 1.96)).toEqual([0, 1]);
  });

  it('Newcombe hybrid score interval matches contingencytables (Perondi et al. 2004: 7/34 vs 1/34)', () => {
    const [lo, hi] = newcombeInterval(7, 34, 1, 34, twoSidedZ(0.95));
    close(lo, 0.0189, 5e-5);
    close(hi, 0.3404, 5e-5);
  });

  it('paired Newcombe interval matches contingencytables (Cavo et al. 2012: 59, 6, 16, 80)', () => {
    const [lo, hi] = pairedNewcombeInterval({ both: 59, onlyFirst: 6, onlySecond: 16, neither: 80 }, twoSidedZ(0.95));
    close(lo, -0.1186, 5e-5);
    close(hi, -0.0046, 5e-5);
  });

  it('pairing narrows the interval when the runs agree on most examples', () => {
    // 500 examples, 400 right in both, 10 lost, 5 gained: the same margins as two independent samples
    const z = twoSidedZ(0.95);
    const paired = pairedNewcombeInterval({ both: 400, onlyFirst: 10, onlySecond: 5, neither: 85 }, z);
    const unpaired = newcombeInterval(410, 500, 405, 500, z);
    expect(paired[1] - paired[0]).toBeLessThan((unpaired[1] - unpaired[0]) / 2);
    expect(paired[0]).toBeLessThan(0.01);
    expect(paired[1]).toBeGreaterThan(0.01);
  });

  it("McNemar's exact p: the binomial tail on the discordant pairs", () => {
    // 6 vs 16 discordant pairs: 2 * P(X <= 6), X ~ Bin(22, 1/2) = 2 * 110056 / 2^22
    close(mcnemarExactP(6, 16), (2 * 110056) / 2 ** 22, 1e-12);
    expect(mcnemarExactP(0, 0)).toBe(1);
    expect(mcnemarExactP(5, 5)).toBe(1);
    close(mcnemarExactP(0, 10), 2 / 1024, 1e-15);
    // large counts stay finite and symmetric
    close(mcnemarExactP(4900, 5100), mcnemarExactP(5100, 4900), 1e-12);
    expect(mcnemarExactP(4900, 5100)).toBeGreaterThan(0.04);
    expect(mcnemarExactP(4900, 5100)).toBeLessThan(0.06);
  });
});
