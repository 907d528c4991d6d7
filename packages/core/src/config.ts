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

/** What `parry.config.js` / `parry.config.mjs` exports by default. */
export interface ParryConfig<Names extends string = string> {
  /** Plugin factories to register, in order (built-ins are always registered first). */
  plugins?: PluginFactory[];
  /** Default options per plugin name (full name, e.g. `parry/pgd`); `--opt` / `--def-opt` override them. */
  defaults?: ParryPluginDefaults<Names>;
}

/** Identity helper that types a Parry config file. */
export function defineConfig<Names extends string = string>(config: ParryConfig<Names>): ParryConfig {
  return config as ParryConfig;
}
