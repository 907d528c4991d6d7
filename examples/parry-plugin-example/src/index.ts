/**
 * An example third-party Parry plugin package, written against the public `@parry/core` API only.
 * Load it with `parry eval --plugin parry-plugin-example --attack example/noise`, or list it in `parry.config.mjs`.
 */
import type { PluginFactory } from '@parry/core';
import { exampleGradNorm } from './grad-norm.js';
import { exampleNoise } from './noise.js';

export { exampleNoise } from './noise.js';
export { exampleGradNorm, gradNormPenalty, gradientDirection } from './grad-norm.js';

/** The @parry/core versions this plugin works with; `parry` refuses to load it into an incompatible core. */
export const parryCore = '^0.1.0';

declare module '@parry/core' {
  interface ParryPluginOptions {
    'example/noise': { dist?: 'uniform' | 'gaussian'; norm?: 'linf' | 'l2'; tries?: number; sigma?: number };
    'example/grad-norm': { weight?: number; h?: number };
  }
}

/** Every factory of this package: what `--plugin parry-plugin-example` registers. */
const plugins: PluginFactory[] = [exampleNoise, exampleGradNorm];
export default plugins;
