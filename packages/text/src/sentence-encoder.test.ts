/**
 * Sentence encoders from Parry / Hugging Face encoder folders (issue 16): attention-masked mean pooling of the last
 * hidden states, independent of batching and padding, no tensor left behind.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { InputError, initBackend } from '@parry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smallConfig } from './config.js';
import { createTransformerClassifier } from './encoder.js';
import { savePretrained } from './pretrained.js';
import { loadSentenceEncoder, pooledSentenceEncoder } from './sentence-encoder.js';
import { wordPieceTokenizer } from './tokenizer.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

const WORDS = 'the a movie film was is great good bad awful plot acting really very boring fun story ending'.split(' ');
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...WORDS, '.', ','];
const TEXTS = [
  'the movie was great .',
  'bad',
  'the plot was really very boring , the acting awful and the ending bad',
  'zebra quantum',
  '',
  'good fun story',
];

const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) fs.rmSync(d, { recursive: true, force: true });
});

const model = (family: 'bert' | 'roberta' = 'bert') =>
  createTransformerClassifier(smallConfig(family, { vocabSize: VOCAB.length + (family === 'roberta' ? 2 : 0), hiddenSize: 16, numHeads: 2, numLayers: 2, intermediateSize: 32 }), { seed: 3 });

/** The mean of the hidden states of `text` alone (no padding), L2-normalised, computed on the host. */
async function reference(m: ReturnType<typeof model>, ids: number[]): Promise<Float32Array> {
  const batch = { inputIds: tf.tensor2d([ids], [1, ids.length], 'int32'), attentionMask: tf.ones([1, ids.length], 'int32') as tf.Tensor2D };
  const h = m.hiddenStates(batch);
  const v = (await h.data()) as Float32Array;
  tf.dispose([h, batch.inputIds, batch.attentionMask]);
  const H = m.config.hiddenSize;
  const mean = new Float32Array(H);
  for (let t = 0; t < ids.length; t++) for (let d = 0; d < H; d++) mean[d] += v[t * H + d] / ids.length;
  const norm = Math.hypot(...mean);
  return mean.map((x) => x / norm);
}

describe('TransformerClassifier.hiddenStates', () => {
  it('gives [B, T, H]; padded rows match the same text alone at its real tokens', async () => {
    const m = model();
    const tok = wordPieceTokenizer(VOCAB);
    const before = tf.memory().numTensors;
    const a = tok.encode(TEXTS[0]).ids;
    const b = tok.encode(TEXTS[2]).ids;
    const T = b.length;
    const ids = tf.tensor2d([[...a, ...Array(T - a.length).fill(0)], b], [2, T], 'int32');
    const mask = tf.tensor2d([[...a.map(() => 1), ...Array(T - a.length).fill(0)], b.map(() => 1)], [2, T], 'int32');
    const h = m.hiddenStates({ inputIds: ids, attentionMask: mask });
    expect(h.shape).toEqual([2, T, 16]);
    const padded = (await h.data()) as Float32Array;
    const aIds = tf.tensor2d([a], [1, a.length], 'int32');
    const aMask = tf.ones([1, a.length], 'int32') as tf.Tensor2D;
    const alone = m.hiddenStates({ inputIds: aIds, attentionMask: aMask });
    const single = (await alone.data()) as Float32Array;
    for (let i = 0; i < a.length * 16; i++) expect(padded[i]).toBeCloseTo(single[i], 5);
    tf.dispose([h, ids, mask, alone, aIds, aMask]);
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });
});

