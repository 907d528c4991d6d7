/**
 * Masked-LM folders in the pipelines: textResources' masked language model (the --masked-lm folder loaded once,
 * answering as the MLM itself does) and `parry train --model <masked-LM folder>` (issue 15).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, InputError, UsageError } from '@parry/core';
import { createMaskedLanguageModel, createMaskedLm, saveMaskedLm, smallConfig, wordPieceTokenizer } from '@parry/text';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textResources } from './text-attack.js';
import { buildTextModel } from './text.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-mlm-res-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const blackBox = { name: 'bb', labelNames: ['neg', 'pos'], outputKind: 'single-label' as const, queries: 0, predict: async (t: readonly string[]) => new Float32Array(t.length * 2).fill(0.5) };
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'movie', 'was', 'good', 'bad', 'great', 'fun', 'dull', '##ly', ','];

describe('textResources: masked language model', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'cpu' });
  });

  it('loads the folder once and answers exactly as the masked LM in memory', async () => {
    const config = smallConfig('bert', { vocabSize: VOCAB.length, hiddenSize: 16, numHeads: 2, intermediateSize: 32, maxPositions: 16, initializerRange: 0.5 });
    const mlm = createMaskedLm(config, { seed: 4 });
    const tokenizer = wordPieceTokenizer(VOCAB);
    const folder = path.join(dir, 'mlm');
    await saveMaskedLm(folder, mlm, tokenizer);
    const r = textResources({ victim: blackBox, maskedLm: folder });
    const lm = await r.maskedLm();
    expect(await r.maskedLm()).toBe(lm);
    expect(lm.name).toBe(`masked-lm ${folder}`);
    const words = ['the', 'movie', 'was', 'good'];
    const got = await lm.predictBatch([{ words, index: 3, k: 4 }, { words, index: 1, k: 3, mode: 'unmasked' }]);
    const expected = await createMaskedLanguageModel(mlm, tokenizer).predictBatch([{ words, index: 3, k: 4 }, { words, index: 1, k: 3, mode: 'unmasked' }]);
    expect(got).toEqual(expected);
    expect(got[0]).toHaveLength(4);
    mlm.dispose();
  });

  it('without a folder, or a folder without tokenizer files: one line saying what to pass', async () => {
    await expect(textResources({ victim: blackBox }).maskedLm()).rejects.toThrow(UsageError);
    const config = smallConfig('bert', { vocabSize: VOCAB.length, hiddenSize: 16, numHeads: 2, intermediateSize: 32, maxPositions: 16 });
    const mlm = createMaskedLm(config);
    const folder = path.join(dir, 'no-tokenizer');
    await saveMaskedLm(folder, mlm);
    mlm.dispose();
    const before = tf.memory().numTensors;
    const e = await textResources({ victim: blackBox, maskedLm: folder }).maskedLm().catch((x) => x);
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toMatch(/--masked-lm .*no-tokenizer has no tokenizer files/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('training from a masked-LM folder starts from its encoder, with a new classification head, and says so', async () => {
    const config = smallConfig('bert', { vocabSize: VOCAB.length, hiddenSize: 16, numHeads: 2, intermediateSize: 32, maxPositions: 16 });
    const mlm = createMaskedLm(config, { seed: 6 });
    const folder = path.join(dir, 'pretrained-mlm');
    await saveMaskedLm(folder, mlm, wordPieceTokenizer(VOCAB));
    const lines: string[] = [];
    const train = { name: 't', source: 't', multiLabel: false, labelNames: ['neg', 'pos'], examples: [] };
    const built = await buildTextModel({ model: folder, maxLength: 16, seed: 0 }, train, { log: (l) => lines.push(l) });
    expect(built.pretrained).toBe(true);
    expect(lines.join('\n')).toMatch(/encoder from the masked-LM checkpoint .*pretrained-mlm \(BertForMaskedLM\); its masked-LM head \(5 tensors\) is not used and the classification head \(bert\.pooler\.dense\.bias, .*classifier\.weight\) is newly initialised/);
    const a = mlm.stateDict();
    const b = built.model.stateDict();
    for (const name of Object.keys(a).filter((n) => n.startsWith('bert.'))) expect(Array.from(b[name].data as Float32Array), name).toEqual(Array.from(a[name].data as Float32Array));
    built.model.dispose();
    mlm.dispose();
  });
});
