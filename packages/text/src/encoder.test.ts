import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@parry/core';
import { InputError, UsageError } from '@parry/core';
import { createRng } from '@parry/core';
import { countParameters, type EncoderConfig, parseHfConfig, smallConfig, toHfConfig } from './config.js';
import { createTransformerClassifier, parameterShapes, type TransformerClassifier } from './encoder.js';
import type { HostTensor, ModelFamily, TextBatch } from '@parry/core';

const FAMILIES: ModelFamily[] = ['bert', 'electra', 'distilbert', 'roberta'];

/** A tiny, strongly non-linear config (large init) so gradients and dropout effects are visible. */
function tiny(family: ModelFamily, overrides: Partial<EncoderConfig> = {}): EncoderConfig {
  return smallConfig(family, {
    vocabSize: 40,
    hiddenSize: 16,
    numHeads: 2,
    intermediateSize: 32,
    maxPositions: family === 'roberta' ? 18 : 16,
    numLabels: 3,
    initializerRange: 0.3,
    ...(family === 'electra' ? { embeddingSize: 8 } : {}),
    ...overrides,
  });
}

/** Rows of token ids (pad-free) padded to `length` with the config's pad id. */
function makeBatch(cfg: EncoderConfig, rows: number[][], length: number): TextBatch {
  const ids = rows.map((r) => [...r, ...new Array<number>(length - r.length).fill(cfg.padTokenId)]);
  const mask = rows.map((r) => Array.from({ length }, (_, j) => (j < r.length ? 1 : 0)));
  const types = rows.map((r) => Array.from({ length }, (_, j) => (j < r.length && j >= r.length / 2 && cfg.typeVocabSize > 1 ? 1 : 0)));
  return {
    inputIds: tf.tensor2d(ids, undefined, 'int32'),
    attentionMask: tf.tensor2d(mask, undefined, 'int32'),
    tokenTypeIds: tf.tensor2d(types, undefined, 'int32'),
  };
}

/** Random pad-free rows (ids 2..V-1) of the given lengths. */
function randomRows(cfg: EncoderConfig, lengths: number[], seed: number): number[][] {
  const rng = createRng(seed);
  return lengths.map((n) => Array.from({ length: n }, () => 2 + rng.int(cfg.vocabSize - 2)));
}

function disposeBatch(b: TextBatch): void {
  tf.dispose([b.inputIds, b.attentionMask, ...(b.tokenTypeIds ? [b.tokenTypeIds] : [])]);
}

function rows2d(t: tf.Tensor): number[][] {
  const out = (t as tf.Tensor2D).arraySync();
  t.dispose();
  return out;
}

function maxAbsDiff(a: number[][], b: number[][]): number {
  return Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i][j]))));
}

