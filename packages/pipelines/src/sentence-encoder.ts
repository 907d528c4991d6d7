/**
 * The sentence encoder a user names (`--sentence-encoder <folder>`, `sentenceEncoder`): a Parry or Hugging Face
 * encoder folder (mean-pooled hidden states in tfjs) or an ONNX sentence-embedding folder (transformers.js).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isOnnxModelFolder, transformersJsSentenceEncoder } from '@parry/attacks';
import { InputError, type SentenceEncoder } from '@parry/core';
import { loadSentenceEncoder } from '@parry/text';

/** A sentence encoder this process loaded; `dispose` releases its weights or ONNX session. */
export type OpenedSentenceEncoder = SentenceEncoder & { dispose(): void | Promise<void> };

/**
 * Open the sentence encoder in `folder`: a Parry or Hugging Face encoder folder with `model.safetensors` (any family
 * Parry implements, a classifier or a base / sentence-transformers checkpoint: mean-pooled last hidden states,
 * `loadSentenceEncoder`), else an ONNX sentence-embedding folder with `onnx/model.onnx` (e.g. a sentence-transformers
 * export, through transformers.js: `transformersJsSentenceEncoder`). A folder with both whose safetensors Parry cannot
 * load (a family it lacks, such as MPNet) is run from its ONNX file.
 *
 * @param flag how messages name the input (default `--sentence-encoder`).
 * @throws InputError naming the folder when it is missing or holds neither.
 */
export async function openSentenceEncoder(folder: string, flag = '--sentence-encoder'): Promise<OpenedSentenceEncoder> {
  const dir = path.resolve(folder);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new InputError(
      `${flag} ${folder}: no such folder; give an encoder folder (config.json, model.safetensors, tokenizer files) or an ONNX sentence-embedding folder (onnx/model.onnx)`,
    );
  }
  const onnx = isOnnxModelFolder(dir);
  if (fs.existsSync(path.join(dir, 'model.safetensors'))) {
    try {
      return await loadSentenceEncoder(dir);
    } catch (e) {
      if (!onnx) throw e;
    }
  }
  if (onnx) return transformersJsSentenceEncoder(dir);
  throw new InputError(`${flag} ${folder}: holds neither model.safetensors nor onnx/model.onnx; give an encoder folder or an ONNX sentence-embedding folder`);
}
