/**
 * Loading third-party plugins into the one registry: `--plugin <module>` (repeatable) and a `parry.config.{ts,mts,mjs,js}` in the working
 * directory (the first that exists, in that order). Registration is explicit (no node_modules scanning); every factory goes through the same
 * `registry.register(factory, source)` call the built-ins use. Every refusal is a `UsageError` (exit 2, one line).
 *
 * - A module given to `--plugin` is a package name (resolved from the working directory's node_modules, through its
 *   `exports` "import" entry) or a path. It exports a default factory, a default array of factories, or (no default
 *   export) named factories: every exported function.
 * - Core compatibility: a module may export `parryCore` (and a factory may carry a `parryCore` property), a semver
 *   range the running @parry/core version must satisfy, e.g. `export const parryCore = '^0.1.0'`.
 * - Config: `export default defineConfig({ plugins: [factory, ...], defaults: { 'parry/pgd': { steps: 10 } } })`.
 *   TypeScript configs are transpiled on the fly by the caller's importer (the CLI passes `jiti`; Node 20 cannot
 *   import .ts); no type-checking happens at load time, so type-check the config with your editor or `tsc`.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { registerBuiltinAttacks } from '@parry/attacks';
import { checkOptionKey, createRegistry, type ParryConfig, type PluginFactory, type Registry, UsageError } from '@parry/core';
import { registerBuiltinDefenses } from '@parry/defenses';
import semver from 'semver';

/** The running @parry/core version, which plugins' `parryCore` ranges are checked against. */
export const CORE_VERSION: string = createRequire(import.meta.url)('@parry/core/package.json').version;

/**
 * What loading plugin modules needs beyond Node: a semver range check for `parryCore` and, for
 * `parry.config.ts`/`.mts`, a TypeScript importer. The defaults ({@link DEFAULT_PLUGIN_LOADERS}) are the `semver`
 * package and `jiti`; pass others to replace them (e.g. a bundler's importer).
 */
export interface PluginLoaders {
  semver?: { validRange(range: string): string | null; satisfies(version: string, range: string): boolean };
  importTypeScript?: (file: string) => Promise<Record<string, unknown>>;
}

/** `semver` for `parryCore` ranges and `jiti` for TypeScript configs (Node 20 cannot import TypeScript itself). */
export const DEFAULT_PLUGIN_LOADERS: PluginLoaders = {
  semver,
  importTypeScript: async (file) => {
    const { createJiti } = await import('jiti');
    return (await createJiti(import.meta.url, { moduleCache: false }).import(file)) as Record<string, unknown>;
  },
};

/**
 * The one registry: Parry's built-in attacks (image and text, with the text components) and defenses, then `plugins`
 * in order, all through the public `register` path (duplicate names and malformed plugins are refused with one line).
 */
export function createParryRegistry(plugins: readonly { factory: PluginFactory; source: string }[] = []): Registry {
  const registry = registerBuiltinDefenses(registerBuiltinAttacks(createRegistry()));
  for (const p of plugins) registry.register(p.factory, p.source);
  return registry;
}

export const CONFIG_FILES = ['parry.config.ts', 'parry.config.mts', 'parry.config.mjs', 'parry.config.js'] as const;

export interface LoadedPlugin {
  factory: PluginFactory;
  /** Where it came from, for error lines: `--plugin <module>` or the config file name. */
  source: string;
}

export interface LoadedPlugins {
  plugins: LoadedPlugin[];
  /** Default options per plugin name from the config file (as written; `pluginRegistry` resolves the names). */
  defaults: Record<string, Record<string, unknown>>;
  configFile?: string;
}

const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0];

function pickCondition(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  if (Array.isArray(entry)) return entry.map(pickCondition).find(Boolean);
  if (entry && typeof entry === 'object') {
    for (const k of ['import', 'node', 'default']) {
      const r = pickCondition((entry as Record<string, unknown>)[k]);
      if (r) return r;
    }
  }
  return undefined;
}