describe('gradients vs central finite differences (cpu)', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'cpu' });
  });

  for (const family of FAMILIES) {
    it(`${family}: d loss / d inputs_embeds`, () => {
      const cfg = tiny(family, { hiddenAct: family === 'distilbert' ? 'gelu_new' : 'gelu' });
      const model = createTransformerClassifier(cfg, { seed: 3 });
      const batch = makeBatch(cfg, randomRows(cfg, [7, 4], 8), 7);
      const weights = tf.tensor2d([[1, -2, 0.5], [-1, 0.3, 2]]);
      const loss = (e: tf.Tensor3D) => tf.sum(tf.mul(model.forwardFromEmbeddings(e, batch), weights)) as tf.Scalar;
      const embeds = model.embed(batch.inputIds);
      const [B, T, E] = embeds.shape;
      const base = embeds.dataSync().slice() as Float32Array;
      const before = tf.memory().numTensors;
      const grad = tf.tidy(() => tf.grad((e) => loss(e as tf.Tensor3D))(embeds));
      const g = grad.dataSync().slice();
      grad.dispose();
      expect(tf.memory().numTensors).toBe(before);

      const lossAt = (data: Float32Array) => tf.tidy(() => loss(tf.tensor3d(data, [B, T, E])).dataSync()[0]);
      const h = 1e-2;
      const rng = createRng(11);
      let checked = 0;
      for (let n = 0; n < 10; n++) {
        // Real tokens of both rows (the second row has 4), plus the first token, which feeds the head directly.
        const b = n % 2;
        const t = n < 2 ? 0 : rng.int(b === 0 ? 7 : 4);
        const i = (b * T + t) * E + rng.int(E);
        const plus = base.slice();
        const minus = base.slice();
        plus[i] += h;
        minus[i] -= h;
        const fd = (lossAt(plus) - lossAt(minus)) / (2 * h);
        expect(Math.abs(g[i] - fd), `coordinate ${i}: grad ${g[i]} vs fd ${fd}`).toBeLessThan(3e-3 + 2e-2 * Math.abs(fd));
        if (Math.abs(fd) > 1e-3) checked++;
      }
      expect(checked).toBeGreaterThan(5); // the check is not vacuous
      // Padded positions (row 1, tokens 4..6) cannot influence the logits: their gradient is exactly zero.
      for (let t = 4; t < 7; t++) for (let e = 0; e < E; e++) expect(g[(T + t) * E + e]).toBe(0);
      tf.dispose([embeds, weights]);
      disposeBatch(batch);
      model.dispose();
    });
  }

  it('d loss / d parameters (query weight, FFN bias, LayerNorm weight, head)', () => {
    const cfg = tiny('bert');
    const model = createTransformerClassifier(cfg, { seed: 4 });
    const batch = makeBatch(cfg, randomRows(cfg, [6, 3], 9), 6);
    const labels = tf.tensor1d([2, 0], 'int32');
    const loss = () => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 3), model.logits(batch)) as tf.Scalar;
    const params = new Map(model.parameters().map((p) => [p.name, p.variable]));
    const names = [
      'bert.encoder.layer.0.attention.self.query.weight',
      'bert.encoder.layer.1.intermediate.dense.bias',
      'bert.encoder.layer.0.output.LayerNorm.weight',
      'bert.pooler.dense.weight',
    ];
    const vars = names.map((n) => params.get(n)!);
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(loss, vars);
    const gradData = vars.map((v) => grads[v.name].dataSync().slice());
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    const h = 1e-2;
    const rng = createRng(5);
    names.forEach((name, k) => {
      const v = vars[k];
      const original = v.dataSync().slice() as Float32Array;
      for (let n = 0; n < 3; n++) {
        const i = rng.int(original.length);
        const at = (delta: number) => {
          const data = original.slice();
          data[i] += delta;
          tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
          return tf.tidy(() => loss().dataSync()[0]);
        };
        const fd = (at(h) - at(-h)) / (2 * h);
        expect(Math.abs(gradData[k][i] - fd), `${name}[${i}]`).toBeLessThan(2e-3 + 2e-2 * Math.abs(fd));
      }
      tf.tidy(() => v.assign(tf.tensor(original, v.shape)));
    });
    labels.dispose();
    disposeBatch(batch);
    model.dispose();
  });
});

