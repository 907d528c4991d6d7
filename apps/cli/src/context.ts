import { a2t, registerBuiltinAttacks } from '@parry/attacks';
import { registerBuiltinDefenses } from '@parry/defenses';
import { type BackendInfo, createRegistry, environmentInfo, initBackend, type PluginFactory, type Registry, UsageError } from '@parry/core';
import { RESULTS_SCHEMA, RESULTS_VERSION } from '@parry/metrics';

const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;

/**
 * The registry the CLI uses: built-in attacks and defenses, then the loaded plugins (see `plugins.ts`), all through
 * the public `register` path (which refuses duplicate names and malformed plugins with one line).
 */
export function cliRegistry(plugins: readonly { factory: PluginFactory; source: string }[] = []): Registry {
  const registry = registerBuiltinDefenses(registerBuiltinAttacks(createRegistry()));
  registry.register(a2t, '@parry/attacks');
  for (const p of plugins) registry.register(p.factory, p.source);
  return registry;
}

export async function setupBackend(flag: string | undefined): Promise<BackendInfo> {
  const b = flag ?? 'auto';
  if (!(BACKENDS as readonly string[]).includes(b)) throw new UsageError(`--backend "${b}" is not one of ${BACKENDS.join(', ')}`);
  return initBackend({ backend: b as (typeof BACKENDS)[number] });
}

/** Output helpers: results to stdout, everything else to stderr. */
export const log = (msg: string) => process.stderr.write(`${msg}\n`);
export const out = (msg: string) => process.stdout.write(`${msg}\n`);

/** The fields every results file the CLI writes starts with: format, kind, when, how, seed and environment. */
export function resultsHeader(kind: 'eval' | 'train', argv: string[] | undefined, seed: number) {
  return {
    schema: RESULTS_SCHEMA,
    version: RESULTS_VERSION,
    kind,
    createdAt: new Date().toISOString(),
    command: argv ?? [],
    seed,
    environment: environmentInfo() as unknown as Record<string, unknown>,
  } as const;
}
