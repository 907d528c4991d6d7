export { ParryError, UsageError, InputError, isParryError } from './errors.js';
export { createRng, type Rng } from './rng.js';
export {
  type Classifier,
  type ClassifierOptions,
  type LayersModelOptions,
  type ModelCapabilities,
  type OutputKind,
  fromFunction,
  fromLayersModel,
  predict,
  logitsInBatches,
} from './model.js';
export {
  type Criterion,
  untargeted,
  targeted,
  criterionLabels,
  criterionLoss,
  crossEntropy,
  isAdversarial,
  sliceCriterion,
  criterionFor,
} from './criteria.js';
export {
  type Norm,
  NORMS,
  norm,
  distance,
  clipToBounds,
  projectDelta,
  project,
  ascentDirection,
  randomInBall,
} from './distances.js';
export { lossAndGradient, type LossAndGradient } from './gradients.js';
export {
  type AttackContext,
  type AttackCounters,
  type AttackNeed,
  type AttackPlugin,
  type ImageAttackPlugin,
  type TextAttackPlugin,
  type TextAttackSpec,
  type TextBuildContext,
  type TextComponentKind,
  type TextComponentInstance,
  type TextComponentPlugin,
  type AnyTextComponentPlugin,
  type TextComponentSpec,
  type Modality,
  type PluginKind,
  PLUGIN_KINDS,
  defineTextAttack,
  defineTextComponent,
  type AttackRunOutput,
  type AttackStageCount,
  type AttackSpec,
  type DefensePlugin,
  type ImageDefensePlugin,
  type TextDefensePlugin,
  type ImageDefenseSpec,
  type TextDefenseSpec,
  type Plugin,
  type PluginFactory,
  type PluginName,
  defineAttack,
  parseOptions,
  formatOptionError,
} from './plugin.js';
export { Registry, createRegistry, validatePluginShape, schemaOptionNames, checkOptionKey, checkedOptions, type PluginInfo, type OptionInfo } from './registry.js';
export { PluginError, guardPluginCall, guardPluginCallSync, isLiveTensor, describeReturned, type PluginGuardOptions } from './plugin-guard.js';
export {
  runAttack,
  disposeAttackResult,
  validateEpsilons,
  checkCompatible,
  checkRunOutput,
  type AttackResult,
  type EpsilonResult,
  type RunAttackOptions,
} from './run-attack.js';
export {
  initBackend,
  getBackendInfo,
  chooseWasmThreads,
  describeBackend,
  AUTO_THREADS_MIN_HIDDEN,
  type BackendInfo,
  type BackendName,
  type InitBackendOptions,
  type ThreadChoice,
  type ThreadWorkload,
} from './backend.js';
export { registerWasmPolyfills, type PolyfillOptions } from './polyfills/index.js';
export { MAX_INPUT_BYTES, MAX_TEXT_BYTES, readInputBytes, decodeUtf8, firstInvalidUtf8, type ReadHints } from './bounded-read.js';
export { writeFileAtomic, writeDirAtomic, recoverInterrupted, type Recovery, type WriteDirOptions } from './fs-atomic.js';
export {
  guardOutput,
  writeOutputDir,
  readOutputManifest,
  writeOutputManifest,
  OUTPUT_MANIFEST,
  REPORT_FILES,
  type GuardOptions,
  type OutputPathKind,
  type OutputManifest,
} from './output-guard.js';
export { saveModel, loadModel, MODEL_FORMAT, MODEL_FORMAT_VERSION, type ModelMeta, type SaveModelOptions, type LoadedModel } from './model-io.js';
export { environmentInfo, type EnvironmentInfo } from './environment.js';
export { z } from 'zod';
export { mnistCnn, type MnistCnnOptions } from './models.js';
export {
  type AfterEpochDecision,
  type DefenseEpochContext,
  type DefenseHooks,
  type DefenseSpec,
  type DefenseDomain,
  type DefenseState,
  type DefenseStepContext,
  type TrainBatch,
  defineDefense,
} from './plugin.js';
export { givenTarget, randomTarget, leastLikely, dlrLoss, logitMargin } from './criteria.js';
export {
  defineConfig,
  type ParryConfig,
  type ParryGateConfig,
  type ParryGateKey,
  type ParryGateMaxDrop,
  type ParryGateThresholds,
  type ParryPluginDefaults,
  type ParryPluginOptions,
} from './config.js';
export * from './text-types.js';
export * from './truncation.js';
export type { TextModel, TextStepContext, StepGradients, TextDefenseHooks, TextTrainingSet, TextEpochContext, TextAttackRunner } from './text-defense.js';
export * from './text-attack/index.js';
export { composeTextAttack, buildTextAttack, textBuildContext, type ComponentRef, type ComposeTextAttackSpec } from './text-attack/build.js';
