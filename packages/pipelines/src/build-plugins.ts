/**
 * Plugins from names and options: the attacks and defenses a run uses, created from the one registry with the
 * config file's defaults under the given options (every option key checked against the plugin's schema).
 */
import { type DefensePlugin, type ImageAttackPlugin, type Registry, UsageError } from '@parry/core';
import { checkOptionKey, pluginOptions } from './option-pairs.js';

/** Options per plugin, keyed by any name the registry resolves (`pgd`, `parry/pgd`). */
export type OptionsByPlugin = Record<string, Record<string, unknown>>;

/** Resolve names (aliases allowed) to full names; the same name twice is refused. */
export function resolveNames(registry: Registry, names: readonly string[], kind: 'attack' | 'defense', flag: string): string[] {
  const full = names.map((n) => registry.resolve(n, kind));
  const dup = full.find((n, i) => full.indexOf(n) !== i);
  if (dup) throw new UsageError(`${flag} names ${dup} twice; list each ${kind} once`);
  return full;
}

/** `options` re-keyed by full name, each key checked against the plugin's option names. */
export function resolveOptions(registry: Registry, options: OptionsByPlugin | undefined, kind: 'attack' | 'defense', where = 'options'): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const [name, opts] of Object.entries(options ?? {})) {
    const full = registry.resolve(name, kind);
    for (const key of Object.keys(opts)) checkOptionKey(full, registry.optionNames(full, kind), key.split('.')[0], `${where}[${JSON.stringify(name)}]`);
    out.set(full, { ...(out.get(full) ?? {}), ...opts });
  }
  return out;
}

/** `--opt <attack>.<key>=<value>` pairs as options per full attack name (each for an attack in `attacks`). */
export function attackOptionsFromPairs(registry: Registry, attacks: readonly string[], pairs: readonly string[] = []): OptionsByPlugin {
  const listed = attacks.map((n) => registry.resolve(n, 'attack'));
  return Object.fromEntries(pluginOptions(registry, pairs, { flag: '--opt', listFlag: '--attack', kind: 'attack', listed, example: 'pgd.steps=10' }));
}

/** Image attacks by name with options: config defaults, then `options`. A text attack is refused with one line. */
export function createImageAttacks(registry: Registry, names: readonly string[], options?: OptionsByPlugin, defaults: OptionsByPlugin = {}): ImageAttackPlugin[] {
  const full = resolveNames(registry, names, 'attack', '--attack');
  const opts = resolveOptions(registry, options, 'attack');
  return full.map((name) => {
    const attack = registry.create<ImageAttackPlugin>(name, { ...(defaults[name] ?? {}), ...(opts.get(name) ?? {}) }, 'attack');
    if (attack.modality !== 'image') throw new UsageError(`--attack ${name} attacks text models; image models take image attacks (see \`parry list\`)`);
    return attack;
  });
}

/**
 * Build the defense plugins named on the command line with their options. `--eps` fills every `eps` option not set
 * by `--def-opt`; `pgd-at.attack=<attack>` names a registered attack, configured by `pgd-at.attack.<key>=<value>`.
 * Every `--def-opt` must be for a defense in `--defense` and name one of its options (see `option-pairs.ts`).
 */
export function createDefenses(registry: Registry, names: string[], eps: number | undefined, defOpt: string[], configDefaults: OptionsByPlugin = {}): DefensePlugin[] {
  const listed = names.map((name) => registry.resolve(name, 'defense'));
  const opts = pluginOptions(registry, defOpt, { flag: '--def-opt', listFlag: '--defense', kind: 'defense', listed, example: 'trades.beta=6' });
  return names.map((name, index) => {
    const full = listed[index];
    const own = new Map(Object.entries({ ...(configDefaults[full] ?? {}), ...(opts.get(full) ?? {}) }));
    const attackOptions = new Map<string, unknown>();
    for (const [k, v] of own) {
      if (k.startsWith('attack.')) {
        attackOptions.set(k.slice('attack.'.length), v);
        own.delete(k);
      }
    }
    const attackName = own.get('attack');
    if (typeof attackName === 'string') {
      let attackFull: string;
      try {
        attackFull = registry.resolve(attackName, 'attack');
      } catch (e) {
        throw new UsageError(`--def-opt ${name}.attack=${attackName}: ${(e as Error).message}`);
      }
      for (const sub of attackOptions.keys()) checkOptionKey(attackFull, registry.optionNames(attackFull, 'attack'), sub, `--def-opt ${name}.attack.${sub}`);
      own.set('attack', registry.create<ImageAttackPlugin>(attackFull, Object.fromEntries(attackOptions), 'attack'));
    } else if (attackOptions.size) throw new UsageError(`--def-opt ${name}.attack.<key> needs ${name}.attack=<attack name> too`);
    const defaults = registry.create<DefensePlugin>(full, {}, 'defense');
    if (eps !== undefined && Object.hasOwn(defaults.options as object, 'eps') && own.get('eps') === undefined) own.set('eps', eps);
    return registry.create<DefensePlugin>(full, Object.fromEntries(own), 'defense');
  });
}

