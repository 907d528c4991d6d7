/**
 * An example third-party Parry plugin package, written against the public `@parry/core` API only.
 * Load it with `parry eval --plugin parry-plugin-example --attack example/noise` (images) or
 * `--attack example/typo-lite --model <text model>` (text), or list it in `parry.config.mjs`.
 */
import type { PluginFactory } from '@parry/core';
import { exampleGradNorm } from './grad-norm.js';
import { exampleNoise } from './noise.js';
import { exampleTypoLite, exampleVowelDrop } from './typo-lite.js';

export { exampleNoise } from './noise.js';
export { exampleGradNorm, gradNormPenalty, gradientDirection } from './grad-norm.js';
export { exampleTypoLite, exampleVowelDrop, vowelDrops } from './typo-lite.js';

/** The @parry/core versions this plugin works with; `parry` refuses to load it into an incompatible core. */
export const parryCore = '^0.1.0';

declare module '@parry/core' {
  interface ParryPluginOptions {
    'example/noise': { dist?: 'uniform' | 'gaussian'; norm?: 'linf' | 'l2'; tries?: number; sigma?: number };
    'example/grad-norm': { weight?: number; h?: number };
    'example/typo-lite': { maxModificationRate?: number; minLength?: number; wir?: 'delete' | 'unk' };
    'example/vowel-drop': { minLength?: number };
  }
}

/** Every factory of this package: what `--plugin parry-plugin-example` registers (the recipe's own component included). */
const plugins: PluginFactory[] = [exampleNoise, exampleGradNorm, exampleVowelDrop, exampleTypoLite];
export default plugins;
