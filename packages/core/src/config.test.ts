import { describe, expect, expectTypeOf, it } from 'vitest';
import { defineConfig, type ParryConfig } from './config.js';

declare module './config.js' {
  interface ParryPluginOptions {
    'test/typed': { steps?: number; dist?: 'uniform' | 'gaussian' };
  }
}

describe('defineConfig', () => {
  it('returns the config it was given', () => {
    const config = { plugins: [], defaults: { 'parry/pgd': { steps: 10 } } };
    expect(defineConfig(config)).toBe(config);
    expectTypeOf(defineConfig(config)).toEqualTypeOf<ParryConfig>();
  });

  // checked by `pnpm typecheck`: each @ts-expect-error line must be an error
  it('types the defaults of plugins that declared their options, and leaves the others open', () => {
    defineConfig({ defaults: { 'test/typed': { steps: 3, dist: 'gaussian' }, 'parry/pgd': { steps: 10, anything: 'goes' } } });
    // @ts-expect-error wrong value type for a declared option
    defineConfig({ defaults: { 'test/typed': { steps: 'three' } } });
    // @ts-expect-error not one of the declared choices
    defineConfig({ defaults: { 'test/typed': { dist: 'bogus' } } });
    // @ts-expect-error unknown option of a plugin that declared its options
    defineConfig({ defaults: { 'test/typed': { stepz: 3 } } });
  });
});

describe('defineConfig gate section', () => {
  // checked by `pnpm typecheck`: each @ts-expect-error line must be an error
  it('types the thresholds, the tolerated drop and the baseline', () => {
    const config = defineConfig({ gate: { baseline: 'baseline/results.json', maxDrop: 0.02, confidence: 0.95, thresholds: { cleanAccuracy: 0.95, robustAccuracy: { 'parry/pgd@0.3': 0.85 }, attackSuccessRate: { 'parry/pwws': 0.5 } } } });
    expect(config.gate?.thresholds?.robustAccuracy?.['parry/pgd@0.3']).toBe(0.85);
    defineConfig({ gate: { maxDrop: { robustAccuracy: 0.02, cleanAccuracy: 0.01 } } });
    // @ts-expect-error a threshold is a number
    defineConfig({ gate: { thresholds: { robustAccuracy: { 'parry/pgd@0.3': '0.85' } } } });
    // @ts-expect-error unknown metric in maxDrop
    defineConfig({ gate: { maxDrop: { robustAcc: 0.02 } } });
  });
});
