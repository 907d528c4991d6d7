/**
 * Masked-LM heads: parity with an independent PyTorch reference (scripts/make-parity-fixtures.py: torch modules with
 * HF-named weights, the decoder tied to the word embeddings) for all four families, tied names present or absent,
 * and folders through saveMaskedLm / loadMaskedLm / loadPretrained.
 */
import * as tf from '@tensorflow/tfjs-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, InputError } from '@parry/core';
import { parseHfConfig, smallConfig } from './config.js';
import { createMaskedLm, loadMaskedLm, type MaskedLm, maskedLmParameterShapes, saveMaskedLm } from './mlm.js';
import { loadPretrained, savePretrained } from './pretrained.js';
import { parseSafetensors, serializeSafetensors } from './safetensors.js';
import { wordPieceTokenizer } from './tokenizer.js';
import { createTransformerClassifier } from './encoder.js';
import type { HostTensor, ModelFamily } from '@parry/core';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../test/fixtures/transformers-mlm');
const FAMILIES: ModelFamily[] = ['bert', 'electra', 'distilbert', 'roberta'];
const TOLERANCE = 1e-4;
/** The tied decoder weight and (BERT/RoBERTa) decoder bias under their own names. */
const TIED: Record<ModelFamily, { weight: string; bias?: string; biasOf?: string }> = {
  bert: { weight: 'cls.predictions.decoder.weight', bias: 'cls.predictions.decoder.bias', biasOf: 'cls.predictions.bias' },
  roberta: { weight: 'lm_head.decoder.weight', bias: 'lm_head.decoder.bias', biasOf: 'lm_head.bias' },
  distilbert: { weight: 'vocab_projector.weight' },
  electra: { weight: 'generator_lm_head.weight' },
};

interface Reference {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
  /** [B][T][V], null at padded positions. */
  logits: Array<Array<number[] | null>>;
}

const present = FAMILIES.every((f) => fs.existsSync(path.join(FIXTURES, f, 'model.safetensors')));
if (!present) console.warn(`masked-LM parity tests skipped: fixtures missing under ${FIXTURES}; run /usr/bin/python3 scripts/make-parity-fixtures.py`);

function loadFixture(family: ModelFamily) {
  const dir = path.join(FIXTURES, family);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const config = parseHfConfig(json, `${family}/config.json`);
  const file = path.join(dir, 'model.safetensors');
  const { tensors } = parseSafetensors(new Uint8Array(fs.readFileSync(file)), file);
  const reference = JSON.parse(fs.readFileSync(path.join(dir, 'reference.json'), 'utf8')) as Reference;
  return { dir, json, config, tensors, reference };
}

function withBatch<T>(ref: Reference, fn: (batch: { inputIds: tf.Tensor2D; attentionMask: tf.Tensor2D; tokenTypeIds: tf.Tensor2D }) => T): T {
  const batch = {
    inputIds: tf.tensor2d(ref.input_ids, undefined, 'int32'),
    attentionMask: tf.tensor2d(ref.attention_mask, undefined, 'int32'),
    tokenTypeIds: tf.tensor2d(ref.token_type_ids, undefined, 'int32'),
  };
  try {
    return fn(batch);
  } finally {
    tf.dispose([batch.inputIds, batch.attentionMask, batch.tokenTypeIds]);
  }
}

/** max |logits - reference| over the real tokens; leaves no tensors behind. */
function parityDiff(model: MaskedLm, ref: Reference): number {
  const rows = withBatch(ref, (batch) => {
    const t = model.mlmLogits(batch);
    const out = t.arraySync();
    t.dispose();
    return out;
  });
  let m = 0;
  let compared = 0;
  ref.logits.forEach((seq, b) =>
    seq.forEach((expected, t) => {
      if (!expected) return;
      expect(rows[b][t].length).toBe(expected.length);
      expected.forEach((v, j) => (m = Math.max(m, Math.abs(v - rows[b][t][j]))));
      compared++;
    }),
  );
  expect(compared).toBe(ref.attention_mask.flat().filter((x) => x === 1).length);
  return m;
}

function without(tensors: Record<string, HostTensor>, names: Array<string | undefined>): Record<string, HostTensor> {
  const out = { ...tensors };
  for (const n of names) if (n) delete out[n];
  return out;
}

