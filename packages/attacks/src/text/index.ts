/** Text attacks: TextAttack-style goal functions, transformations, constraints, search methods, recipes and runner. */
import { constraintComponents } from './constraints.js';
import { describeTextComponent, type TextComponent, type TextComponentInfo } from './components.js';
import { goalComponents } from './goals.js';
import { recipeComponents } from './recipes.js';
import { searchComponents } from './search.js';
import { transformationComponents } from './transformations.js';

export type { TextVictim } from './victim.js';
export * from './words.js';
export * from './components.js';
export * from './goals.js';
export * from '@parry/text';
export * from './transformations.js';
export * from './constraints.js';
export * from './search.js';
export * from './attack.js';
export * from './recipes.js';
export * from './white-box.js';
export * from './adversarial-training.js';

/** Every built-in text-attack component (recipes first), in the order `parry list` shows them. */
export const textComponents: readonly TextComponent[] = [
  ...recipeComponents,
  ...goalComponents,
  ...transformationComponents,
  ...constraintComponents,
  ...searchComponents,
];

/** `parry list` rows for the text-attack components. */
export function textComponentInfo(): TextComponentInfo[] {
  return textComponents.map(describeTextComponent);
}
