import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '@parry/core';
import { initBackend } from '@parry/core';
import { smallConfig } from './config.js';
import { createTransformerClassifier, type TransformerClassifier } from './encoder.js';
import { loadPretrained, savePretrained } from './pretrained.js';
import { readSafetensorsFile, writeSafetensorsFile } from './safetensors.js';
import { wordPieceTokenizer } from './vocab-builder.js';
import type { HostTensor, TextBatch } from '@parry/core';

let tmp: string;
beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-pretrained-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function batch(): TextBatch {
  return {
    inputIds: tf.tensor2d([[2, 10, 11, 12, 3], [2, 13, 3, 0, 0]], [2, 5], 'int32'),
    attentionMask: tf.tensor2d([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], [2, 5], 'int32'),
  };
}

async function logitsOf(m: TransformerClassifier): Promise<number[]> {
  const b = batch();
  const l = m.logits(b);
  const v = Array.from(await l.data());
  tf.dispose([l, b.inputIds, b.attentionMask]);
  return v;
}

const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...'abcdefghijklmnopqrstuvwxyz'.split(''), 'good', 'bad', 'movie'];

describe('savePretrained / loadPretrained', () => {
  for (const family of ['bert', 'electra', 'distilbert', 'roberta'] as const) {
    it(`${family}: a saved folder loads back with identical logits and byte-identical weights`, async () => {
      const cfg = smallConfig(family, { vocabSize: 40, hiddenSize: 16, numHeads: 2, intermediateSize: 32, labelNames: ['neg', 'pos', 'mixed'], padTokenId: 0, ...(family === 'roberta' ? { maxPositions: 40 } : {}) });
      const model = createTransformerClassifier(cfg, { seed: 3 });
      const dir = path.join(tmp, family);
      const before = tf.memory().numTensors;
      await savePretrained(dir, model, wordPieceTokenizer(vocab, { lowercase: true }));
      expect(fs.readdirSync(dir).sort()).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']));
      const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
      expect(config.model_type).toBe(family);
      expect(config.id2label).toEqual({ 0: 'neg', 1: 'pos', 2: 'mixed' });
      const loaded = await loadPretrained(dir);
      expect(loaded.newlyInitialized).toEqual([]);
      expect(loaded.ignored).toEqual([]);
      expect(loaded.tokenizer?.encode('good movie').ids).toEqual([2, 31, 33, 3]);
      expect(await logitsOf(loaded.model)).toEqual(await logitsOf(model));
      const dir2 = path.join(tmp, `${family}-again`);
      await savePretrained(dir2, loaded.model);
      expect(Buffer.compare(fs.readFileSync(path.join(dir, 'model.safetensors')), fs.readFileSync(path.join(dir2, 'model.safetensors')))).toBe(0);
      loaded.model.dispose();
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    });
  }

  it('dropout replaces every dropout rate of the checkpoint config and leaves the weights alone', async () => {
    const cfg = smallConfig('bert', { vocabSize: 40, hiddenSize: 16, numHeads: 2, intermediateSize: 32, labelNames: ['neg', 'pos'], padTokenId: 0, hiddenDropout: 0.1, attentionDropout: 0.1, classifierDropout: 0.1 });
    const model = createTransformerClassifier(cfg, { seed: 5 });
    const dir = path.join(tmp, 'dropout');
    await savePretrained(dir, model, wordPieceTokenizer(vocab, { lowercase: true }));
    const kept = await loadPretrained(dir);
    expect([kept.config.hiddenDropout, kept.model.config.attentionDropout, kept.model.config.classifierDropout]).toEqual([0.1, 0.1, 0.1]);
    const set = await loadPretrained(dir, { dropout: 0.3 });
    expect([set.model.config.hiddenDropout, set.model.config.attentionDropout, set.model.config.classifierDropout]).toEqual([0.3, 0.3, 0.3]);
    expect(await logitsOf(set.model)).toEqual(await logitsOf(model)); // inference: dropout off, same weights
    for (const m of [kept.model, set.model, model]) m.dispose();
  });

  it('a base checkpoint (bare encoder names, pre-training head, no classifier) gets a new head and loads the encoder', async () => {
    const cfg = smallConfig('bert', { vocabSize: 40, hiddenSize: 16, intermediateSize: 32 });
    const model = createTransformerClassifier(cfg, { seed: 5 });
    const dir = path.join(tmp, 'base');
    await savePretrained(dir, model);
    const { tensors } = readSafetensorsFile(path.join(dir, 'model.safetensors'));
    const bare: typeof tensors = {};
    for (const [k, t] of Object.entries(tensors)) {
      if (k.startsWith('classifier.')) continue;
      bare[k.replace(/^bert\./, '')] = t;
    }
    bare['cls.predictions.bias'] = { dtype: 'F32', shape: [40], data: new Float32Array(40) };
    writeSafetensorsFile(path.join(dir, 'model.safetensors'), bare);
    const loaded = await loadPretrained(dir, { labelNames: ['a', 'b', 'c', 'd'] });
    expect(loaded.newlyInitialized.sort()).toEqual(['classifier.bias', 'classifier.weight']);
    expect(loaded.ignored).toEqual(['cls.predictions.bias']);
    expect(loaded.model.numLabels).toBe(4);
    const sd = loaded.model.stateDict();
    expect(Array.from(sd['bert.encoder.layer.1.output.dense.weight'].data as Float32Array)).toEqual(Array.from(tensors['bert.encoder.layer.1.output.dense.weight'].data as Float32Array));
    loaded.model.dispose();
    model.dispose();
  });

  it('missing encoder weights are one clear error; .bin-only folders are refused', async () => {
    const cfg = smallConfig('bert', { vocabSize: 40, hiddenSize: 16, intermediateSize: 32 });
    const model = createTransformerClassifier(cfg);
    const dir = path.join(tmp, 'broken');
    await savePretrained(dir, model);
    model.dispose();
    const { tensors } = readSafetensorsFile(path.join(dir, 'model.safetensors'));
    delete tensors['bert.encoder.layer.0.attention.self.query.weight'];
    writeSafetensorsFile(path.join(dir, 'model.safetensors'), tensors);
    await expect(loadPretrained(dir)).rejects.toThrow(/lacks 1 encoder weight.*attention\.self\.query\.weight/);
    const pickled = path.join(tmp, 'pickled');
    fs.mkdirSync(pickled);
    fs.copyFileSync(path.join(dir, 'config.json'), path.join(pickled, 'config.json'));
    fs.writeFileSync(path.join(pickled, 'pytorch_model.bin'), 'not read');
    await expect(loadPretrained(pickled)).rejects.toThrow(/safetensors/);
  });

  /** A saved tiny BERT folder whose tensors `edit` may change (the config.json too). */
  async function folder(name: string, edit: (t: Record<string, HostTensor>, config: Record<string, unknown>) => void): Promise<string> {
    const model = createTransformerClassifier(smallConfig('bert', { vocabSize: 40, hiddenSize: 16, intermediateSize: 32 }), { seed: 1 });
    const dir = path.join(tmp, name);
    await savePretrained(dir, model, wordPieceTokenizer(vocab, { lowercase: true }));
    model.dispose();
    const file = path.join(dir, 'model.safetensors');
    const { tensors } = readSafetensorsFile(file);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    edit(tensors, config);
    writeSafetensorsFile(file, tensors);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
    return dir;
  }

  async function loadError(dir: string, options = {}): Promise<Error> {
    try {
      const p = await loadPretrained(dir, options);
      p.model.dispose();
    } catch (e) {
      return e as Error;
    }
    throw new Error('expected loadPretrained to fail');
  }

  it('NaN word embeddings in a loaded folder are refused at load, naming the tensor', async () => {
    const dir = await folder('nan-emb', (t) => {
      (t['bert.embeddings.word_embeddings.weight'].data as Float32Array)[17] = NaN;
    });
    const before = tf.memory().numTensors;
    const e = await loadError(dir);
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toMatch(/tensor "bert\.embeddings\.word_embeddings\.weight" has a NaN at index 17; the checkpoint is corrupt/);
    expect(e.message).not.toMatch(/\n/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('an Inf in any weight (classifier.weight) is refused at load, naming the tensor', async () => {
    const dir = await folder('inf-head', (t) => {
      (t['classifier.weight'].data as Float32Array)[3] = -Infinity;
    });
    const e = await loadError(dir);
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toMatch(/tensor "classifier\.weight" has a -Infinity at index 3/);
  });

  it('a fine-tuned folder (BertForSequenceClassification) without classifier.* weights is refused, not evaluated with a random head', async () => {
    const dir = await folder('no-head', (t) => {
      delete t['classifier.weight'];
      delete t['classifier.bias'];
    });
    const before = tf.memory().numTensors;
    const e = await loadError(dir);
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toMatch(/config\.json says BertForSequenceClassification but .*model\.safetensors has no classifier\.bias, classifier\.weight/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a base checkpoint without a head is refused unless a fresh head is asked for (then listed in newlyInitialized)', async () => {
    const dir = await folder('base-no-head', (t, config) => {
      delete t['classifier.weight'];
      delete t['classifier.bias'];
      config.architectures = ['BertForMaskedLM'];
    });
    expect((await loadError(dir)).message).toMatch(/has no classification head \(classifier\.bias, classifier\.weight\)/);
    const p = await loadPretrained(dir, { newHead: true });
    expect(p.newlyInitialized.sort()).toEqual(['classifier.bias', 'classifier.weight']);
    p.model.dispose();
  });

  it('config.json whose shapes disagree with the model.safetensors header is refused before the model is allocated', async () => {
    const dir = await folder('shape-mismatch', (_t, config) => {
      config.vocab_size = 900_000;
    });
    const before = tf.memory();
    const e = await loadError(dir);
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toMatch(/tensor "bert\.embeddings\.word_embeddings\.weight" has shape \[40, 16\] but config\.json needs \[900000, 16\]/);
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
  });
});
