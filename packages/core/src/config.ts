import type { PluginFactory } from './plugin.js';

/**
 * Option types per plugin name, for `defineConfig({ defaults })`. Empty in core; a plugin package adds its own entry
 * by declaration merging, so a typo in its options is a type error in the user's config:
 *
 * ```ts
 * declare module '@parry/core' {
 *   interface ParryPluginOptions { 'my-package/noise': { dist?: 'uniform' | 'gaussian' } }
 * }
 * ```
 * Names without an entry still accept any option object (checked at run time by the plugin's schema).
 */
export interface ParryPluginOptions {}

/** Default options per plugin name: typed where a plugin declared its options (see `ParryPluginOptions`), open elsewhere. */
export type ParryPluginDefaults<Names extends string = string> = {
  [K in Names]?: K extends keyof ParryPluginOptions ? ParryPluginOptions[K] : Record<string, unknown>;
};

/**
 * The keys of a gate threshold: an image attack at one epsilon, `'<attack>@<eps>'` (`'parry/pgd@0.3'`, `'parry/cw@inf'`
 * for an unbounded minimization attack), or a text attack by name (`'parry/pwws'`). A name without a namespace is a
 * built-in (`'pgd@0.3'` is `'parry/pgd@0.3'`).
 */
export type ParryGateKey = string;

/** Absolute limits of `parry gate`, compared with the measured values (rates in 0..1). */
export interface ParryGateThresholds {
  /** Lowest clean accuracy allowed (the results' clean section). */
  cleanAccuracy?: number;
  /** Lowest robust accuracy allowed per attack (text: TextAttack's accuracy under attack), e.g. `{ 'parry/pgd@0.3': 0.85 }`. */
  robustAccuracy?: Record<ParryGateKey, number>;
  /** Highest attack success rate allowed per attack, e.g. `{ 'parry/pwws': 0.5 }`. */
  attackSuccessRate?: Record<ParryGateKey, number>;
}

/** How much worse than the baseline a metric may get (a drop in accuracy, a rise in attack success rate), in 0..1. */
export interface ParryGateMaxDrop {
  cleanAccuracy?: number;
  robustAccuracy?: number;
  attackSuccessRate?: number;
}

/**
 * The `gate` section of a config: what `parry gate` (and `robustnessGate` of `@parry/metrics`) checks a results file
 * against. A regression against the baseline fails only when it exceeds `maxDrop` beyond sampling noise: the whole
 * `confidence` interval of the drop lies above `maxDrop` (see docs/robustness-gate.md for the tests used).
 */
export interface ParryGateConfig {
  /** A baseline results.json, relative to the config file; `--baseline` overrides it. */
  baseline?: string;
  /** Tolerated regression against the baseline, one number for every metric or one per metric (default 0). */
  maxDrop?: number | ParryGateMaxDrop;
  /** Two-sided confidence level of the intervals (default 0.95). */
  confidence?: number;
  thresholds?: ParryGateThresholds;
}

/** What `parry.config.js` / `parry.config.mjs` exports by default. */
export interface ParryConfig<Names extends string = string> {
  /** Plugin factories to register, in order (built-ins are always registered first). */
  plugins?: PluginFactory[];
  /** Default options per plugin name (full name, e.g. `parry/pgd`); `--opt` / `--def-opt` override them. */
  defaults?: ParryPluginDefaults<Names>;
  /** What `parry gate --config` checks results against: a baseline, a tolerated drop, thresholds. */
  gate?: ParryGateConfig;
}

/** Identity helper that types a Parry config file. */
export function defineConfig<Names extends string = string>(config: ParryConfig<Names>): ParryConfig {
  return config as ParryConfig;
}