describe('training and inference (default backend)', () => {
  beforeAll(async () => {
    await initBackend();
  });

  for (const family of FAMILIES) {
    it(`${family}: SGD steps with dropout leak no tensors and lower the loss`, () => {
      const cfg = tiny(family, { initializerRange: 0.05 });
      const model = createTransformerClassifier(cfg, { seed: 1 });
      const batch = makeBatch(cfg, randomRows(cfg, [8, 5, 3, 8], 2), 8);
      const target = tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 3);
      const vars = model.parameters().map((p) => p.variable);
      const evalLoss = () => tf.tidy(() => tf.losses.softmaxCrossEntropy(target, model.logits(batch)).dataSync()[0]);
      const start = evalLoss();
      const before = tf.memory().numTensors;
      for (let step = 0; step < 8; step++) {
        tf.tidy(() => {
          const { grads } = tf.variableGrads(
            () => tf.losses.softmaxCrossEntropy(target, model.logits(batch, { training: true, seed: step })) as tf.Scalar,
            vars,
          );
          for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name], 0.5)));
        });
      }
      expect(tf.memory().numTensors).toBe(before);
      expect(evalLoss()).toBeLessThan(start - 0.05);
      tf.dispose(target);
      disposeBatch(batch);
      model.dispose();
    });
  }

  it('dropout: training changes the logits; a seed makes them reproducible', () => {
    for (const family of FAMILIES) {
      const cfg = tiny(family);
      const model = createTransformerClassifier(cfg, { seed: 2 });
      const batch = makeBatch(cfg, randomRows(cfg, [6, 4], 3), 6);
      const plain = rows2d(model.logits(batch));
      expect(maxAbsDiff(rows2d(model.logits(batch, { training: false, seed: 1 })), plain)).toBe(0);
      const a = rows2d(model.logits(batch, { training: true, seed: 7 }));
      const b = rows2d(model.logits(batch, { training: true, seed: 7 }));
      const c = rows2d(model.logits(batch, { training: true, seed: 8 }));
      const u1 = rows2d(model.logits(batch, { training: true }));
      const u2 = rows2d(model.logits(batch, { training: true }));
      expect(maxAbsDiff(a, b), family).toBe(0);
      expect(maxAbsDiff(a, plain), family).toBeGreaterThan(1e-3);
      expect(maxAbsDiff(a, c), family).toBeGreaterThan(1e-3);
      expect(maxAbsDiff(u1, u2), family).toBeGreaterThan(1e-3);
      disposeBatch(batch);
      model.dispose();
    }
  });

  it('padding invariance: extra padded positions do not change the logits', () => {
    for (const family of FAMILIES) {
      const cfg = tiny(family);
      const model = createTransformerClassifier(cfg, { seed: 6 });
      const rows = randomRows(cfg, [5, 2, 4], 4);
      const short = makeBatch(cfg, rows, 5);
      const long = makeBatch(cfg, rows, 9);
      const a = rows2d(model.logits(short));
      const b = rows2d(model.logits(long));
      expect(maxAbsDiff(a, b), family).toBeLessThan(1e-5);
      // ...while the padded tokens themselves are not ignored when the mask says they are real.
      const unmasked = { ...long, attentionMask: tf.onesLike(long.attentionMask) };
      expect(maxAbsDiff(rows2d(model.logits(unmasked)), b), family).toBeGreaterThan(1e-3);
      unmasked.attentionMask.dispose();
      disposeBatch(short);
      disposeBatch(long);
      model.dispose();
    }
  });

  it('token type ids matter for BERT and ELECTRA, and default to zeros', () => {
    for (const family of ['bert', 'electra'] as const) {
      const cfg = tiny(family);
      const model = createTransformerClassifier(cfg, { seed: 6 });
      const batch = makeBatch(cfg, randomRows(cfg, [6, 6], 5), 6);
      const zeros = { ...batch, tokenTypeIds: tf.zerosLike(batch.tokenTypeIds!) };
      const none = { inputIds: batch.inputIds, attentionMask: batch.attentionMask };
      const withTypes = rows2d(model.logits(batch));
      expect(maxAbsDiff(rows2d(model.logits(none)), rows2d(model.logits(zeros)))).toBeLessThan(1e-6);
      expect(maxAbsDiff(rows2d(model.logits(none)), withTypes)).toBeGreaterThan(1e-3);
      zeros.tokenTypeIds.dispose();
      disposeBatch(batch);
      model.dispose();
    }
  });

  it('multi-label config: numLabels outputs and the problem type', () => {
    const cfg = tiny('roberta', { numLabels: 5, outputKind: 'multi-label' });
    const model = createTransformerClassifier(cfg);
    expect(model.numLabels).toBe(5);
    expect(model.outputKind).toBe('multi-label');
    expect(model.labelNames).toEqual(['LABEL_0', 'LABEL_1', 'LABEL_2', 'LABEL_3', 'LABEL_4']);
    const batch = makeBatch(cfg, randomRows(cfg, [3, 5], 1), 5);
    const logits = model.logits(batch);
    expect(logits.shape).toEqual([2, 5]);
    logits.dispose();
    disposeBatch(batch);
    model.dispose();
  });

  it('too many tokens for the position table is an InputError', () => {
    const cfg = tiny('roberta'); // 18 positions, padding_idx 1: 16 tokens at most
    const model = createTransformerClassifier(cfg);
    const ok = makeBatch(cfg, randomRows(cfg, [16], 1), 16);
    tf.dispose(model.logits(ok));
    const bad = makeBatch(cfg, randomRows(cfg, [17], 1), 17);
    const before = tf.memory().numTensors;
    expect(() => model.logits(bad)).toThrow(/17 tokens exceeds the model's 16 positions/);
    expect(tf.memory().numTensors).toBe(before);
    disposeBatch(ok);
    disposeBatch(bad);
    model.dispose();
  });
});

