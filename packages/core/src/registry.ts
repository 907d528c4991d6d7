import { z } from 'zod';
import { ParryError, UsageError } from './errors.js';
import { PLUGIN_KINDS, PLUGIN_NAME_RE, type Plugin, type PluginFactory, type PluginKind, type TextComponentPlugin } from './plugin.js';
import { firstLine, PluginError } from './plugin-guard.js';

/** One documented option of a plugin, as `parry list` shows it. */
export interface OptionInfo {
  name: string;
  type: string;
  default?: unknown;
  description?: string;
}

export interface PluginInfo {
  name: string;
  kind: PluginKind;
  summary: string;
  /** `image` or `text`. */
  modality: 'image' | 'text';
  /** Image attacks: norm, mode, criteria, needs; text attacks and components: needs, goals; defenses: which models they train. */
  facts: Record<string, string>;
  options: OptionInfo[];
}

function describeOptions(schema: z.ZodType): OptionInfo[] {
  let json: any;
  try {
    json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  } catch {
    return [];
  }
  const props: Record<string, any> = json.properties ?? {};
  return Object.entries(props).map(([name, p]) => {
    let type = p.enum ? p.enum.map((v: unknown) => JSON.stringify(v)).join(' | ') : (p.type ?? 'any');
    if (type === 'array' && p.items?.type) type = `${p.items.type}[]`;
    const range = [p.minimum != null && p.minimum > -Number.MAX_SAFE_INTEGER ? `>= ${p.minimum}` : p.exclusiveMinimum != null ? `> ${p.exclusiveMinimum}` : '', p.maximum != null && p.maximum < Number.MAX_SAFE_INTEGER ? `<= ${p.maximum}` : p.exclusiveMaximum != null ? `< ${p.exclusiveMaximum}` : '']
      .filter(Boolean)
      .join(', ');
    return { name, type: range ? `${type} (${range})` : String(type), default: p.default, description: p.description };
  });
}

/** Checks that a factory's product is a well-formed plugin; throws one line naming what is wrong. */
export function validatePluginShape(p: unknown, source = 'plugin'): Plugin {
  const bad = (why: string) => new UsageError(`${source} is malformed: ${why}`);
  if (p === null || typeof p !== 'object') throw bad('the factory must return an object');
  const o = p as Record<string, unknown>;
  if (typeof o.name !== 'string' || !PLUGIN_NAME_RE.test(o.name)) {
    throw bad(`name ${JSON.stringify(o.name)} must be namespaced like "my-package/my-attack" (lowercase)`);
  }
  if (!(PLUGIN_KINDS as readonly unknown[]).includes(o.kind)) throw bad(`${o.name}: kind must be one of ${PLUGIN_KINDS.join(', ')}`);
  if (typeof o.summary !== 'string') throw bad(`${o.name}: summary must be a string`);
  if (!o.optionsSchema || typeof (o.optionsSchema as z.ZodType).safeParse !== 'function') throw bad(`${o.name}: optionsSchema must be a zod schema`);
  // Plugins written before `modality` existed: attacks are image attacks, defenses say it in `domain`.
  const modality = o.modality ?? (o.kind === 'defense' ? (o.domain ?? 'image') : o.kind === 'attack' ? 'image' : 'text');
  if (modality !== 'image' && modality !== 'text') throw bad(`${o.name}: modality must be "image" or "text"`);
  if (o.kind === 'attack' && modality === 'image') {
    if (typeof o.run !== 'function') throw bad(`${o.name}: an image attack needs a run() function`);
    if (!['linf', 'l2', 'l1', 'l0'].includes(o.norm as string)) throw bad(`${o.name}: norm must be linf, l2, l1 or l0`);
    if (o.mode !== 'fixed-epsilon' && o.mode !== 'minimization') throw bad(`${o.name}: mode must be "fixed-epsilon" or "minimization"`);
    if (!Array.isArray(o.needs) || !Array.isArray(o.criteria)) throw bad(`${o.name}: needs and criteria must be arrays`);
  } else if (o.kind !== 'defense') {
    if (modality !== 'text') throw bad(`${o.name}: a ${o.kind} is a text component; modality must be "text"`);
    if (typeof o.create !== 'function') throw bad(`${o.name}: a text ${o.kind === 'attack' ? 'attack' : o.kind} needs a create() function`);
    if (!Array.isArray(o.needs)) throw bad(`${o.name}: needs must be an array`);
    if (o.kind === 'attack' && !Array.isArray(o.goals)) throw bad(`${o.name}: goals must be an array of goal kinds`);
  }
  if (o.modality === undefined) return { ...o, modality } as unknown as Plugin;
  return o as unknown as Plugin;
}

/** The option names a plugin's schema declares (its own keys), or undefined when the schema is not a zod object. */
export function schemaOptionNames(schema: unknown): string[] | undefined {
  const shape = (schema as { shape?: unknown } | null)?.shape ?? (schema as { _zod?: { def?: { shape?: unknown } } } | null)?._zod?.def?.shape;
  return shape && typeof shape === 'object' ? Object.keys(shape) : undefined;
}

/**
 * Checks option keys against a plugin's declared options: keys are data, never object paths, so anything that is not
 * an own option name (`__proto__`, `constructor`, a typo) is refused with one line. `where` names the input
 * (e.g. `--opt pgd.stepz=3`); the default names the plugin.
 */
