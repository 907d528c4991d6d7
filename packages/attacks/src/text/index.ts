/**
 * Text attacks: TextAttack-style transformations, constraints and search methods as registered components, and the
 * recipes built from them (one file each under recipes/). The contracts, goals and runner are in `@parry/core`.
 */
import type { PluginFactory } from '@parry/core';
import { constraintComponents } from './constraints.js';
import { goalComponents } from './goals.js';
import { maskedLmComponents } from './masked-lm.js';
import { bae, bertAttack, deepWordBug, hotFlip, pwws, textFooler } from './recipes/index.js';
import { searchComponents } from './search.js';
import { transformationComponents } from './transformations.js';

export * from './transformations.js';
export * from './constraints.js';
export * from './search.js';
export * from './white-box.js';
export * from './masked-lm.js';
export { goalComponents } from './goals.js';
export { pwws, textFooler, deepWordBug, hotFlip, bae, bertAttack } from './recipes/index.js';
export { BAE_MIN_SIMILARITY } from './recipes/bae.js';

/** The built-in text recipes, in the order `parry list` shows them. */
export const builtinTextAttacks: PluginFactory[] = [pwws, textFooler, deepWordBug, hotFlip, bae, bertAttack];

/** The built-in text-attack components (goals, transformations, constraints, search methods). */
export const builtinTextComponents = [...goalComponents, ...transformationComponents, ...maskedLmComponents, ...constraintComponents, ...searchComponents] as unknown as PluginFactory[];
