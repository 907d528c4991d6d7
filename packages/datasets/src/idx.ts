import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { InputError, MAX_INPUT_BYTES, readInputBytes, UsageError } from '@parry/core';
import type { ImageDataset, ImageSplit } from './types.js';

export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDtype;
  shape: number[];
  data: IdxData;
}

/** IDX type codes (third magic byte) and element sizes in bytes. */
export const IDX_DTYPES: Readonly<Record<number, { dtype: IdxDtype; size: number }>> = {
  0x08: { dtype: 'uint8', size: 1 },
  0x09: { dtype: 'int8', size: 1 },
  0x0b: { dtype: 'int16', size: 2 },
  0x0c: { dtype: 'int32', size: 4 },
  0x0d: { dtype: 'float32', size: 4 },
  0x0e: { dtype: 'float64', size: 8 },
};

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ').trim();
const hex = (b: number): string => `0x${b.toString(16).padStart(2, '0')}`;

/** True when `bytes` start with the gzip magic 0x1f 0x8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Parses IDX bytes (already gunzipped). `name` is used in error messages. Multi-byte values are big-endian in the
 * file and are converted to native typed arrays.
 */
export function parseIdx(bytes: Uint8Array, name: string): IdxArray {
  const fail = (problem: string): never => {
    throw new InputError(`IDX file ${name} ${problem}`);
  };
  if (bytes.length < 4) fail(`is too short for an IDX header (${bytes.length} bytes, need at least 4)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    fail(`has bad magic bytes ${hex(bytes[0])} ${hex(bytes[1])} (expected 0x00 0x00 <type> <dims>); not an IDX file`);
  }
  const code = bytes[2];
  const info = IDX_DTYPES[code];
  if (!info) fail(`has unknown dtype code ${hex(code)} (known: 0x08 ubyte, 0x09 byte, 0x0b short, 0x0c int, 0x0d float, 0x0e double)`);
  const ndims = bytes[3];
  if (ndims === 0) fail('has 0 dimensions (expected at least 1)');
  const headerLen = 4 + 4 * ndims;
  if (bytes.length < headerLen) {
    fail(`is truncated in its header: ${ndims} dimensions need ${headerLen} bytes, file has ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < ndims; i++) shape.push(view.getUint32(4 + 4 * i, false));
  // A zero dimension makes the array empty; otherwise the product may overflow (even to Infinity): cap it just past
  // what the file could hold, so every size check below compares finite integers.
  const actual = bytes.length - headerLen;
  let count = shape.includes(0) ? 0 : 1;
  for (const d of shape) if (count > 0 && count <= actual) count *= d;
  const expected = count * info.size;
  if (actual < expected) {
    fail(`is truncated or corrupt: shape [${shape.join(', ')}] of ${info.dtype} needs ${expected} data bytes, found ${actual}`);
  }
  if (actual > expected) {
    fail(`has ${actual - expected} trailing bytes after the data for shape [${shape.join(', ')}] of ${info.dtype}`);
  }
  const off = headerLen;
  let data: IdxData;
  switch (info.dtype) {
    case 'uint8':
      data = new Uint8Array(bytes.buffer, bytes.byteOffset + off, count).slice();
      break;
    case 'int8':
      data = new Int8Array(bytes.buffer, bytes.byteOffset + off, count).slice();
      break;
    case 'int16': {
      const a = new Int16Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getInt16(off + 2 * i, false);
      data = a;
      break;
    }
    case 'int32': {
      const a = new Int32Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getInt32(off + 4 * i, false);
      data = a;
      break;
    }
    case 'float32': {
      const a = new Float32Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getFloat32(off + 4 * i, false);
      data = a;
      break;
    }
    case 'float64': {
      const a = new Float64Array(count);
      for (let i = 0; i < count; i++) a[i] = view.getFloat64(off + 8 * i, false);
      data = a;
      break;
    }
  }
  return { dtype: info.dtype, shape, data };
}

