/**
 * `parry gate` as a library call: the `gate` section of a config file (loaded like `parry.config.*` is, TypeScript
 * through jiti) merged with explicit options, then `robustnessGate` of `@parry/metrics`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ParryGateConfig, type ParryGateMaxDrop, UsageError } from '@parry/core';
import { type GateVerdict, gateConfigSchema, robustnessGate } from '@parry/metrics';
import { DEFAULT_PLUGIN_LOADERS, type PluginLoaders } from './plugins.js';

const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0];

/**
 * The `gate` section of a config file (`export default defineConfig({ gate: { ... } })`), checked against the schema;
 * a relative `baseline` is resolved against the config file's folder. Every problem is one `UsageError` line naming
 * the file: missing, not importable, no default export, no gate section, or the first bad field.
 */
export async function loadGateConfig(file: string, loaders: PluginLoaders = DEFAULT_PLUGIN_LOADERS): Promise<ParryGateConfig> {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw new UsageError(`--config ${file}: no such file; pass the parry.config.ts that holds the gate section`);
  if (fs.statSync(abs).isDirectory()) throw new UsageError(`--config ${file} is a folder; pass the config file itself, e.g. ${path.join(file, 'parry.config.ts')}`);
  let mod: Record<string, unknown>;
  try {
    if (/\.[mc]?ts$/.test(abs)) {
      // Node 20 cannot import TypeScript: the importer (by default jiti) transpiles it on the fly
      if (!loaders.importTypeScript) throw new Error('no TypeScript importer was given (loaders.importTypeScript); write the config as .mjs');
      mod = await loaders.importTypeScript(abs);
    } else mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`--config ${file}: cannot import it: ${firstLine(e)}`);
  }
  const config = mod.default as { gate?: unknown } | undefined;
  if (!config || typeof config !== 'object' || Array.isArray(config)) {
    throw new UsageError(`${file} is malformed: it must \`export default defineConfig({ gate: { ... } })\``);
  }
  if (config.gate === undefined) {
    throw new UsageError(`${file} has no gate section; add gate: { baseline, maxDrop, thresholds } to its defineConfig({ ... }) (see docs/robustness-gate.md)`);
  }
  const parsed = gateConfigSchema.safeParse(config.gate);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new UsageError(`${file} is malformed: ${['gate', ...i.path].join('.')}: ${i.message.replace(/\s*\n\s*/g, ' ')}`);
  }
  const gate = parsed.data;
  return gate.baseline !== undefined ? { ...gate, baseline: path.resolve(path.dirname(abs), gate.baseline) } : gate;
}

export interface GateResultsOptions {
  /** A baseline results.json; overrides the config's `gate.baseline`. */
  baseline?: string;
  /** A config file with a `gate` section (thresholds, maxDrop, confidence, baseline). */
  config?: string;
  /** Tolerated regression for every metric; overrides the config's `gate.maxDrop`. */
  maxDrop?: number | ParryGateMaxDrop;
  /** Two-sided confidence level; overrides the config's `gate.confidence`. */
  confidence?: number;
  loaders?: PluginLoaders;
}

/**
 * Gate the results file `current` against a baseline and/or the thresholds of a config file: what `parry gate` runs.
 * Explicit options win over the config's. Throws `UsageError`/`InputError` (one line, exit 2) for bad input; a
 * failed gate is `verdict.passed === false`, not an exception.
 */
export async function gateResults(current: string, o: GateResultsOptions = {}): Promise<GateVerdict> {
  const gate = o.config !== undefined ? await loadGateConfig(o.config, o.loaders) : {};
  return robustnessGate(current, {
    baseline: o.baseline ?? gate.baseline,
    thresholds: gate.thresholds,
    maxDrop: o.maxDrop ?? gate.maxDrop,
    confidence: o.confidence ?? gate.confidence,
  });
}
