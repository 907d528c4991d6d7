import type { PluginFactory, Registry } from '@parry/core';
import { fgsm } from './fgsm.js';
import { pgd } from './pgd.js';
import { bim } from './bim.js';
import { mim } from './mim.js';
import { deepfool } from './deepfool.js';
import { carliniWagnerL2 } from './carlini-wagner.js';
import { apgd } from './apgd.js';
import { apgdT } from './apgd-t.js';
import { square } from './square.js';
import { fab } from './fab.js';
import { fabT } from './fab-t.js';
import { autoAttack } from './autoattack.js';

export { fgsm } from './fgsm.js';
export { pgd } from './pgd.js';
export { bim, kurakinSteps } from './bim.js';
export { mim } from './mim.js';
export { deepfool } from './deepfool.js';
export { carliniWagnerL2, cw } from './carlini-wagner.js';
export { apgd, apgdCheckpoints, type ApgdLoss } from './apgd.js';
export { apgdT } from './apgd-t.js';
export { square, scoresOnly, squareFraction } from './square.js';
export { fab, projectOnHyperplaneBox } from './fab.js';
export { fabT } from './fab-t.js';
export { multiAttack, runSequence, type SequenceOptions, type SequenceResult, type SequenceStage } from './multi-attack.js';
export {
  autoAttack,
  runAutoAttack,
  autoAttackPlan,
  autoAttackOptions,
  AUTOATTACK_STAGES,
  type AutoAttackOptions,
  type AutoAttackRunOptions,
  type AutoAttackStage,
  type AutoAttackVersion,
} from './autoattack.js';

/** Every built-in attack factory, in the order `parry list` shows them. */
export const builtinAttacks: PluginFactory[] = [fgsm, pgd, bim, mim, deepfool, carliniWagnerL2, apgd, apgdT, fab, fabT, square, autoAttack];

/**
 * Register the built-in attacks — image attacks, text recipes and the text components recipes are made of — through
 * the same `register` call a third-party plugin uses.
 */
export function registerBuiltinAttacks(registry: Registry): Registry {
  for (const f of [...builtinAttacks, ...builtinTextAttacks, ...builtinTextComponents]) registry.register(f, '@parry/attacks');
  return registry;
}

export * from './text/index.js';
import { builtinTextAttacks, builtinTextComponents } from './text/index.js';
export { transformersJsVictim, type TransformersJsVictim, type TransformersJsVictimOptions } from './text/blackbox.js';
export {
  isOnnxModelFolder,
  transformersJsSentenceEncoder,
  type TransformersJsSentenceEncoder,
  type TransformersJsSentenceEncoderOptions,
} from './text/onnx-sentence-encoder.js';
