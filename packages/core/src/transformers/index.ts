/** Transformer text classifiers: encoders, Hugging Face checkpoint I/O, the Hub cache and tokenizers. */
export * from './types.js';
export * from './config.js';
export * from './encoder.js';
export * from './safetensors.js';
export * from './hub.js';
export * from './pretrained.js';
export * from './tokenizer.js';
export * from './vocab-builder.js';