describe('pooledSentenceEncoder', () => {
  it('is the attention-masked mean of the hidden states, normalised, in the input order, whatever the batching', async () => {
    const m = model();
    const tok = wordPieceTokenizer(VOCAB);
    const enc = pooledSentenceEncoder(m, tok, { batchSize: 2 });
    const before = tf.memory().numTensors;
    const got = await enc.embed(TEXTS);
    expect(tf.memory().numTensors).toBe(before);
    expect(got).toHaveLength(TEXTS.length);
    for (let i = 0; i < TEXTS.length; i++) {
      expect(got[i]).toHaveLength(16);
      const want = await reference(m, tok.encode(TEXTS[i]).ids);
      for (let d = 0; d < 16; d++) expect(got[i][d]).toBeCloseTo(want[d], 5);
    }
    // one at a time and all in one batch give the same vectors (padding never leaks into the mean)
    const one = await pooledSentenceEncoder(m, tok, { batchSize: 1 }).embed(TEXTS);
    const all = await pooledSentenceEncoder(m, tok, { batchSize: 64 }).embed(TEXTS);
    for (let i = 0; i < TEXTS.length; i++) for (let d = 0; d < 16; d++) {
      expect(one[i][d]).toBeCloseTo(got[i][d], 5);
      expect(all[i][d]).toBeCloseTo(got[i][d], 5);
    }
    expect(tf.memory().numTensors).toBe(before);
    const raw = await pooledSentenceEncoder(m, tok, { normalize: false }).embed([TEXTS[0]]);
    expect(Math.abs(Math.hypot(...raw[0]) - 1)).toBeGreaterThan(1e-3);
    expect(await enc.embed([])).toEqual([]);
    m.dispose();
  });

  it('truncates to maxLength and refuses a maxLength over the positions', async () => {
    const m = model();
    const tok = wordPieceTokenizer(VOCAB);
    const long = Array(300).fill('good').join(' ');
    const [cut] = await pooledSentenceEncoder(m, tok, { maxLength: 20 }).embed([long]);
    const want = await reference(m, tok.encode(long, { maxLength: 20 }).ids);
    for (let d = 0; d < 16; d++) expect(cut[d]).toBeCloseTo(want[d], 5);
    expect(() => pooledSentenceEncoder(m, tok, { maxLength: 1000 })).toThrow(/maxLength must be an integer from 2 to the encoder's 128 positions/);
    m.dispose();
  });
});

describe('loadSentenceEncoder', () => {
  it('loads a saved encoder folder (roberta too) and embeds as the in-memory model; dispose frees every tensor', async () => {
    for (const family of ['bert', 'roberta'] as const) {
      const m = model(family);
      const tok = wordPieceTokenizer(VOCAB);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-senc-'));
      tmp.push(dir);
      await savePretrained(path.join(dir, 'enc'), m, tok);
      const want = await pooledSentenceEncoder(m, tok).embed(TEXTS);
      m.dispose();
      const before = tf.memory().numTensors;
      const enc = await loadSentenceEncoder(path.join(dir, 'enc'));
      expect(enc.name).toContain(path.join(dir, 'enc'));
      expect(enc.dim).toBe(16);
      const got = await enc.embed(TEXTS);
      for (let i = 0; i < TEXTS.length; i++) for (let d = 0; d < 16; d++) expect(got[i][d]).toBeCloseTo(want[i][d], 5);
      enc.dispose();
      expect(tf.memory().numTensors).toBe(before);
      await expect(enc.embed(['x'])).rejects.toThrow(/was disposed/);
    }
  });

  it('names what is wrong with a folder in one line', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-senc-'));
    tmp.push(dir);
    fs.mkdirSync(path.join(dir, 'onnx'));
    fs.writeFileSync(path.join(dir, 'config.json'), '{}');
    fs.writeFileSync(path.join(dir, 'onnx', 'model.onnx'), 'x');
    const err = await loadSentenceEncoder(dir).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/holds an ONNX model .*transformersJsSentenceEncoder/);
    const m = model();
    await savePretrained(path.join(dir, 'notok'), m);
    m.dispose();
    const before = tf.memory().numTensors;
    await expect(loadSentenceEncoder(path.join(dir, 'notok'))).rejects.toThrow(/has no tokenizer files/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
