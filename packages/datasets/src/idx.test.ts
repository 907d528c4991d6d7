import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '@parry/core';
import { loadMnistIdx, readIdx } from './idx.js';

const tmp = mkdtempSync(join(tmpdir(), 'parry-idx-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const CODES = { uint8: 0x08, int8: 0x09, int16: 0x0b, int32: 0x0c, float32: 0x0d, float64: 0x0e } as const;
const SIZES = { uint8: 1, int8: 1, int16: 2, int32: 4, float32: 4, float64: 8 } as const;

/** Encodes an IDX file by hand (big-endian), independently of the reader. */
function encodeIdx(dtype: keyof typeof CODES, shape: number[], values: number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header[2] = CODES[dtype];
  header[3] = shape.length;
  shape.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  const body = Buffer.alloc(values.length * SIZES[dtype]);
  values.forEach((v, i) => {
    const o = i * SIZES[dtype];
    if (dtype === 'uint8') body.writeUInt8(v, o);
    else if (dtype === 'int8') body.writeInt8(v, o);
    else if (dtype === 'int16') body.writeInt16BE(v, o);
    else if (dtype === 'int32') body.writeInt32BE(v, o);
    else if (dtype === 'float32') body.writeFloatBE(v, o);
    else body.writeDoubleBE(v, o);
  });
  return Buffer.concat([header, body]);
}

let fileNo = 0;
function write(bytes: Uint8Array, name = `f${fileNo++}.idx`): string {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
}

function expectInputError(fn: () => unknown, file: string, pattern: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InputError);
  const msg = (err as Error).message;
  expect(msg).toContain(file);
  expect(msg).toMatch(pattern);
  expect(msg).not.toContain('\n');
  expect((err as InputError).exitCode).toBe(2);
}

describe('readIdx', () => {
  const cases: [keyof typeof CODES, number[], number[]][] = [
    ['uint8', [2, 3], [0, 1, 2, 253, 254, 255]],
    ['int8', [4], [-128, -1, 0, 127]],
    ['int16', [2, 2], [-32768, -2, 258, 32767]],
    ['int32', [3], [-2147483648, 16909060, 2147483647]],
    ['float32', [2, 1, 2], [1.5, -0.25, 3.140000104904175, 1e-7]],
    ['float64', [2], [Math.PI, -1e300]],
  ];
  for (const [dtype, shape, values] of cases) {
    for (const gz of [false, true]) {
      it(`reads ${dtype} ${gz ? 'gzipped' : 'raw'}`, () => {
        const raw = encodeIdx(dtype, shape, values);
        // the name never says .gz: detection is by magic bytes
        const p = write(gz ? gzipSync(raw) : raw);
        const out = readIdx(p);
        expect(out.dtype).toBe(dtype);
        expect(out.shape).toEqual(shape);
        expect(out.data.length).toBe(values.length);
        if (dtype === 'float32') expect(Array.from(out.data)).toEqual(values.map((v) => Math.fround(v)));
        else expect(Array.from(out.data)).toEqual(values);
      });
    }
  }

  it('decodes big-endian bytes exactly', () => {
    const bytes = Uint8Array.from([0, 0, 0x0c, 1, 0, 0, 0, 1, 0x01, 0x02, 0x03, 0x04]);
    expect(Array.from(readIdx(write(bytes)).data)).toEqual([0x01020304]);
    const f = Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0x3f, 0xc0, 0, 0]);
    expect(Array.from(readIdx(write(f)).data)).toEqual([1.5]);
  });

  it('reads an empty array (a zero dimension)', () => {
    const out = readIdx(write(encodeIdx('uint8', [0, 28, 28], [])));
    expect(out.shape).toEqual([0, 28, 28]);
    expect(out.data.length).toBe(0);
  });

  it('errors: missing file', () => {
    const p = join(tmp, 'nope-idx3-ubyte');
    expectInputError(() => readIdx(p), p, /not found/);
  });
  it('errors: bad magic', () => {
    const bad = encodeIdx('uint8', [2], [1, 2]);
    bad[0] = 0x50;
    const p = write(bad);
    expectInputError(() => readIdx(p), p, /bad magic/);
  });
  it('errors: unknown dtype code', () => {
    const bad = encodeIdx('uint8', [2], [1, 2]);
    bad[2] = 0x0a;
    const p = write(bad);
    expectInputError(() => readIdx(p), p, /unknown dtype code 0x0a/);
  });
  it('errors: too short for a header, or header cut off', () => {
    const p = write(Uint8Array.from([0, 0]));
    expectInputError(() => readIdx(p), p, /too short/);
    const q = write(Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 2]));
    expectInputError(() => readIdx(q), q, /truncated in its header/);
    const z = write(Uint8Array.from([0, 0, 8, 0]));
    expectInputError(() => readIdx(z), z, /0 dimensions/);
  });
  it('errors: truncated data (raw and gzipped)', () => {
    const full = encodeIdx('int32', [2, 2], [1, 2, 3, 4]);
    const p = write(full.subarray(0, full.length - 3));
    expectInputError(() => readIdx(p), p, /truncated or corrupt.*needs 16 data bytes, found 13/);
    const g = write(gzipSync(full.subarray(0, full.length - 4)));
    expectInputError(() => readIdx(g), g, /truncated or corrupt/);
  });
  it('errors: truncated gzip stream', () => {
    const gz = gzipSync(encodeIdx('uint8', [100], Array.from({ length: 100 }, (_, i) => i)));
    const p = write(gz.subarray(0, gz.length - 10));
    expectInputError(() => readIdx(p), p, /could not be decompressed/);
  });
  it('errors: trailing bytes', () => {
    const p = write(Buffer.concat([encodeIdx('uint8', [3], [1, 2, 3]), Buffer.from([9, 9])]));
    expectInputError(() => readIdx(p), p, /2 trailing bytes/);
  });
});