/** Largest IDX file once decompressed (1 GiB; the official MNIST train images are 47 MB). */
export const MAX_IDX_BYTES = MAX_INPUT_BYTES;

/**
 * Reads an IDX file, raw or gzip-compressed (detected by the 0x1f 0x8b magic, not the extension), through the bounded
 * reader: a directory, a device or a file (or a gzip stream) over `maxBytes` is refused before it is read.
 */
export function readIdx(path: string, maxBytes = MAX_IDX_BYTES): IdxArray {
  let bytes: Uint8Array = readInputBytes(path, `IDX file ${path}`, 'an IDX file, raw or .gz', maxBytes);
  if (isGzip(bytes)) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: maxBytes });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
        throw new InputError(`IDX file ${path} decompresses to more than ${maxBytes} bytes, the limit for IDX data; is it really an IDX file?`);
      }
      throw new InputError(`IDX file ${path} is gzip but could not be decompressed (truncated or corrupt): ${oneLine(err.message)}`);
    }
  }
  return parseIdx(bytes, path);
}

export interface MnistIdxOptions {
  /** Keep at most this many examples per split (the first ones in file order). */
  limit?: number;
}

export const MNIST_IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** `dir/base` or `dir/base.gz`, whichever exists (raw preferred). */
function findIdxFile(dir: string, base: string): string {
  for (const candidate of [join(dir, base), join(dir, `${base}.gz`)]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new InputError(`MNIST directory ${dir} has no ${base} or ${base}.gz`);
}

function loadSplit(imagesPath: string, labelsPath: string, limit: number | undefined): ImageSplit {
  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath);
  const s = images.shape;
  if (images.dtype !== 'uint8' || s.length !== 3 || s[1] !== 28 || s[2] !== 28) {
    throw new InputError(`IDX file ${imagesPath} is ${images.dtype} [${s.join(', ')}], expected MNIST images ubyte [n, 28, 28]`);
  }
  if (labels.dtype !== 'uint8' || labels.shape.length !== 1) {
    throw new InputError(`IDX file ${labelsPath} is ${labels.dtype} [${labels.shape.join(', ')}], expected MNIST labels ubyte [n]`);
  }
  if (labels.shape[0] !== s[0]) {
    throw new InputError(`IDX file ${labelsPath} has ${labels.shape[0]} labels but ${imagesPath} has ${s[0]} images`);
  }
  const total = s[0];
  if (total === 0) throw new InputError(`IDX file ${imagesPath} has 0 images; nothing to train or test on (check that the download is complete)`);
  const n = Math.min(total, limit ?? total);
  const y = new Int32Array(n);
  for (let i = 0; i < total; i++) {
    const v = labels.data[i];
    if (v > 9) throw new InputError(`IDX file ${labelsPath} has label ${v} at index ${i}, outside 0..9`);
    if (i < n) y[i] = v;
  }
  const px = images.data as Uint8Array;
  const x = new Float32Array(n * 784);
  for (let i = 0; i < x.length; i++) x[i] = px[i] / 255;
  return { x, y, n, shape: [28, 28, 1] };
}

/**
 * Loads the standard MNIST IDX files (raw or .gz) from `dir`: 60,000 train and 10,000 test examples for the
 * official set. Pixels are scaled to [0, 1] float32.
 */
export function loadMnistIdx(dir: string, options: MnistIdxOptions = {}): ImageDataset {
  if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit > 0)) {
    throw new UsageError(`limit must be a positive integer, got ${options.limit}`);
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(`MNIST directory ${dir} not found`);
  const f = MNIST_IDX_FILES;
  const train = loadSplit(findIdxFile(dir, f.trainImages), findIdxFile(dir, f.trainLabels), options.limit);
  const test = loadSplit(findIdxFile(dir, f.testImages), findIdxFile(dir, f.testLabels), options.limit);
  return {
    name: 'mnist',
    train,
    test,
    numClasses: 10,
    labelNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    bounds: [0, 1],
    source: dir,
  };
}
