/** Resuming checks a checkpoint against the model being trained before anything is restored (issue 14). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type Encoding, initBackend, InputError, UsageError } from '@parry/core';
import { createTransformerClassifier, smallConfig } from '@parry/text';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EncodedTextSet, trainText } from './trainer.js';

let tmp: string;
beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-ckpt-fit-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const set: EncodedTextSet = {
  encodings: Array.from({ length: 16 }, (_, i): Encoding => ({ ids: [2, 20 + (i % 7), 30 + (i % 5), 3], typeIds: [0, 0, 0, 0] })),
  labels: Int32Array.from({ length: 16 }, (_, i) => i % 2),
};
const model = (hidden: number) =>
  createTransformerClassifier(smallConfig('bert', { vocabSize: 50, hiddenSize: hidden, numHeads: 2, numLayers: 1, intermediateSize: 2 * hidden, labelNames: ['a', 'b'] }), { seed: 0 });
const opts = { epochs: 2, batchSize: 8, learningRate: 1e-3, seed: 0, padId: 0 };

async function errorOf(p: Promise<unknown>): Promise<Error | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return e as Error;
  }
}

describe('text trainer checkpoints', () => {
  it('--resume with a checkpoint of another model is refused naming the tensor and both shapes, nothing restored', async () => {
    const dir = path.join(tmp, 'ck');
    const a = model(16);
    await trainText(a, set, { ...opts, epochs: 1, checkpointDir: dir });
    a.dispose();
    const b = model(32);
    const before = tf.memory().numTensors;
    const e = await errorOf(trainText(b, set, { ...opts, checkpointDir: dir, resume: true }));
    expect(tf.memory().numTensors).toBe(before);
    b.dispose();
    expect(e).toBeInstanceOf(InputError);
    expect(e!.message).toMatch(/does not fit this model: param\/\S+ has shape \[[\d,]+\], the model needs \[[\d,]+\]; pass the --checkpoint-dir/);
    expect(e!.message).not.toContain('\n');
  });

  it('--checkpoint-dir <a file> is refused before the first epoch, not after it', async () => {
    const file = path.join(tmp, 'not-a-dir');
    fs.writeFileSync(file, 'x');
    const m = model(16);
    let epochs = 0;
    const e = await errorOf(trainText(m, set, { ...opts, checkpointDir: file, onEpoch: () => void epochs++ }));
    m.dispose();
    expect(e).toBeInstanceOf(UsageError);
    expect(e!.message).toMatch(/--checkpoint-dir .*not-a-dir is a file/);
    expect(epochs).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe('x');
  });
});