/** Resolve a bare specifier (`pkg`, `@scope/pkg`, `pkg/sub`) from `cwd`'s node_modules, as ESM `import` would. */
export function resolveFromCwd(spec: string, cwd: string): string {
  const m = /^((?:@[^/]+\/)?[^/]+)(\/.*)?$/.exec(spec);
  if (!m) throw new UsageError(`--plugin "${spec}" is not a package name or a path`);
  const [, name, sub = ''] = m;
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const pkgDir = path.join(dir, 'node_modules', name);
    const pj = path.join(pkgDir, 'package.json');
    if (fs.existsSync(pj)) {
      const pkg = JSON.parse(fs.readFileSync(pj, 'utf8'));
      const key = `.${sub}`;
      const exp = pkg.exports;
      let target: string | undefined;
      if (exp !== undefined) {
        const keyed = exp && typeof exp === 'object' && !Array.isArray(exp) && Object.keys(exp).some((k) => k.startsWith('.'));
        target = pickCondition(keyed ? exp[key] : key === '.' ? exp : undefined);
        if (!target) throw new UsageError(`--plugin ${spec}: package ${name} exports no "${key}" entry for import`);
      } else target = sub ? sub.slice(1) : (pkg.module ?? pkg.main ?? 'index.js');
      return path.join(pkgDir, target as string);
    }
    if (path.dirname(dir) === dir) break;
  }
  throw new UsageError(`--plugin ${spec}: cannot find package "${name}" from ${cwd}; install it in this project or give a path (./my-plugin.js)`);
}

function checkCoreRange(range: unknown, source: string, semver: PluginLoaders['semver']): void {
  if (range === undefined) return;
  if (!semver) throw new UsageError(`${source} declares parryCore ${JSON.stringify(range)}, and no semver checker was given to check it; pass loaders.semver`);
  if (typeof range !== 'string' || !semver.validRange(range)) {
    throw new UsageError(`${source} is malformed: parryCore must be a semver range like "^0.1.0", got ${JSON.stringify(range)}`);
  }
  if (!semver.satisfies(CORE_VERSION, range)) {
    throw new UsageError(`${source} needs @parry/core ${range}, but this parry has @parry/core ${CORE_VERSION}; use a plugin version made for it`);
  }
}

/** The factories a plugin module exports: default factory, default array, or every named function export. */
export function factoriesOf(mod: Record<string, unknown>, source: string, loaders: PluginLoaders = {}): PluginFactory[] {
  checkCoreRange(mod.parryCore, source, loaders.semver);
  let list: unknown[];
  if (mod.default !== undefined) {
    list = Array.isArray(mod.default) ? mod.default : [mod.default];
  } else {
    list = Object.entries(mod).filter(([k, v]) => k !== 'parryCore' && typeof v === 'function').map(([, v]) => v);
    if (!list.length) throw new UsageError(`${source} is malformed: it exports no plugin factory (a default factory, a default array of factories, or named factories)`);
  }
  for (const f of list) {
    if (typeof f !== 'function') throw new UsageError(`${source} is malformed: expected a plugin factory function, got ${f === null ? 'null' : typeof f}`);
    checkCoreRange((f as { parryCore?: unknown }).parryCore, source, loaders.semver);
  }
  return list as PluginFactory[];
}

/** A plain `{ ... }` object (its prototype is a realm's Object.prototype, or null): not an array, class or `{ __proto__: ... }`. */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

async function importFile(file: string, source: string, loaders: PluginLoaders): Promise<Record<string, unknown>> {
  try {
    if (/\.m?ts$/.test(file)) {
      // Node 20 cannot import TypeScript: the caller's importer (the CLI: jiti) transpiles it on the fly.
      if (!loaders.importTypeScript) throw new Error('no TypeScript importer was given (loaders.importTypeScript); write the config as .mjs');
      return await loaders.importTypeScript(file);
    }
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`${source}: cannot import ${file}: ${firstLine(e)}`);
  }
}

