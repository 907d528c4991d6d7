export {
  type ImageSplit,
  type ImageDataset,
  type IndexRng,
  toTensors,
  subset,
  permutation,
  batches,
} from './types.js';
export {
  type EmbeddedMnistOptions,
  loadEmbeddedMnist,
  embeddedMnistClassCounts,
  EMBEDDED_MNIST_SIZE,
  MNIST_LABEL_NAMES,
} from './mnist-embedded.js';
export {
  type IdxDtype,
  type IdxData,
  type IdxArray,
  type MnistIdxOptions,
  IDX_DTYPES,
  MAX_IDX_BYTES,
  MNIST_IDX_FILES,
  isGzip,
  parseIdx,
  readIdx,
  loadMnistIdx,
} from './idx.js';
export { type TextExample, type TextDataset, type TextFileOptions, type TextFileFormat, type TextSplit, type SkippedRow, SST2_LABEL_NAMES, MAX_TEXT_LABELS, loadSst2, loadGoEmotions, loadTextFile, multiHot, labelCounts, loadTextCorpus, type TextCorpus, type TextCorpusFormat, type TextCorpusOptions } from './text.js';
export {
  type SpamAssassinOptions,
  type SpamAssassinMetadata,
  type SpamAssassinSplit,
  type SpamAssassinCorpus,
  type SpamMalformed,
  SPAM_PACKAGE,
  SPAM_LABEL_NAMES,
  SPAM_GROUPS,
  loadSpamAssassin,
  extractMessageText,
  spamDedupKey,
  tidyText,
  defaultDataCacheDir,
} from './spam.js';