describe('parameters, initialisation and state dicts', () => {
  beforeAll(async () => {
    await initBackend();
  });

  it('HF names and torch layouts; init as HF (normal std, zero pad row, LayerNorm ones)', () => {
    const cfg = smallConfig('bert', { hiddenSize: 32, intermediateSize: 48, vocabSize: 500, initializerRange: 0.05 });
    const model = createTransformerClassifier(cfg, { seed: 9 });
    const names = model.parameters().map((p) => p.name);
    expect(names.slice(0, 6)).toEqual([
      'bert.embeddings.word_embeddings.weight',
      'bert.embeddings.position_embeddings.weight',
      'bert.embeddings.token_type_embeddings.weight',
      'bert.embeddings.LayerNorm.weight',
      'bert.embeddings.LayerNorm.bias',
      'bert.encoder.layer.0.attention.self.query.weight',
    ]);
    expect(names.slice(-4)).toEqual(['bert.pooler.dense.weight', 'bert.pooler.dense.bias', 'classifier.weight', 'classifier.bias']);
    expect(names.length).toBe(5 + 16 * 2 + 4);
    const state = model.stateDict();
    expect(state['bert.encoder.layer.0.intermediate.dense.weight'].shape).toEqual([48, 32]); // torch [out, in]
    expect(model.parameters()[names.indexOf('bert.encoder.layer.0.intermediate.dense.weight')].variable.shape).toEqual([32, 48]);
    const word = state['bert.embeddings.word_embeddings.weight'].data as Float32Array;
    expect(word.subarray(0, 32).every((v) => v === 0)).toBe(true); // pad id 0
    const rest = word.subarray(32);
    const mean = rest.reduce((a, b) => a + b, 0) / rest.length;
    const std = Math.sqrt(rest.reduce((a, b) => a + (b - mean) ** 2, 0) / rest.length);
    expect(Math.abs(mean)).toBeLessThan(0.002);
    expect(Math.abs(std - 0.05)).toBeLessThan(0.002);
    expect(Array.from(state['bert.embeddings.LayerNorm.weight'].data as Float32Array)).toEqual(new Array(32).fill(1));
    expect(Array.from(state['classifier.bias'].data as Float32Array)).toEqual([0, 0]);
    // Same seed, same weights; another seed, other weights.
    const again = createTransformerClassifier(cfg, { seed: 9 }).stateDict();
    const other = createTransformerClassifier(cfg, { seed: 10 });
    expect(again['bert.pooler.dense.weight'].data).toEqual(state['bert.pooler.dense.weight'].data);
    expect(other.stateDict()['bert.pooler.dense.weight'].data).not.toEqual(state['bert.pooler.dense.weight'].data);
    model.dispose();
    other.dispose();
  });

  it('family names: ELECTRA projection and head, DistilBERT blocks, RoBERTa without pooler', () => {
    const electra = createTransformerClassifier(tiny('electra'));
    const en = Object.keys(electra.stateDict());
    expect(en).toContain('electra.embeddings_project.weight');
    expect(en).toContain('classifier.out_proj.weight');
    expect(electra.stateDict()['electra.embeddings_project.weight'].shape).toEqual([16, 8]);
    const distil = createTransformerClassifier(tiny('distilbert'));
    const dn = Object.keys(distil.stateDict());
    for (const n of ['attention.q_lin', 'attention.out_lin', 'sa_layer_norm', 'ffn.lin1', 'ffn.lin2', 'output_layer_norm']) {
      expect(dn).toContain(`distilbert.transformer.layer.1.${n}.weight`);
    }
    expect(dn.filter((n) => n.includes('token_type'))).toEqual([]);
    expect(dn).toContain('pre_classifier.weight');
    const roberta = createTransformerClassifier(tiny('roberta'));
    const rn = Object.keys(roberta.stateDict());
    expect(rn.filter((n) => n.includes('pooler'))).toEqual([]);
    expect(rn).toContain('classifier.dense.weight');
    const pos = roberta.stateDict()['roberta.embeddings.position_embeddings.weight'];
    expect((pos.data as Float32Array).subarray(16, 32).every((v) => v === 0)).toBe(true); // padding_idx 1
    [electra, distil, roberta].forEach((m) => m.dispose());
  });

  it('DistilBERT sinusoidal positions: fixed table, saved but not trainable', () => {
    const cfg = tiny('distilbert', { sinusoidalPosEmbds: true });
    const model = createTransformerClassifier(cfg);
    const name = 'distilbert.embeddings.position_embeddings.weight';
    expect(model.parameters().map((p) => p.name)).not.toContain(name);
    const table = model.stateDict()[name].data as Float32Array;
    expect(table[16 * 3 + 0]).toBeCloseTo(Math.sin(3), 6);
    expect(table[16 * 3 + 1]).toBeCloseTo(Math.cos(3), 6);
    expect(table[16 * 3 + 5]).toBeCloseTo(Math.cos(3 / Math.pow(10000, 4 / 16)), 6);
    model.dispose();
  });

  describe('loadStateDict', () => {
    let cfg: EncoderConfig;
    let source: TransformerClassifier;
    let state: Record<string, HostTensor>;
    beforeAll(() => {
      cfg = tiny('bert');
      source = createTransformerClassifier(cfg, { seed: 21 });
      state = source.stateDict();
    });
    const logitsOf = (m: TransformerClassifier) => {
      const batch = makeBatch(cfg, randomRows(cfg, [5, 3], 3), 5);
      const out = rows2d(m.logits(batch));
      disposeBatch(batch);
      return out;
    };

    it('round trip: a fresh model loading the state gives the same logits', () => {
      const target = createTransformerClassifier(cfg, { seed: 22 });
      expect(maxAbsDiff(logitsOf(target), logitsOf(source))).toBeGreaterThan(1e-3);
      target.loadStateDict(state);
      expect(maxAbsDiff(logitsOf(target), logitsOf(source))).toBe(0);
      target.dispose();
    });

    it('a missing key is named', () => {
      const target = createTransformerClassifier(cfg);
      const { ['bert.encoder.layer.1.output.dense.bias']: _dropped, ...partial } = state;
      expect(() => target.loadStateDict(partial, { source: 'ckpt.safetensors' })).toThrow(InputError);
      expect(() => target.loadStateDict(partial, { source: 'ckpt.safetensors' })).toThrow(
        /^ckpt\.safetensors: missing bert\.encoder\.layer\.1\.output\.dense\.bias for a bert classifier/,
      );
      // strict: false keeps the initial value of what is missing, and loads the rest.
      const before = target.stateDict()['bert.encoder.layer.1.output.dense.bias'].data;
      target.loadStateDict({ ...partial, 'cls.predictions.bias': state['classifier.bias'] }, { strict: false });
      const after = target.stateDict();
      expect(after['bert.encoder.layer.1.output.dense.bias'].data).toEqual(before);
      expect(after['classifier.weight'].data).toEqual(state['classifier.weight'].data);
      target.dispose();
    });

    it('an unexpected key and a shape mismatch are named, and nothing is loaded', () => {
      const target = createTransformerClassifier(cfg);
      const initial = target.stateDict();
      expect(() => target.loadStateDict({ ...state, 'cls.predictions.bias': state['classifier.bias'] })).toThrow(
        /unexpected cls\.predictions\.bias/,
      );
      const wrong = { ...state, 'bert.pooler.dense.weight': { dtype: 'F32' as const, shape: [16, 8], data: new Float32Array(128) } };
      expect(() => target.loadStateDict(wrong, { strict: false })).toThrow(
        /tensor "bert\.pooler\.dense\.weight" has shape \[16,8\] but the config needs \[16,16\]/,
      );
      expect(target.stateDict()['classifier.weight'].data).toEqual(initial['classifier.weight'].data);
      target.dispose();
    });

    it('accepts legacy LayerNorm gamma/beta names, position_ids buffers and a bare base-model prefix', () => {
      const target = createTransformerClassifier(cfg);
      const legacy: Record<string, HostTensor> = {
        'bert.embeddings.position_ids': { dtype: 'I64', shape: [1, 16], data: new BigInt64Array(16) },
      };
      for (const [name, t] of Object.entries(state)) {
        const renamed = name.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta');
        legacy[renamed.startsWith('bert.') ? renamed.slice('bert.'.length) : renamed] = t;
      }
      expect(Object.keys(legacy)).toContain('encoder.layer.0.output.LayerNorm.gamma');
      target.loadStateDict(legacy);
      expect(maxAbsDiff(logitsOf(target), logitsOf(source))).toBe(0);
      target.dispose();
    });
  });
});