function withTied(family: ModelFamily, tensors: Record<string, HostTensor>): Record<string, HostTensor> {
  const t = TIED[family];
  const out = { ...tensors, [t.weight]: tensors[`${family}.embeddings.word_embeddings.weight`] };
  if (t.bias) out[t.bias] = tensors[t.biasOf!];
  return out;
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe.skipIf(!present)(`masked-LM parity with the torch reference (${backend})`, () => {
    beforeAll(async () => {
      await initBackend({ backend });
    });

    for (const family of FAMILIES) {
      it(`${family}: logits within ${TOLERANCE}, with and without the tied names in the checkpoint`, () => {
        expect(tf.getBackend()).toBe(backend);
        const { config, tensors, reference } = loadFixture(family);
        const before = tf.memory().numTensors;
        const t = TIED[family];
        // The fixtures hold the tied names for BERT and RoBERTa and omit them for DistilBERT and ELECTRA.
        expect(t.weight in tensors).toBe(family === 'bert' || family === 'roberta');
        const variants = { omitted: without(tensors, [t.weight, t.bias]), present: withTied(family, tensors) };
        const diffs: number[] = [];
        for (const [how, state] of Object.entries(variants)) {
          const model = createMaskedLm(config, { seed: 3 });
          expect(model.tied).toBe(true);
          model.loadStateDict(state, { source: `${family}/model.safetensors (tied names ${how})` });
          const withModel = tf.memory().numTensors;
          const diff = parityDiff(model, reference);
          expect(tf.memory().numTensors).toBe(withModel);
          diffs.push(diff);
          console.log(`mlm parity ${backend} ${family} (tied names ${how}): max |logits - reference| = ${diff.toExponential(2)}`);
          expect(diff).toBeLessThanOrEqual(TOLERANCE);
          // stateDict: every tensor once, under the parameter's own name (no tied duplicates), values exact.
          const state2 = model.stateDict();
          expect(Object.keys(state2).sort()).toEqual(Object.keys(variants.omitted).sort());
          for (const [name, v] of Object.entries(variants.omitted)) expect(Array.from(state2[name].data as Float32Array), name).toEqual(Array.from(v.data as Float32Array));
          model.dispose();
        }
        expect(diffs[0]).toBe(diffs[1]);
        expect(tf.memory().numTensors).toBe(before);
      });
    }

    if (backend === 'cpu') {
      it('the tolerance is meaningful: a 1% change of the head LayerNorm weight or bias moves the logits by more', () => {
        for (const family of FAMILIES) {
          const { config, tensors, reference } = loadFixture(family);
          const name = Object.keys(tensors).find((n) => /(predictions\.transform\.LayerNorm|lm_head\.layer_norm|vocab_layer_norm|generator_predictions\.LayerNorm)\.weight$/.test(n))!;
          expect(name, family).toBeDefined();
          const perturbed = { ...tensors, [name]: { ...tensors[name], data: (tensors[name].data as Float32Array).map((v) => v * 1.01) } };
          const model = createMaskedLm(config);
          model.loadStateDict(perturbed);
          const diff = parityDiff(model, reference);
          model.dispose();
          expect(diff, family).toBeGreaterThan(10 * TOLERANCE);
        }
      });

      it('mlmLogitsAt equals the rows of mlmLogits', () => {
        const { config, tensors, reference } = loadFixture('roberta');
        const model = createMaskedLm(config);
        model.loadStateDict(tensors);
        const before = tf.memory().numTensors;
        const [full, picked] = withBatch(reference, (batch) => {
          const a = model.mlmLogits(batch);
          const b = model.mlmLogitsAt(batch, [0, 9, 13, 2]);
          const out = [a.arraySync(), b.arraySync()] as const;
          tf.dispose([a, b]);
          return out;
        });
        const T = reference.input_ids[0].length;
        [0, 9, 13, 2].forEach((p, i) => {
          const row = full[Math.floor(p / T)][p % T];
          picked[i].forEach((v, j) => expect(Math.abs(v - row[j])).toBeLessThan(1e-5));
        });
        expect(tf.memory().numTensors).toBe(before);
        model.dispose();
      });

      it('a wrong shape or a missing head tensor is refused in one line naming it', () => {
        const { config, tensors } = loadFixture('bert');
        const model = createMaskedLm(config);
        // The bias under its tied name alone stands in for it; with neither, it is missing.
        model.loadStateDict(without(tensors, ['cls.predictions.bias']));
        expect(() => model.loadStateDict(without(tensors, ['cls.predictions.bias', 'cls.predictions.decoder.bias']))).toThrow(
          /missing cls\.predictions\.bias for a bert masked LM/,
        );
        const bad = { ...tensors, 'cls.predictions.decoder.weight': { dtype: 'F32' as const, shape: [3, 3], data: new Float32Array(9) } };
        expect(() => model.loadStateDict(bad)).toThrow(/tensor "bert\.embeddings\.word_embeddings\.weight" has shape \[3,3\]/);
        model.dispose();
      });
    }
  });
}

