/** Parry's library API (see README): the CLI only wraps these functions. */
export { type Progress, type RunHooks, setupBackend, resultsHeader, checkRunName } from './run.js';
export { type ImageDataRef, loadImageData } from './image-data.js';
export { type TextDataFormat, type TextDataSpec, type KnownLabels, EMBEDDED_TEXT_DATA, isEmbeddedTextData, loadTextSplit, encodeDataset } from './text-data.js';
export { TRAINING_FILE, type TrainingInfo, readTrainingInfo, trainingInfoJson } from './training-info.js';
export { countTruncation, modelTruncation, truncationLine, truncationSection } from './truncation.js';
export { type OptionPair, type PluginOptionsRequest, parseOptionPairs, pluginOptions, checkOptionKey } from './option-pairs.js';
export {
  type LoadedPlugin,
  type LoadedPlugins,
  type PluginLoaders,
  DEFAULT_PLUGIN_LOADERS,
  CONFIG_FILES,
  CORE_VERSION,
  createParryRegistry,
  factoriesOf,
  loadPlugins,
  pluginRegistry,
  resolveFromCwd,
} from './plugins.js';
export { type OptionsByPlugin, attackOptionsFromPairs, createDefenses, createImageAttacks, resolveNames, resolveOptions } from './build-plugins.js';
export {
  type EvaluateImageOptions,
  type ImageRobustnessOptions,
  type RegistrySource,
  type TrainImageOptions,
  type TrainImageOutcome,
  evaluateImageModel,
  imageAccuracy,
  imageAttackEntries,
  imageModelInfo,
  imageRobustness,
  openRegistry,
  trainImageModel,
} from './image.js';
export {
  type EvaluateTextOptions,
  type EvaluateTextOutcome,
  type TextCleanMetrics,
  type TextModelSpec,
  type TextRobustnessOptions,
  type TextSplitName,
  type TrainTextOptions,
  type TrainTextOutcome,
  buildTextModel,
  evaluateTextModel,
  hubOptions,
  isTextModel,
  textCleanMetrics,
  textCleanSection,
  textModelInfo,
  textRobustness,
  trainTextModel,
} from './text.js';
export { type ImageDataInput, type RobustnessOptions, type TextDataInput, type TextModelInput, robustness } from './robustness.js';
export * from './text-attack.js';
export { openSentenceEncoder, type OpenedSentenceEncoder } from './sentence-encoder.js';
export { type AugmentOutputFormat, type AugmentTextOptions, type AugmentOutcome, augmentTextData, formatAugmented, outputFormat } from './augment.js';
export { type GateResultsOptions, gateResults, loadGateConfig } from './gate.js';
export { checkShard, parseShard, SHARD_INDEX_VARIABLES, type ShardSpec, shardBlock } from './shard.js';
export { mergeResults, mergeShardOutputs, type ShardOutput } from './merge.js';
export { imageDataSha256, textDataSha256, textModelSha256 } from './fingerprint.js';
export { type Journal, journalPath, openJournal } from './journal.js';
export {
  type HeldOutMetrics,
  type PretrainOptions,
  type PretrainOutcome,
  type PretrainRecord,
  type PretrainStepInfo,
  PRETRAINING_FILE,
  documentRows,
  heldOutMetrics,
  maskedCrossEntropy,
  maskedLmTerms,
  pretrainMaskedLm,
} from './pretrain.js';