describe('loadMnistIdx', () => {
  function mnistDir(opts: { nTrain: number; nTest: number; nTrainLabels?: number; badLabel?: boolean; gz?: boolean }): string {
    const dir = mkdtempSync(join(tmp, 'mnist-'));
    const img = (n: number) => encodeIdx('uint8', [n, 28, 28], Array.from({ length: n * 784 }, (_, i) => (i * 7) % 256));
    const lab = (n: number, bad = false) => encodeIdx('uint8', [n], Array.from({ length: n }, (_, i) => (bad && i === n - 1 ? 10 : i % 10)));
    const put = (name: string, bytes: Buffer) =>
      writeFileSync(join(dir, opts.gz ? `${name}.gz` : name), opts.gz ? gzipSync(bytes) : bytes);
    put('train-images-idx3-ubyte', img(opts.nTrain));
    put('train-labels-idx1-ubyte', lab(opts.nTrainLabels ?? opts.nTrain, opts.badLabel));
    put('t10k-images-idx3-ubyte', img(opts.nTest));
    put('t10k-labels-idx1-ubyte', lab(opts.nTest));
    return dir;
  }

  for (const gz of [false, true]) {
    it(`loads a tiny ${gz ? 'gzipped' : 'raw'} MNIST directory, scaled to [0, 1]`, () => {
      const dir = mnistDir({ nTrain: 12, nTest: 5, gz });
      const ds = loadMnistIdx(dir);
      expect(ds.train.n).toBe(12);
      expect(ds.test.n).toBe(5);
      expect(ds.train.shape).toEqual([28, 28, 1]);
      expect(ds.train.x.length).toBe(12 * 784);
      expect(ds.train.x[1]).toBeCloseTo(7 / 255, 6);
      expect(Math.max(...ds.train.x)).toBe(1);
      expect(Array.from(ds.train.y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
      expect(ds.source).toBe(dir);
      const lim = loadMnistIdx(dir, { limit: 3 });
      expect(lim.train.n).toBe(3);
      expect(lim.test.n).toBe(3);
      expect(lim.train.x.length).toBe(3 * 784);
    });
  }

  it('errors: missing directory / missing file', () => {
    const nodir = join(tmp, 'no-such-dir');
    expectInputError(() => loadMnistIdx(nodir), nodir, /not found/);
    const dir = mkdtempSync(join(tmp, 'empty-'));
    expectInputError(() => loadMnistIdx(dir), dir, /no train-images-idx3-ubyte or train-images-idx3-ubyte\.gz/);
  });
  it('errors: mismatched image/label counts', () => {
    const dir = mnistDir({ nTrain: 4, nTest: 2, nTrainLabels: 3 });
    expectInputError(() => loadMnistIdx(dir), join(dir, 'train-labels-idx1-ubyte'), /3 labels but .*train-images-idx3-ubyte has 4 images/);
  });
  it('errors: label out of range', () => {
    const dir = mnistDir({ nTrain: 4, nTest: 2, badLabel: true, gz: true });
    expectInputError(() => loadMnistIdx(dir), join(dir, 'train-labels-idx1-ubyte.gz'), /label 10 at index 3, outside 0\.\.9/);
  });
  it('errors: wrong image shape or dtype', () => {
    const dir = mnistDir({ nTrain: 2, nTest: 2 });
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), encodeIdx('uint8', [2, 28, 27], new Array(2 * 28 * 27).fill(0)));
    expectInputError(() => loadMnistIdx(dir), join(dir, 't10k-images-idx3-ubyte'), /expected MNIST images ubyte \[n, 28, 28\]/);
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), encodeIdx('float32', [2, 28, 28], new Array(2 * 784).fill(0)));
    expectInputError(() => loadMnistIdx(dir), join(dir, 't10k-images-idx3-ubyte'), /float32/);
  });
});

// Opt-in: the real MNIST, from $PARRY_DATA_DIR (the data root holding mnist/, or the mnist dir itself), else
// ../shared/data/mnist next to the repository (packages/datasets/src -> four levels up).
function realMnistDir(): string {
  const env = process.env.PARRY_DATA_DIR;
  if (env) {
    const sub = join(env, 'mnist');
    return existsSync(sub) ? sub : env;
  }
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/data/mnist');
}
const realDir = realMnistDir();
const haveReal = existsSync(realDir);