describe.skipIf(!present)('masked-LM folders', () => {
  let tmp: string;
  beforeAll(async () => {
    await initBackend({ backend: 'cpu' });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-mlm-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'movie', 'was', 'good', 'bad', 'great', '##ly', 'a', 'film'];

  it('save -> load round trip: config architecture, every weight exact, same logits, tokenizer kept, no leaks', async () => {
    const before = tf.memory().numTensors;
    for (const family of FAMILIES) {
      const config = smallConfig(family, { vocabSize: vocab.length, hiddenSize: 16, numHeads: 2, intermediateSize: 32, maxPositions: family === 'roberta' ? 20 : 18, ...(family === 'electra' ? { embeddingSize: 8 } : {}) });
      // ELECTRA's generator head maps hidden -> embedding size; tying needs them equal to the word embeddings' width (they are).
      const model = createMaskedLm(config, { seed: 7 });
      const dir = path.join(tmp, `rt-${family}`);
      await saveMaskedLm(dir, model, wordPieceTokenizer(vocab));
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
      expect(json.architectures).toEqual([{ bert: 'BertForMaskedLM', electra: 'ElectraForMaskedLM', distilbert: 'DistilBertForMaskedLM', roberta: 'RobertaForMaskedLM' }[family]]);
      expect(json.model_type).toBe(family);
      const loaded = await loadMaskedLm(dir);
      expect(loaded.ignored).toEqual([]);
      expect(loaded.tokenizer?.maskId).toBe(4);
      const a = model.stateDict();
      const b = loaded.model.stateDict();
      expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
      for (const k of Object.keys(a)) expect(Array.from(b[k].data as Float32Array), k).toEqual(Array.from(a[k].data as Float32Array));
      const batch = { inputIds: tf.tensor2d([[2, 5, 4, 8, 3]], undefined, 'int32'), attentionMask: tf.tensor2d([[1, 1, 1, 1, 1]], undefined, 'int32') };
      const la = model.mlmLogits(batch);
      const lb = loaded.model.mlmLogits(batch);
      expect(Array.from(await lb.data())).toEqual(Array.from(await la.data()));
      tf.dispose([la, lb, batch.inputIds, batch.attentionMask]);
      model.dispose();
      loaded.model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('tie_word_embeddings: false gives the decoder a weight of its own, saved and loaded under its HF name', async () => {
    const base = smallConfig('roberta', { vocabSize: vocab.length, hiddenSize: 16, numHeads: 2, intermediateSize: 32, maxPositions: 20 });
    const config = { ...base, raw: { tie_word_embeddings: false } };
    expect(maskedLmParameterShapes(config).get('lm_head.decoder.weight')).toEqual([vocab.length, 16]);
    expect(maskedLmParameterShapes(base).has('lm_head.decoder.weight')).toBe(false);
    const model = createMaskedLm(config, { seed: 2 });
    expect(model.tied).toBe(false);
    const dir = path.join(tmp, 'untied');
    await saveMaskedLm(dir, model, wordPieceTokenizer(vocab));
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).tie_word_embeddings).toBe(false);
    const loaded = await loadMaskedLm(dir);
    expect(loaded.model.tied).toBe(false);
    const a = model.stateDict();
    const b = loaded.model.stateDict();
    expect(b['lm_head.decoder.weight'].shape).toEqual([vocab.length, 16]);
    expect(Array.from(b['lm_head.decoder.weight'].data as Float32Array)).toEqual(Array.from(a['lm_head.decoder.weight'].data as Float32Array));
    // The decoder is a tensor of its own, not the word-embedding matrix.
    expect(Array.from(b['lm_head.decoder.weight'].data as Float32Array)).not.toEqual(Array.from(b['roberta.embeddings.word_embeddings.weight'].data as Float32Array));
    model.dispose();
    loaded.model.dispose();
  });

  it('loads a fixture folder (tied names present or not) and ignores a pooler and a next-sentence head', async () => {
    for (const family of FAMILIES) {
      const { dir, tensors, reference } = loadFixture(family);
      const loaded = await loadMaskedLm(dir);
      expect(parityDiff(loaded.model, reference)).toBeLessThanOrEqual(TOLERANCE);
      loaded.model.dispose();
      if (family !== 'bert') continue;
      // A BertForPreTraining-style checkpoint (bert-base-uncased): pooler and cls.seq_relationship besides the MLM head.
      const extra = path.join(tmp, 'pretraining');
      fs.mkdirSync(extra, { recursive: true });
      fs.copyFileSync(path.join(dir, 'config.json'), path.join(extra, 'config.json'));
      const H = 32;
      const more: Record<string, HostTensor> = {
        ...tensors,
        'bert.pooler.dense.weight': { dtype: 'F32', shape: [H, H], data: new Float32Array(H * H) },
        'bert.pooler.dense.bias': { dtype: 'F32', shape: [H], data: new Float32Array(H) },
        'cls.seq_relationship.weight': { dtype: 'F32', shape: [2, H], data: new Float32Array(2 * H) },
        'cls.seq_relationship.bias': { dtype: 'F32', shape: [2], data: new Float32Array(2) },
      };
      fs.writeFileSync(path.join(extra, 'model.safetensors'), serializeSafetensors(more, { format: 'pt' }));
      const pre = await loadMaskedLm(extra);
      expect(pre.ignored.sort()).toEqual(['bert.pooler.dense.bias', 'bert.pooler.dense.weight', 'cls.seq_relationship.bias', 'cls.seq_relationship.weight']);
      expect(parityDiff(pre.model, reference)).toBeLessThanOrEqual(TOLERANCE);
      pre.model.dispose();
    }
  });

  it('a classifier folder is not a masked LM: one line naming the missing head', async () => {
    const config = smallConfig('bert', { vocabSize: vocab.length, hiddenSize: 16, numHeads: 2, intermediateSize: 32, maxPositions: 18 });
    const clf = createTransformerClassifier(config);
    const dir = path.join(tmp, 'classifier');
    await savePretrained(dir, clf, wordPieceTokenizer(vocab));
    clf.dispose();
    const err = await loadMaskedLm(dir).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/has no masked-LM head \(cls\.predictions\.transform\.dense\.weight, .*\): it is not a masked-LM checkpoint \(BertForMaskedLM\)/);
    expect(err.message.split('\n')).toHaveLength(1);
  });

  it('a classifier initialised from an MLM folder carries the encoder weights over exactly, with a new head, and says so', async () => {
    for (const family of FAMILIES) {
      const { dir, tensors } = loadFixture(family);
      const before = tf.memory().numTensors;
      // Without newHead a masked-LM folder is refused: its classification head would be random.
      const refused = await loadPretrained(dir).catch((e) => e);
      expect(refused).toBeInstanceOf(InputError);
      expect(refused.message).toMatch(/masked-LM checkpoint/);
      const pre = await loadPretrained(dir, { newHead: true, labelNames: ['neg', 'pos'] });
      const state = pre.model.stateDict();
      const encoderNames = Object.keys(tensors).filter((n) => n.startsWith(`${family}.`));
      expect(encoderNames.length).toBeGreaterThan(10);
      for (const n of encoderNames) expect(Array.from(state[n].data as Float32Array), n).toEqual(Array.from(tensors[n].data as Float32Array));
      const head = Object.keys(state).filter((n) => !n.startsWith(`${family}.`) || n.startsWith('bert.pooler.'));
      expect(pre.newlyInitialized.sort()).toEqual(head.sort());
      expect(pre.ignored.length).toBeGreaterThan(0);
      expect(pre.notes.join('\n')).toMatch(new RegExp(`encoder from the masked-LM checkpoint .*${family === 'bert' ? 'BertForMaskedLM' : ''}.*classification head .*initialised`));
      pre.model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
  });
});
