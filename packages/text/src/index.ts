/**
 * Parry's text runtime: Transformer encoders in tfjs, Hugging Face checkpoint I/O, the Hub cache, tokenizers, and the
 * word resources that text attacks and augmentation share. The contracts (tokenizer, batch, model handle) are in
 * `@parry/core`; this package implements them.
 */
export * from './config.js';
export * from './encoder.js';
export * from './mlm.js';
export * from './masked-language-model.js';
export * from './mlm-masking.js';
export * from './safetensors.js';
export * from './hub.js';
export * from './pretrained.js';
export * from './tokenizer.js';
export { cutOverlong, keptTokens, spaceCutSafe, type TextCut, visibleWordsOf } from './truncation-cut.js';
export * from './vocab-builder.js';
export * from './resources/wordnet.js';
export * from './resources/stopwords.js';
export * from './resources/keyboard.js';
export * from './resources/word-vectors.js';
export * from './resources/pos.js';
export * from './batching.js';
export * from './inference.js';
export * from './memory.js';
export * from './onnx-export.js';
export * from './onnx-runtime.js';
export * from './sentence-encoder.js';
