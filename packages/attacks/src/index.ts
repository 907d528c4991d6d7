import type { PluginFactory, Registry } from '@parry/core';
import { fgsm } from './fgsm.js';
import { pgd } from './pgd.js';

export { fgsm } from './fgsm.js';
export { pgd } from './pgd.js';

/** Every built-in attack factory, in the order `parry list` shows them. */
export const builtinAttacks: PluginFactory[] = [fgsm, pgd];

/** Register the built-in attacks through the same `register` call a third-party plugin uses. */
export function registerBuiltinAttacks(registry: Registry): Registry {
  for (const f of builtinAttacks) registry.register(f, '@parry/attacks');
  return registry;
}
