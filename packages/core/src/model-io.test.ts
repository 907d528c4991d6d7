import { createHash } from 'node:crypto';
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
    expect(fs.readdirSync(dir).sort()).toEqual(['.parry-output.json', 'model.json', 'parry.json', 'weights.bin']);
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
    await expect(loadModel(dir)).rejects.toThrow(/parry\.json not found; the model directory is incomplete/);
  });
});

/** One saved model, copied for each hostile case; `edit` rewrites one JSON file of the copy. */
describe('model folder validation (issue 14)', () => {
  let saved: string;
  beforeAll(async () => {
    saved = path.join(tmp(), 'm');
    const model = mnistCnn({ seed: 2 });
    await saveModel(saved, model, { labelNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] });
    model.dispose();
  });

  const copy = (): string => {
    const dir = path.join(tmp(), 'm');
    fs.cpSync(saved, dir, { recursive: true });
    return dir;
  };
  const edit = (dir: string, file: 'parry.json' | 'model.json', fn: (j: any) => any): void => {
    const p = path.join(dir, file);
    fs.writeFileSync(p, JSON.stringify(fn(JSON.parse(fs.readFileSync(p, 'utf8')))));
  };
  /** Loading `dir` fails with one InputError line matching `re`, and leaves no tensors behind. */
  const refused = async (dir: string, re: RegExp): Promise<void> => {
    const before = tf.memory().numTensors;
    const err = await loadModel(dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toMatch(re);
    expect(tf.memory().numTensors).toBe(before);
  };

  it('parry.json bounds ["a","b"] is refused naming parry.json and bounds', async () => {
    const dir = copy();
    edit(dir, 'parry.json', (j) => ({ ...j, bounds: ['a', 'b'] }));
    await refused(dir, /parry\.json.*bounds\[0\]/);
  });

  it('parry.json bounds [1, 0] (lower above upper) is refused', async () => {
    const dir = copy();
    edit(dir, 'parry.json', (j) => ({ ...j, bounds: [1, 0] }));
    await refused(dir, /parry\.json.*bounds/);
  });

  it('model.json with shape: null is refused naming model.json and the weight', async () => {
    const dir = copy();
    edit(dir, 'model.json', (j) => {
      j.weightsManifest[0].weights[0].shape = null;
      return j;
    });
    await refused(dir, /model\.json.*weightsManifest\[0\]\.weights\[0\]\.shape/);
  });

  it('parry.json inputShape that contradicts model.json is refused', async () => {
    const dir = copy();
    edit(dir, 'parry.json', (j) => ({ ...j, inputShape: [32, 32, 3] }));
    await refused(dir, /parry\.json.*inputShape \[32,32,3\] contradicts model\.json \(\[28,28,1\]\)/);
  });

  it('parry.json numClasses that contradicts model.json is refused', async () => {
    const dir = copy();
    edit(dir, 'parry.json', (j) => ({ ...j, numClasses: 3, labelNames: undefined }));
    await refused(dir, /parry\.json.*numClasses 3 contradicts model\.json \(10\)/);
  });

  it('parry.json labelNames whose count differs from the classes is refused', async () => {
    const dir = copy();
    edit(dir, 'parry.json', (j) => ({ ...j, labelNames: ['a', 'b'] }));
    await refused(dir, /parry\.json.*labelNames/);
  });

  it.each([
    ['an array', []],
    ['null', null],
    ['a number', 42],
    ['a string', 'parry-model'],
  ])('parry.json that is %s, not an object, is refused', async (_, value) => {
    const dir = copy();
    fs.writeFileSync(path.join(dir, 'parry.json'), JSON.stringify(value));
    await refused(dir, /parry\.json.*(not an object|expected object)/);
  });

  it.each([
    ['an array', []],
    ['null', null],
    ['a number', 7],
  ])('model.json that is %s, not an object, is refused', async (_, value) => {
    const dir = copy();
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(value));
    await refused(dir, /model\.json.*(not an object|expected object)/);
  });

  it.each([
    ['a negative shape', { shape: [-3, 3, 1, 32] }, /shape\[0\]/],
    ['a huge shape', { shape: [2 ** 31, 2 ** 31, 1, 32] }, /weightsManifest\[0\]\.weights\[0\]/],
    ['a non-integer shape', { shape: [2.5, 3, 1, 32] }, /shape\[0\]/],
    ['a string shape', { shape: ['3', 3, 1, 32] }, /shape\[0\]/],
    ['an unknown dtype', { dtype: 'float64' }, /dtype/],
    ['no name', { name: undefined }, /name/],
  ])('weightsManifest entry with %s is refused', async (_, patch, re) => {
    const dir = copy();
    edit(dir, 'model.json', (j) => {
      j.weightsManifest[0].weights[0] = { ...j.weightsManifest[0].weights[0], ...patch };
      return j;
    });
    await refused(dir, re);
  });

  it('weightsManifest that names another weights file is refused', async () => {
    const dir = copy();
    edit(dir, 'model.json', (j) => {
      j.weightsManifest[0].paths = ['../../etc/passwd'];
      return j;
    });
    await refused(dir, /model\.json.*paths/);
  });

  it('weights.bin far larger than its manifest (a sparse 3 GB file) is refused without reading it', async () => {
    const dir = copy();
    fs.truncateSync(path.join(dir, 'weights.bin'), 3 * 1024 ** 3);
    await refused(dir, /weights\.bin is 3072 MiB, over the .* limit for the \d+ bytes model\.json's manifest describes/);
  });

  it('weights.bin that is a directory or a device is refused without reading it', async () => {
    const dir = copy();
    fs.rmSync(path.join(dir, 'weights.bin'));
    fs.symlinkSync('/dev/zero', path.join(dir, 'weights.bin'));
    await refused(dir, /weights\.bin is not a regular file/);
    fs.rmSync(path.join(dir, 'weights.bin'));
    fs.mkdirSync(path.join(dir, 'weights.bin'));
    await refused(dir, /weights\.bin is not a regular file/);
  });

  it('model.json topology whose layer is far larger than its weights (units 4,000,000) is refused before that weight is allocated', async () => {
    const dir = copy();
    edit(dir, 'model.json', (j) => {
      const dense = j.modelTopology.config.layers.filter((l: any) => l.class_name === 'Dense').at(-1);
      dense.config.units = 4_000_000; // a [100, 4e6] kernel: 1.6 GB allocated, then "Shape mismatch"
      return j;
    });
    await refused(dir, /model\.json is invalid: .*\[100,4000000\].*larger than any weight in weightsManifest/);
  });

  it('model.json topology with a layer that has no weights in the manifest is refused', async () => {
    const dir = copy();
    edit(dir, 'model.json', (j) => {
      j.weightsManifest[0].weights.pop(); // the last bias is gone from the manifest, and its bytes from weights.bin
      return j;
    });
    const specs = JSON.parse(fs.readFileSync(path.join(saved, 'model.json'), 'utf8')).weightsManifest[0].weights;
    const last = specs.at(-1).shape.reduce((a: number, b: number) => a * b, 1) * 4;
    const w = fs.readFileSync(path.join(dir, 'weights.bin'));
    fs.writeFileSync(path.join(dir, 'weights.bin'), w.subarray(0, w.length - last));
    edit(dir, 'parry.json', (j) => ({ ...j, weightsSha256: createHash('sha256').update(w.subarray(0, w.length - last)).digest('hex') }));
    await refused(dir, /model\.json|could not be built/);
  });

  it('still loads the untouched copy (the validator accepts what saveModel writes)', async () => {
    const loaded = await loadModel(copy());
    expect(loaded.meta.numClasses).toBe(10);
    expect(loaded.meta.labelNames).toHaveLength(10);
    loaded.layersModel.dispose();
  });
});
