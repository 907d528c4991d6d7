/**
 * The one parser of `key=value` plugin options on the command line: `--opt <attack>.<option>=<value>` and
 * `--def-opt <defense>.<option>=<value>`. Option keys are data, never object paths: every plugin name is resolved in
 * the registry, must be one the command runs (`--attack` / `--defense`), and every key must be an own option name of
 * the plugin's schema (so `__proto__`, `constructor` and typos are refused with one line, never assigned). Values
 * are JSON when they parse (numbers, booleans, arrays), else strings.
 */
import { checkOptionKey, type Plugin, type Registry, UsageError } from '@parry/core';

export { checkOptionKey };

export interface OptionPair {
  /** The pair as the user typed it, for error lines. */
  text: string;
  /** Plugin name as typed (`pgd`, `parry/pgd`). */
  plugin: string;
  /** Option key; may hold dots for sub-options (`attack.steps` of `pgd-at`). */
  key: string;
  value: unknown;
}

const PAIR_RE = /^([^./=]+(?:\/[^./=]+)?)\.([^=]+)=(.*)$/s;

/** Split `--opt pgd.steps=10` pairs; one line naming the flag and the pair when one is not `<plugin>.<key>=<value>`. */
export function parseOptionPairs(flag: string, pairs: readonly string[], example: string): OptionPair[] {
  return pairs.map((text) => {
    const m = PAIR_RE.exec(text);
    if (!m) throw new UsageError(`${flag} "${text}" must look like <name>.<option>=<value>, e.g. ${flag} ${example}`);
    const [, plugin, key, raw] = m;
    let value: unknown = raw;
    try {
      value = JSON.parse(raw); // JSON.parse makes "__proto__" an own key, never a prototype
    } catch {
      // keep the string
    }
    return { text, plugin, key, value };
  });
}

export interface PluginOptionsRequest {
  /** `--opt` or `--def-opt`. */
  flag: string;
  /** The flag that lists the plugins the options may be for (`--attack`, `--defense`). */
  listFlag: string;
  kind: Plugin['kind'];
  /** Full names of the plugins the command runs. */
  listed: readonly string[];
  example: string;
}

/**
 * Options per full plugin name from `pairs`, each checked: the plugin exists and is listed, and the key (its part
 * before the first dot, for sub-options) is an own option of the plugin. Returns plain objects of own keys.
 */
export function pluginOptions(registry: Registry, pairs: readonly string[], req: PluginOptionsRequest): Map<string, Record<string, unknown>> {
  const byPlugin = new Map<string, Map<string, unknown>>();
  for (const pair of parseOptionPairs(req.flag, pairs, req.example)) {
    const where = `${req.flag} ${pair.text}`;
    let full: string;
    try {
      full = registry.resolve(pair.plugin, req.kind);
    } catch (e) {
      throw new UsageError(`${where}: ${(e as Error).message}`);
    }
    if (!req.listed.includes(full)) {
      throw new UsageError(
        `${where} is for ${full}, which is not in ${req.listFlag} (${req.listed.join(', ') || 'none given'}); add it to ${req.listFlag} or drop the option`,
      );
    }
    checkOptionKey(full, registry.optionNames(full, req.kind), pair.key.split('.')[0], where);
    if (!byPlugin.has(full)) byPlugin.set(full, new Map());
    byPlugin.get(full)!.set(pair.key, pair.value);
  }
  return new Map([...byPlugin].map(([name, opts]) => [name, Object.fromEntries(opts)]));
}