/** Find and load the config file in `cwd`, then every `--plugin` module, in that order. */
export async function loadPlugins(o: { plugin?: string[]; cwd?: string; loaders?: PluginLoaders } = {}): Promise<LoadedPlugins> {
  const loaders = o.loaders ?? DEFAULT_PLUGIN_LOADERS;
  const cwd = o.cwd ?? process.cwd();
  const loaded: LoadedPlugins = { plugins: [], defaults: {} };
  const configName = CONFIG_FILES.find((f) => fs.existsSync(path.join(cwd, f)));
  if (configName) {
    const file = path.join(cwd, configName);
    const mod = await importFile(file, configName, loaders);
    const config = mod.default as ParryConfig | undefined;
    if (!config || typeof config !== 'object' || Array.isArray(config)) {
      throw new UsageError(`${configName} is malformed: it must \`export default defineConfig({ plugins: [...] })\``);
    }
    if (config.plugins !== undefined && !Array.isArray(config.plugins)) throw new UsageError(`${configName} is malformed: plugins must be an array of plugin factories`);
    const defaults = config.defaults ?? {};
    if (!isPlainObject(defaults) || Object.values(defaults).some((v) => !v || typeof v !== 'object' || Array.isArray(v))) {
      throw new UsageError(`${configName} is malformed: defaults must map plugin names to option objects, e.g. { 'parry/pgd': { steps: 10 } }`);
    }
    for (const [name, v] of Object.entries(defaults)) {
      if (!isPlainObject(v)) {
        throw new UsageError(`${configName} is malformed: defaults[${JSON.stringify(name)}] is not a plain object (a "__proto__" key sets a prototype); write { option: value } pairs`);
      }
    }
    for (const f of factoriesOf({ default: config.plugins ?? [] }, configName, loaders)) loaded.plugins.push({ factory: f, source: configName });
    loaded.defaults = defaults as Record<string, Record<string, unknown>>;
    loaded.configFile = file;
  }
  for (const spec of o.plugin ?? []) {
    const source = `--plugin ${spec}`;
    const isPath = spec.startsWith('.') || path.isAbsolute(spec);
    const file = isPath ? path.resolve(cwd, spec) : resolveFromCwd(spec, cwd);
    if (isPath && !fs.existsSync(file)) throw new UsageError(`${source}: no such file ${file}`);
    for (const f of factoriesOf(await importFile(file, source, loaders), source, loaders)) loaded.plugins.push({ factory: f, source });
  }
  return loaded;
}

/**
 * The registry for a command: built-ins, then the config file's plugins, then `--plugin` modules; and the config's
 * defaults keyed by full plugin name (an unknown plugin name or option key in `defaults` is refused).
 */
export async function pluginRegistry(o: { plugin?: string[]; cwd?: string; loaders?: PluginLoaders } = {}): Promise<{ registry: Registry; defaults: Record<string, Record<string, unknown>> }> {
  const loaded = await loadPlugins(o);
  const registry = createParryRegistry(loaded.plugins);
  const defaults: Record<string, Record<string, unknown>> = {};
  for (const [name, options] of Object.entries(loaded.defaults)) {
    let full: string;
    try {
      full = registry.resolve(name);
    } catch (e) {
      throw new UsageError(`${path.basename(loaded.configFile ?? 'config')} defaults: ${firstLine(e)}`);
    }
    // option keys are data: each must be an own option of the plugin (the part before a dot, for sub-options)
    for (const key of Object.keys(options)) checkOptionKey(full, registry.optionNames(full), key.split('.')[0], `${path.basename(loaded.configFile ?? 'config')} defaults[${JSON.stringify(name)}]`);
    defaults[full] = Object.fromEntries([...Object.entries(defaults[full] ?? {}), ...Object.entries(options)]);
  }
  return { registry, defaults };
}
