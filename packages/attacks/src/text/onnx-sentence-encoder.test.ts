/**
 * ONNX sentence encoders through transformers.js (issue 16): a folder the test builds itself (a tiny BERT saved by
 * Parry, its encoder exported in-process with a `last_hidden_state` output) embeds as Parry's own mean-pooled encoder
 * of the same weights.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError, initBackend } from '@parry/core';
import { createTransformerClassifier, exportOnnx, loadSentenceEncoder, savePretrained, smallConfig, wordPieceTokenizer } from '@parry/text';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOnnxModelFolder, transformersJsSentenceEncoder } from './onnx-sentence-encoder.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-onnx-senc-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const WORDS = 'the a movie film was is great good bad awful plot acting really very boring fun story ending'.split(' ');
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...WORDS, '.', ','];
const TEXTS = ['the movie was great .', 'bad', 'the plot was really very boring , the acting awful and the ending bad', 'zebra quantum', 'good fun story', 'a film'];

/** A tiny BERT folder with safetensors weights, tokenizer files and `onnx/model.onnx` (the bare encoder). */
async function buildFolder(name: string): Promise<string> {
  const dir = path.join(tmp, name);
  const model = createTransformerClassifier(smallConfig('bert', { vocabSize: VOCAB.length, hiddenSize: 16, numHeads: 2, numLayers: 2, intermediateSize: 32 }), { seed: 11 });
  await savePretrained(dir, model, wordPieceTokenizer(VOCAB));
  fs.mkdirSync(path.join(dir, 'onnx'));
  fs.writeFileSync(path.join(dir, 'onnx', 'model.onnx'), exportOnnx(model, { output: 'last_hidden_state' }).bytes);
  model.dispose();
  return dir;
}

describe('transformersJsSentenceEncoder', () => {
  it('embeds an ONNX folder as Parry\'s mean-pooled encoder of the same weights (within 1e-4), in order, normalised', async () => {
    const dir = await buildFolder('both');
    expect(isOnnxModelFolder(dir)).toBe(true);
    const onnx = await transformersJsSentenceEncoder(dir, { batchSize: 4 });
    const parry = await loadSentenceEncoder(dir);
    try {
      expect(onnx.name).toBe(`${dir} (onnx, mean-pooled)`);
      const [a, b] = [await onnx.embed(TEXTS), await parry.embed(TEXTS)];
      expect(a).toHaveLength(TEXTS.length);
      for (let i = 0; i < TEXTS.length; i++) {
        expect(a[i]).toHaveLength(16);
        expect(Math.hypot(...a[i])).toBeCloseTo(1, 5);
        for (let d = 0; d < 16; d++) expect(Math.abs(a[i][d] - b[i][d])).toBeLessThan(1e-4);
      }
      // the same texts one at a time give the same vectors (batching and padding do not matter)
      const single = await Promise.all(TEXTS.map(async (t) => (await onnx.embed([t]))[0]));
      for (let i = 0; i < TEXTS.length; i++) for (let d = 0; d < 16; d++) expect(Math.abs(single[i][d] - a[i][d])).toBeLessThan(1e-5);
      expect(await onnx.embed([])).toEqual([]);
    } finally {
      await onnx.dispose();
      parry.dispose();
    }
    await expect(onnx.embed(['x'])).rejects.toThrow(/was disposed/);
  });

  it('an ONNX-only folder (no safetensors) loads here, and a missing file is one line naming it', async () => {
    const dir = await buildFolder('onnx-only');
    fs.rmSync(path.join(dir, 'model.safetensors'));
    const enc = await transformersJsSentenceEncoder(dir);
    expect((await enc.embed(['good fun story']))[0]).toHaveLength(16);
    await enc.dispose();
    await expect(loadSentenceEncoder(dir)).rejects.toThrow(/holds an ONNX model/);
    fs.rmSync(path.join(dir, 'tokenizer.json'));
    const err = await transformersJsSentenceEncoder(dir).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe(`${path.join(dir, 'tokenizer.json')} not found; an ONNX sentence encoder folder needs config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx`);
    await expect(transformersJsSentenceEncoder(path.join(tmp, 'nope'))).rejects.toThrow(/sentence encoder folder .*nope not found/);
  });
});