describe('config.json', () => {
  it('normalises DistilBERT keys and applies family defaults', () => {
    const cfg = parseHfConfig({ model_type: 'distilbert', dim: 32, n_layers: 3, n_heads: 4, hidden_dim: 64, activation: 'relu' });
    expect(cfg).toMatchObject({
      family: 'distilbert', hiddenSize: 32, numLayers: 3, numHeads: 4, intermediateSize: 64, hiddenAct: 'relu',
      vocabSize: 30522, classifierDropout: 0.2, typeVocabSize: 0, layerNormEps: 1e-12, numLabels: 2,
      labelNames: ['LABEL_0', 'LABEL_1'], outputKind: 'single-label',
    });
    const roberta = parseHfConfig({ model_type: 'roberta', hidden_dropout_prob: 0.3 });
    expect(roberta).toMatchObject({ padTokenId: 1, classifierDropout: 0.3, hiddenSize: 768, layerNormEps: 1e-12, maxPositions: 512 });
    const electra = parseHfConfig({ model_type: 'electra', num_labels: 4 });
    expect(electra).toMatchObject({ embeddingSize: 128, hiddenSize: 256, numHeads: 4, intermediateSize: 1024, numLabels: 4 });
  });

  it('labels from id2label, multi-label problem type, and a round trip through toHfConfig keeping unknown keys', () => {
    const json = {
      model_type: 'bert', hidden_size: 48, num_attention_heads: 3, problem_type: 'multi_label_classification',
      id2label: { '1': 'toxic', '0': 'clean', '2': 'spam' }, classifier_dropout: null, transformers_version: '4.40.0',
    };
    const cfg = parseHfConfig(json);
    expect(cfg.labelNames).toEqual(['clean', 'toxic', 'spam']);
    expect(cfg.numLabels).toBe(3);
    expect(cfg.outputKind).toBe('multi-label');
    const out = toHfConfig(cfg);
    expect(out).toMatchObject({
      architectures: ['BertForSequenceClassification'], transformers_version: '4.40.0', hidden_size: 48,
      label2id: { clean: 0, toxic: 1, spam: 2 }, problem_type: 'multi_label_classification',
    });
    const { raw: _a, ...again } = parseHfConfig(JSON.parse(JSON.stringify(out)));
    const { raw: _b, ...first } = cfg;
    expect(again).toEqual(first);
    for (const family of FAMILIES) {
      const small = smallConfig(family, { numLabels: 4, hiddenAct: 'gelu_new' });
      const { raw: _c, ...parsed } = parseHfConfig(JSON.parse(JSON.stringify(toHfConfig(small))));
      const { raw: _d, ...orig } = small;
      expect(parsed, family).toEqual(orig);
    }
  });

  it('errors name the key and the fix', () => {
    expect(() => parseHfConfig({ model_type: 'gpt2' }, 'm/config.json')).toThrow(
      /^m\/config\.json: model_type "gpt2" is not supported: use one of bert, electra, distilbert, roberta$/,
    );
    expect(() => parseHfConfig({ model_type: 'bert', hidden_size: -4 })).toThrow(/key "hidden_size" is invalid/);
    expect(() => parseHfConfig({ model_type: 'bert', hidden_act: 'mish' })).toThrow(/hidden_act "mish" is not supported/);
    expect(() => parseHfConfig({ model_type: 'bert', hidden_size: 30, num_attention_heads: 4 })).toThrow(
      /hidden_size 30 is not a multiple of num_attention_heads 4/,
    );
    expect(() => parseHfConfig({ model_type: 'bert', id2label: { '0': 'a', '2': 'b' } })).toThrow(/id2label key "2"/);
    expect(() => parseHfConfig({ model_type: 'bert', problem_type: 'regression' })).toThrow(InputError);
    expect(() => parseHfConfig({ model_type: 'bert', position_embedding_type: 'relative_key' })).toThrow(/position_embedding_type/);
    expect(() => parseHfConfig([1, 2])).toThrow(InputError);
    expect(() => smallConfig('bert', { hiddenSize: 10, numHeads: 4 })).toThrow(UsageError);
    expect(() => smallConfig('bert', { numLabels: 3, labelNames: ['a', 'b'] })).toThrow(/numLabels 3 does not match 2 labelNames/);
  });
});

describe('parameterShapes (a config checked against a checkpoint header before allocation)', () => {
  for (const family of ['bert', 'electra', 'distilbert', 'roberta'] as const) {
    it(`${family}: names and shapes equal the built model's stateDict, without allocating`, () => {
      const cfg = tiny(family, family === 'electra' ? { embeddingSize: 8 } : {});
      const before = tf.memory().numTensors;
      const shapes = parameterShapes(cfg);
      expect(tf.memory().numTensors).toBe(before);
      const model = createTransformerClassifier(cfg);
      const sd = model.stateDict();
      model.dispose();
      expect([...shapes.keys()]).toEqual(Object.keys(sd));
      for (const [name, shape] of shapes) expect(shape, name).toEqual(sd[name].shape);
      expect([...shapes.values()].reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0)).toBe(countParameters(cfg));
    });
  }
});
