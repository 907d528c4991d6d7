import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { createRng, type Encoding, initBackend } from '@parry/core';
import { createTransformerClassifier, smallConfig, type TransformerClassifier } from '@parry/text';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predictText } from '@parry/text';
import { type EncodedTextSet, trainText } from './trainer.js';

let tmp: string;
beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-text-trainer-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const CLS = 2;
const SEP = 3;
const GOOD = 10;
const BAD = 11;

/** Toy sentences of random filler ids 20..49; label 1 when GOOD occurs (single-label), or [has GOOD, has BAD] (multi-label). */
function toySet(n: number, seed: number, multi: boolean): EncodedTextSet {
  const rng = createRng(seed);
  const encodings: Encoding[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const len = 3 + rng.int(10);
    const ids = Array.from({ length: len }, () => 20 + rng.int(30));
    const good = rng.float() < 0.5;
    const bad = rng.float() < 0.5;
    if (good) ids[rng.int(len)] = GOOD;
    if (multi && bad) ids[rng.int(len)] = BAD;
    const hasGood = ids.includes(GOOD);
    const hasBad = ids.includes(BAD);
    encodings.push({ ids: [CLS, ...ids, SEP], typeIds: new Array(len + 2).fill(0) });
    if (multi) labels.push(hasGood ? 1 : 0, hasBad ? 1 : 0);
    else labels.push(hasGood ? 1 : 0);
  }
  return { encodings, labels: multi ? Float32Array.from(labels) : Int32Array.from(labels) };
}

function tinyModel(multi: boolean, seed = 0, size: 'tiny' | 'small' = 'tiny'): TransformerClassifier {
  const config = smallConfig('bert', {
    vocabSize: 50,
    hiddenSize: size === 'tiny' ? 32 : 64,
    numHeads: size === 'tiny' ? 2 : 4,
    numLayers: size === 'tiny' ? 1 : 2,
    intermediateSize: size === 'tiny' ? 64 : 128,
    hiddenDropout: 0.1,
    labelNames: multi ? ['good', 'bad'] : ['neg', 'pos'],
    outputKind: multi ? 'multi-label' : 'single-label',
  });
  return createTransformerClassifier(config, { seed });
}

async function weightsOf(model: TransformerClassifier): Promise<Float32Array[]> {
  return Promise.all(model.parameters().map(async (p) => (await p.variable.data()) as Float32Array));
}

describe('trainText', () => {
  it('learns a single-label keyword task, evaluates each epoch, and leaks no tensors', async () => {
    const model = tinyModel(false);
    const before = tf.memory().numTensors;
    const r = await trainText(model, toySet(320, 1, false), { epochs: 4, batchSize: 16, learningRate: 3e-3, seed: 0, padId: 0, evalSet: toySet(200, 2, false) });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.epochs).toHaveLength(4);
    expect(r.epochs[0].dev!.accuracy).toBeLessThan(r.epochs.at(-1)!.dev!.accuracy + 1e-9);
    expect(Math.max(...r.epochs.map((e) => e.dev!.accuracy))).toBeGreaterThanOrEqual(0.95);
    expect(r.epochs.at(-1)!.loss).toBeLessThan(r.epochs[0].loss);
    model.dispose();
  });

  it('multi-label end to end: sigmoid/BCE head reaches high micro and macro F1', async () => {
    // Two keywords at once: a 1-layer, 2-head model sits on a plateau for many epochs here (so does a torch
    // nn.TransformerEncoderLayer of that size on some seeds); 2 layers x 4 heads learn it in two epochs.
    const model = tinyModel(true, 0, 'small');
    const dev = toySet(200, 4, true);
    const r = await trainText(model, toySet(640, 3, true), { epochs: 3, batchSize: 16, learningRate: 2e-3, seed: 0, padId: 0, evalSet: dev });
    const best = r.epochs.find((e) => e.epoch === r.bestEpoch)!;
    expect(best.dev!.macroF1).toBeGreaterThanOrEqual(0.9);
    expect(best.dev!.microF1).toBeGreaterThanOrEqual(0.9);
    const probs = await predictText(model, dev.encodings, 0);
    expect(probs.length).toBe(200 * 2);
    for (const p of probs) expect(p >= 0 && p <= 1).toBe(true);
    model.dispose();
  });

  it('resumes from a checkpoint bit-exactly (same weights and records as an uninterrupted run)', async () => {
    const train = toySet(96, 5, false);
    const dev = toySet(40, 6, false);
    const opts = { epochs: 3, batchSize: 16, learningRate: 2e-3, seed: 7, padId: 0, evalSet: dev };
    const a = tinyModel(false, 1);
    const ra = await trainText(a, train, opts);
    const dir = path.join(tmp, 'ckpt');
    const b = tinyModel(false, 1);
    await trainText(b, train, { ...opts, epochs: 3, checkpointDir: dir, onEpoch: (rec) => {
      if (rec.epoch === 2) throw new Error('simulated crash after epoch 2');
    } }).catch((e) => expect(String(e)).toMatch(/simulated crash/));
    b.dispose();
    const c = tinyModel(false, 99); // different init: everything must come from the checkpoint
    const rc = await trainText(c, train, { ...opts, checkpointDir: dir, resume: true });
    expect(rc.resumedFrom).toBe(2);
    expect(rc.epochs.map((e) => e.loss)).toEqual(ra.epochs.map((e) => e.loss));
    expect(rc.epochs.map((e) => e.dev!.accuracy)).toEqual(ra.epochs.map((e) => e.dev!.accuracy));
    const [wa, wc] = [await weightsOf(a), await weightsOf(c)];
    wa.forEach((w, i) => expect(Array.from(wc[i])).toEqual(Array.from(w)));
    await expect(trainText(c, train, { ...opts, learningRate: 1e-3, checkpointDir: dir, resume: true })).rejects.toThrow(/different settings/);
    a.dispose();
    c.dispose();
  });

  it('early stopping stops after `patience` epochs without improvement and restores the best weights', async () => {
    const model = tinyModel(false, 2);
    const r = await trainText(model, toySet(64, 8, false), { epochs: 10, batchSize: 16, learningRate: 1e-9, warmupRatio: 0, seed: 0, padId: 0, evalSet: toySet(40, 9, false), earlyStop: 2 });
    expect(r.stoppedEarly).toBe(true);
    expect(r.epochs.length).toBe(r.bestEpoch + 2);
    model.dispose();
  });

  it('refuses mismatched labels and bad options with one line', async () => {
    const model = tinyModel(false);
    const set = toySet(10, 1, false);
    await expect(trainText(model, { ...set, labels: new Int32Array(3) }, { epochs: 1, batchSize: 4, learningRate: 1e-3, seed: 0, padId: 0 })).rejects.toThrow(/3 label values for 10 examples/);
    await expect(trainText(model, { ...set, labels: Int32Array.from(set.labels, () => 5) }, { epochs: 1, batchSize: 4, learningRate: 1e-3, seed: 0, padId: 0 })).rejects.toThrow(/label 5; the model has 2 labels/);
    await expect(trainText(model, set, { epochs: 1, batchSize: 4, learningRate: 1e-3, seed: 0, padId: 0, warmupRatio: 1 })).rejects.toThrow(/warm-up ratio/);
    model.dispose();
  });
});