export function checkOptionKey(plugin: string, names: readonly string[] | undefined, key: string, where?: string): void {
  if (names === undefined ? ['__proto__', 'constructor', 'prototype'].includes(key) : !names.includes(key)) {
    const known = names?.length ? `; its options: ${names.join(', ')}` : names ? '; it takes no options' : '';
    throw new UsageError(`${where ? `${where}: ` : ''}${plugin}: unknown option ${JSON.stringify(key)}${known} (see \`parry list\`)`);
  }
}

/** A copy of user-given options as a plain object of own keys, each checked by {@link checkOptionKey}. */
export function checkedOptions(plugin: string, schema: unknown, options: unknown, where?: string): Record<string, unknown> {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new UsageError(`${where ? `${where}: ` : ''}options of ${plugin} must be an object of option values, got ${Array.isArray(options) ? 'an array' : typeof options}`);
  }
  const names = schemaOptionNames(schema);
  const entries = Object.entries(options);
  for (const [key] of entries) checkOptionKey(plugin, names, key, where);
  return Object.fromEntries(entries); // own data properties only: a "__proto__" key stays a key, never a prototype
}

/**
 * Name -> factory map. Built-in plugins register through exactly the same `register` call a third-party plugin uses.
 * Short aliases resolve when unambiguous: `pgd` -> `parry/pgd`.
 */
export class Registry {
  private readonly factories = new Map<string, { factory: PluginFactory; defaults: Plugin }>();

  /** Register a plugin factory. A duplicate name or a malformed plugin is refused with one line. */
  register(factory: PluginFactory, source?: string): this {
    if (typeof factory !== 'function') throw new UsageError(`${source ?? 'plugin'} is malformed: expected a factory function, got ${typeof factory}`);
    let product: unknown;
    try {
      product = factory();
    } catch (e) {
      if (e instanceof ParryError) throw e;
      throw new ParryError(`${source ?? `plugin factory ${factory.name || '(anonymous)'}`}: the plugin factory threw: ${firstLine(e)}`, 1);
    }
    const defaults = validatePluginShape(product, source ?? (factory.name || 'plugin'));
    if (this.factories.has(defaults.name)) {
      throw new UsageError(`plugin name "${defaults.name}" is already registered${source ? ` (from ${source})` : ''}; rename it or load it once`);
    }
    this.factories.set(defaults.name, { factory, defaults });
    return this;
  }

  has(name: string): boolean {
    return this.factories.has(name);
  }

  names(kind?: PluginKind): string[] {
    return [...this.factories.values()].filter((e) => !kind || e.defaults.kind === kind).map((e) => e.defaults.name).sort();
  }

  /** Full name for a name or unambiguous alias, or a UsageError listing what exists. */
  resolve(name: string, kind?: PluginKind): string {
    const what = kind ?? 'plugin';
    if (this.factories.has(name)) {
      const k = this.factories.get(name)!.defaults.kind;
      if (kind && k !== kind) throw new UsageError(`"${name}" is a ${k}, not ${/^[aeiou]/.test(what) ? 'an' : 'a'} ${what}`);
      return name;
    }
    const matches = this.names(kind).filter((n) => n.split('/')[1] === name);
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) throw new UsageError(`${what} name "${name}" is ambiguous (${matches.join(', ')}); use the full name`);
    throw new UsageError(`unknown ${what} "${name}"; known: ${this.names(kind).join(', ') || '(none)'} (see \`parry list\`)`);
  }

  /** The option names of a registered plugin (see {@link schemaOptionNames}). */
  optionNames(name: string, kind?: PluginKind): string[] | undefined {
    return schemaOptionNames(this.factories.get(this.resolve(name, kind))!.defaults.optionsSchema);
  }

  /**
   * Instantiate a registered plugin with validated options. Option keys must be the plugin's own option names; a
   * factory that throws (other than its own `ParryError`s) or returns a malformed plugin is a `PluginError` (exit 1).
   */
  create<P extends Plugin | TextComponentPlugin<any, any> = Plugin>(name: string, options?: unknown, kind?: PluginKind): P {
    const full = this.resolve(name, kind);
    const { factory, defaults } = this.factories.get(full)!;
    const checked = checkedOptions(full, defaults.optionsSchema, options);
    let product: unknown;
    try {
      product = factory(checked);
    } catch (e) {
      if (e instanceof ParryError) throw e;
      let shown = '';
      try {
        shown = JSON.stringify(checked) ?? '';
      } catch {
        shown = '(unprintable)';
      }
      throw new PluginError(full, `the factory threw for options ${shown.length > 120 ? `${shown.slice(0, 120)}...` : shown}: ${firstLine(e)}`);
    }
    try {
      return validatePluginShape(product, full) as P;
    } catch (e) {
      throw new PluginError(full, `the factory returned a malformed plugin: ${firstLine(e).replace(/^.*? is malformed: /, '')}`);
    }
  }

  info(kind?: PluginKind): PluginInfo[] {
    return this.names(kind).map((name) => {
      const p = this.factories.get(name)!.defaults;
      const facts: Record<string, string> =
        p.kind === 'attack' && p.modality === 'image'
          ? { norm: p.norm, mode: p.mode, criteria: p.criteria.join(', '), needs: p.needs.join(', ') }
          : p.kind === 'attack'
            ? { goals: p.goals.join(', '), needs: p.needs.join(', ') || '-' }
            : p.kind === 'defense'
              ? { models: p.modality }
              : { needs: p.needs.join(', ') || '-' };
      return { name, kind: p.kind, modality: p.modality, summary: p.summary, facts, options: describeOptions(p.optionsSchema) };
    });
  }
}

export function createRegistry(factories: PluginFactory[] = []): Registry {
  const r = new Registry();
  for (const f of factories) r.register(f);
  return r;
}