describe('real MNIST (opt-in)', () => {
  it.skipIf(!haveReal)(
    `reads 60,000 train / 10,000 test from ${realDir}${haveReal ? '' : ' (skipped: ../shared/data/mnist not found; set PARRY_DATA_DIR)'}`,
    () => {
      const t0 = performance.now();
      const ds = loadMnistIdx(realDir);
      console.log(`real MNIST IDX load: ${(performance.now() - t0).toFixed(0)} ms from ${realDir}`);
      expect(ds.train.n).toBe(60_000);
      expect(ds.test.n).toBe(10_000);
      expect(ds.train.x.length).toBe(60_000 * 784);
      const counts = new Array<number>(10).fill(0);
      for (const v of ds.test.y) counts[v]++;
      expect(counts).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
      expect(Array.from(ds.train.y.subarray(0, 5))).toEqual([5, 0, 4, 1, 9]);
    },
    60_000,
  );
});

const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '../dist/index.js');

/** Runs an ES module snippet in a child node (10 s limit); prints `Name: message` of what it throws. */
function inChild(code: string): { out: string; timedOut: boolean } {
  const wrapped = `try { ${code} console.log('returned'); } catch (e) { console.log(e.name + ': ' + e.message); }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', wrapped], { encoding: 'utf8', timeout: 30_000, maxBuffer: 1 << 20 });
  return { out: `${r.stdout}${r.stderr}`.trim(), timedOut: r.error !== undefined || r.signal !== null };
}

describe('issue 14: hostile IDX input', () => {
  const img = (n: number) => encodeIdx('uint8', [n, 28, 28], new Array(n * 784).fill(3));
  const lab = (n: number) => encodeIdx('uint8', [n], Array.from({ length: n }, (_, i) => i % 10));
  function dir(nTrain: number, nTrainLabels: number, nTest = 2): string {
    const d = mkdtempSync(join(tmp, 'hostile-'));
    writeFileSync(join(d, 'train-images-idx3-ubyte'), img(nTrain));
    writeFileSync(join(d, 'train-labels-idx1-ubyte'), lab(nTrainLabels));
    writeFileSync(join(d, 't10k-images-idx3-ubyte'), img(nTest));
    writeFileSync(join(d, 't10k-labels-idx1-ubyte'), lab(nTest));
    return d;
  }
  it('IDX files with 0 training images are refused at load, naming the file', () => {
    const d = dir(0, 0);
    expectInputError(() => loadMnistIdx(d), join(d, 'train-images-idx3-ubyte'), /has 0 images/);
  });
  it('IDX files with 0 test images are refused at load, naming the file', () => {
    const d = dir(3, 3, 0);
    expectInputError(() => loadMnistIdx(d), join(d, 't10k-images-idx3-ubyte'), /has 0 images/);
  });
  it('an IDX label file whose count differs from the images is refused', () => {
    const d = dir(3, 5);
    expectInputError(() => loadMnistIdx(d), join(d, 'train-labels-idx1-ubyte'), /5 labels but .* has 3 images/);
  });
  it('an IDX header whose dims multiply to Infinity times 0 does not hide trailing bytes', () => {
    // 40 dims of 2**32-1 overflow the element count to Infinity; a trailing 0 dim made it NaN, which passed every size check.
    const shape = [...new Array(40).fill(0xffffffff), 0];
    const bytes = Buffer.concat([encodeIdx('uint8', shape, []), Buffer.from([1, 2, 3])]);
    const p = write(bytes);
    expectInputError(() => readIdx(p), p, /3 trailing bytes/);
  });
  it('an IDX header whose dims multiply past 2**53 is refused as truncated without allocating', () => {
    const p = write(encodeIdx('float64', [0xffffffff, 0xffffffff, 0xffffffff], []));
    expectInputError(() => readIdx(p), p, /truncated or corrupt/);
  });
  it('a gzip IDX that decompresses past the size limit (a gzip bomb) is refused', () => {
    const p = write(gzipSync(encodeIdx('uint8', [5000], new Array(5000).fill(0))));
    expectInputError(() => readIdx(p, 1000), p, /decompresses to more than 1000 bytes/);
    expect(readIdx(p).shape).toEqual([5000]);
  });
  it('an IDX file over the size limit is refused before it is read', () => {
    const p = write(encodeIdx('uint8', [5000], new Array(5000).fill(0)));
    expectInputError(() => readIdx(p, 1000), p, /over the 0\.001 MiB limit/);
  });
  it('an IDX path that is a directory is refused naming it', () => {
    const d = mkdtempSync(join(tmp, 'isdir-'));
    expectInputError(() => readIdx(d), d, /is a directory/);
  });
  it('an IDX path that is a character device (/dev/zero) is refused without reading it', () => {
    if (!existsSync('/dev/zero')) return;
    // Used to read /dev/zero until memory ran out: run it in a child process (the built package) with a timeout.
    const r = inChild(`const { readIdx } = await import(${JSON.stringify(DIST)}); readIdx('/dev/zero');`);
    expect(r.timedOut).toBe(false);
    expect(r.out).toMatch(/^InputError: IDX file \/dev\/zero is not a regular file/);
  });
});
