import type { PluginFactory, Registry } from '@parry/core';
import { earlyStopping } from './early-stopping.js';
import { fgsmRs } from './fgsm-rs.js';
import { pgdAt } from './pgd-at.js';
import { gaussianNoise, labelSmoothing, weightDecay } from './regularizers.js';
import { trades } from './trades.js';
import { fgm, freelb, pgdEmbed, rdrop, smart } from './text/embedding-defenses.js';

export {
  train,
  trainClassifier,
  learningRateAt,
  epochSeed,
  checkpointPath,
  type AdversarialTrainOptions,
  type TrainResult,
  type StopInfo,
  type TrainOptions,
  type EpochRecord,
  type LabelledTensors,
} from './trainer.js';
export { scheduledRate, type ScheduleKind, type ScheduleOptions } from './schedule.js';
export { createOptimizer, type OptimizerConfig, type OptimizerExtras, type OptimizerKind, type TrainOptimizer } from './optimizer.js';
export { linfPgd, pgdAccuracy, snapshotWeights, restoreWeights, type LinfPgdOptions, type RobustEvalOptions } from './adversarial.js';
export { writeCheckpoint, readCheckpoint, listCheckpoints, checkCheckpointDir, type ReadCheckpointOptions, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type CheckpointMeta, type CheckpointUnit } from './checkpoint.js';
export { fgsmRs, warmupFactor } from './fgsm-rs.js';
export { reinitialize, type InitScheme } from './init.js';
export { pgdAt } from './pgd-at.js';
export { trades, tradesKl, softmaxKl } from './trades.js';
export { weightDecay, labelSmoothing, gaussianNoise, smoothedCrossEntropy } from './regularizers.js';
export { earlyStopping } from './early-stopping.js';
export { a2t, a2tOptionsSchema, type A2tEpoch } from './text/a2t.js';
import { a2t } from './text/a2t.js';

/** Every built-in defense factory, in the order `parry list` shows them. */
export const builtinDefenses: PluginFactory[] = [fgsmRs, pgdAt, trades, weightDecay, labelSmoothing, gaussianNoise, earlyStopping, fgm, pgdEmbed, freelb, smart, rdrop, a2t];

/** Register the built-in defenses through the same `register` call a third-party plugin uses. */
export function registerBuiltinDefenses(registry: Registry): Registry {
  for (const f of builtinDefenses) registry.register(f, '@parry/defenses');
  return registry;
}

export {
  trainText,
  textMetrics,
  textLoss,
  positiveWeightsFor,
  cleanGradients,
  gradientsAtOffset,
  renameGrads,
  clipByGlobalNorm,
  microBatches,
  warmupLinearRate,
  layerLrScales,
  type TextModel,
  type EncodedTextSet,
  type TextStepContext,
  type StepGradients,
  type TextDefense,
  type TextTrainOptions,
  type TextEvalMetrics,
  type TextEpochRecord,
  type TextTrainResult,
} from './text/trainer.js';
export {
  eda,
  charNoise,
  augmentDataset,
  synonymReplacement,
  randomInsertion,
  randomSwap,
  randomDeletion,
  EDA_OPERATIONS,
  CHAR_EDITS,
  type EdaOptions,
  type EdaOperation,
  type CharNoiseOptions,
  type CharEdit,
  type AugmentOptions,
  type AugmentMethod,
  type AugmentableDataset,
  type AugmentableExample,
  type SynonymContext,
} from './text/augment.js';
export {
  fgm,
  pgdEmbed,
  freelb,
  smart,
  rdrop,
  embeddingPgdAccuracy,
  tokenMask,
  perExampleNorm,
  fgmPerturbation,
  projectPerturbation,
  pgdStep,
  freelbInit,
  freelbStep,
  symmetricKl,
  fgmOptionsSchema,
  pgdEmbedOptionsSchema,
  freelbOptionsSchema,
  smartOptionsSchema,
  rdropOptionsSchema,
  embeddingPgdOptionsSchema,
  type PerturbNorm,
  type EmbeddingPgdResult,
} from './text/embedding-defenses.js';
