import { registerBuiltinAttacks } from '@parry/attacks';
import { registerBuiltinDefenses } from '@parry/defenses';
import { type BackendInfo, createRegistry, initBackend, type Registry, UsageError } from '@parry/core';

const BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;

/** The registry the CLI uses: built-in attacks and defenses registered through the public `register` path. */
export function cliRegistry(): Registry {
  return registerBuiltinDefenses(registerBuiltinAttacks(createRegistry()));
}

export async function setupBackend(flag: string | undefined): Promise<BackendInfo> {
  const b = flag ?? 'auto';
  if (!(BACKENDS as readonly string[]).includes(b)) throw new UsageError(`--backend "${b}" is not one of ${BACKENDS.join(', ')}`);
  return initBackend({ backend: b as (typeof BACKENDS)[number] });
}

/** Output helpers: results to stdout, everything else to stderr. */
export const log = (msg: string) => process.stderr.write(`${msg}\n`);
export const out = (msg: string) => process.stdout.write(`${msg}\n`);
