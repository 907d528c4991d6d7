import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend.js';
import { InputError } from './errors.js';
import { loadModel, saveModel } from './model-io.js';
import { mnistCnn } from './models.js';

beforeAll(async () => {
  await initBackend();
});

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'parry-io-'));

describe('model save/load', () => {
  it('round-trips weights and metadata (same logits)', async () => {
    const dir = path.join(tmp(), 'm');
    const model = mnistCnn({ seed: 3 });
    await saveModel(dir, model, { training: { note: 'test' } });
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'parry.json', 'weights.bin']);
    expect(fs.readdirSync(path.dirname(dir))).toEqual(['m']); // no temp dirs left
    const loaded = await loadModel(dir);
    const x = tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 1);
    const a = tf.tidy(() => model.apply(x) as tf.Tensor);
    const b = tf.tidy(() => loaded.classifier.logits(x));
    expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
    expect(loaded.meta.training).toEqual({ note: 'test' });
    expect(loaded.classifier.numClasses).toBe(10);
    tf.dispose([x, a, b]);
    model.dispose();
    loaded.layersModel.dispose();
  });

  it('gives one clear InputError for a missing, corrupt or truncated model', async () => {
    const base = tmp();
    await expect(loadModel(path.join(base, 'nope'))).rejects.toThrow(/model .*nope not found; train one with `parry train/);
    const dir = path.join(base, 'm');
    const model = mnistCnn({ seed: 1 });
    await saveModel(dir, model);
    model.dispose();
    const weights = fs.readFileSync(path.join(dir, 'weights.bin'));
    fs.writeFileSync(path.join(dir, 'weights.bin'), weights.subarray(0, 100));
    await expect(loadModel(dir)).rejects.toThrow(/weights .* are corrupt: 100 bytes, the manifest expects/);
    weights[10] ^= 0xff;
    fs.writeFileSync(path.join(dir, 'weights.bin'), weights);
    await expect(loadModel(dir)).rejects.toThrow(/checksum/);
    fs.writeFileSync(path.join(dir, 'model.json'), '{"modelTopology": ');
    await expect(loadModel(dir)).rejects.toThrow(InputError);
    await expect(loadModel(dir)).rejects.toThrow(/model\.json is corrupt/);
    fs.rmSync(path.join(dir, 'parry.json'));
    await expect(loadModel(dir)).rejects.toThrow(/parry\.json is missing/);
  });
});
