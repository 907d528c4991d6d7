import { UsageError } from '@parry/core';
import { DEFAULT_PLUGIN_LOADERS, type PluginLoaders, pluginRegistry } from '@parry/pipelines';
import type { Command } from 'commander';
import { createProgress } from './progress.js';

/** Output helpers: results to stdout, everything else to stderr. */
export const log = (msg: string) => process.stderr.write(`${msg}\n`);
export const out = (msg: string) => process.stdout.write(`${msg}\n`);

/** What Node cannot do alone when loading plugins: semver ranges (`parryCore`) and TypeScript configs (jiti). */
export const PLUGIN_LOADERS: PluginLoaders = DEFAULT_PLUGIN_LOADERS;

/** The registry source of a command: `parry.config.*` in the working directory and the `--plugin` modules. */
export const pluginsFrom = (plugin: string[] | undefined) => ({ plugins: { modules: plugin ?? [], loaders: PLUGIN_LOADERS } });

/** The registry a command uses (built-ins, config file, `--plugin` modules) and the config's defaults. */
export const cliRegistry = (plugin: string[] | undefined) => pluginRegistry({ plugin, loaders: PLUGIN_LOADERS });

/** Log and progress hooks for a pipeline: silent with --quiet. */
export const hooks = (quiet: boolean | undefined) => ({ log: quiet ? undefined : log, progress: (label: string, total: number) => createProgress(label, total, { quiet }) });

/**
 * Flags that apply to one modality only: each given on the command line for the other one is refused with one line
 * ("every flag either does what its help says for both modalities or is refused").
 */
export function refuseFlags(command: Command, flags: readonly string[], why: string): void {
  for (const flag of flags) {
    const opt = command.options.find((x) => x.long === flag);
    if (opt && command.getOptionValueSource(opt.attributeName()) === 'cli') throw new UsageError(`${flag} ${why}`);
  }
}
