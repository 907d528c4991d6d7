/**
 * Property-based fuzzer for the IDX reader (issue 14): random magic, dtype codes, dimension counts, dimensions (0, small,
 * huge), data lengths (exact, truncated, extended), raw and gzipped, some cut mid-stream. Property: the reader either
 * returns an array consistent with its header and bytes, or throws an `InputError` naming the file; never another
 * error, never a hang, never a stack overflow.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '@parry/core';
import { IDX_DTYPES, parseIdx, readIdx } from './idx.js';

const tmp = mkdtempSync(join(tmpdir(), 'parry-idx-fuzz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const KNOWN = Object.keys(IDX_DTYPES).map(Number);

/** A header that is usually plausible (known code, few small dims) and sometimes hostile. */
const idxBytes = fc
  .record({
    magic: fc.oneof({ weight: 9, arbitrary: fc.constant([0, 0]) }, { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })) }),
    code: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...KNOWN) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
    dims: fc.oneof(
      { weight: 8, arbitrary: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 0, maxLength: 4 }) },
      { weight: 2, arbitrary: fc.array(fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constant(0xffffffff), fc.nat()), { minLength: 1, maxLength: 60 }) },
    ),
    /** Claimed number of dimensions differs from the dims written (a cut or padded header). */
    ndimsDelta: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 200 }) }),
    /** Data bytes relative to what the header asks: exact, fewer, more. */
    dataDelta: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: -40, max: 40 }) }),
    seed: fc.integer({ min: 0, max: 255 }),
    cut: fc.oneof({ weight: 7, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat() }),
  })
  .map(({ magic, code, dims, ndimsDelta, dataDelta, seed, cut }) => {
    const ndims = Math.max(0, Math.min(255, dims.length + ndimsDelta));
    const header = Buffer.alloc(4 + 4 * dims.length);
    header[0] = magic[0];
    header[1] = magic[1];
    header[2] = code;
    header[3] = ndims;
    dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
    const count = dims.includes(0) ? 0 : dims.reduce((p, d) => p * d, 1);
    const size = IDX_DTYPES[code]?.size ?? 1;
    const want = count * size <= 4096 ? count * size : 64;
    const body = Buffer.alloc(Math.max(0, want + dataDelta), 0);
    for (let i = 0; i < body.length; i++) body[i] = (seed * 31 + i * 17) & 0xff;
    const bytes = Buffer.concat([header, body]);
    return cut === null ? bytes : bytes.subarray(0, cut % (bytes.length + 1));
  });

/** Reads element `i` of an IDX body independently of the reader (big-endian). */
function element(bytes: Uint8Array, headerLen: number, dtype: string, i: number): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset + headerLen);
  if (dtype === 'uint8') return v.getUint8(i);
  if (dtype === 'int8') return v.getInt8(i);
  if (dtype === 'int16') return v.getInt16(2 * i);
  if (dtype === 'int32') return v.getInt32(4 * i);
  if (dtype === 'float32') return v.getFloat32(4 * i);
  return v.getFloat64(8 * i);
}

function checkParse(bytes: Uint8Array, name: string, parse: () => ReturnType<typeof parseIdx>, gz = false): void {
  let out: ReturnType<typeof parseIdx>;
  try {
    out = parse();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toContain(name);
    expect((e as Error).message).not.toContain('\n');
    return;
  }
  if (gz) return; // the gzipped bytes are not the IDX bytes; the raw runs check the content
  // Consistent with the input: header fields, element count, the exact byte length, and the values.
  const info = IDX_DTYPES[bytes[2]];
  expect(bytes[0]).toBe(0);
  expect(bytes[1]).toBe(0);
  expect(out.dtype).toBe(info.dtype);
  expect(out.shape.length).toBe(bytes[3]);
  const count = out.shape.reduce((p, d) => p * d, 1);
  expect(out.data.length).toBe(count);
  const headerLen = 4 + 4 * out.shape.length;
  expect(bytes.length).toBe(headerLen + count * info.size);
  out.shape.forEach((d, i) => expect(d).toBe(new DataView(bytes.buffer, bytes.byteOffset).getUint32(4 + 4 * i)));
  for (const i of [0, count >> 1, count - 1]) {
    if (i >= 0 && i < count) expect(Object.is(out.data[i], element(bytes, headerLen, info.dtype, i)) || (Number.isNaN(out.data[i]) && Number.isNaN(element(bytes, headerLen, info.dtype, i)))).toBe(true);
  }
}

describe('IDX fuzzer (issue 14)', () => {
  it('parseIdx: 4,000 random headers and bodies return consistent data or throw InputError naming the file', () => {
    let valid = 0;
    fc.assert(
      fc.property(idxBytes, (bytes) => {
        let ok = true;
        try {
          parseIdx(bytes, 'fuzz.idx');
        } catch {
          ok = false;
        }
        if (ok) valid++;
        checkParse(bytes, 'fuzz.idx', () => parseIdx(bytes, 'fuzz.idx'));
      }),
      { numRuns: 4000, seed: 14 },
    );
    // The generator must reach the success path too, not only the refusals.
    expect(valid).toBeGreaterThan(1000);
  }, 60_000);

  it('readIdx: 1,000 random files, raw, gzipped and cut gzip streams, return consistent data or throw InputError naming the file', () => {
    let n = 0;
    fc.assert(
      fc.property(idxBytes, fc.constantFrom('raw', 'gz', 'gz-cut'), fc.nat(), (bytes, kind, cut) => {
        const file = join(tmp, `f${n++ % 50}.idx`);
        let content: Uint8Array = bytes;
        if (kind !== 'raw') content = gzipSync(bytes);
        if (kind === 'gz-cut') content = content.subarray(0, cut % content.length);
        writeFileSync(file, content);
        checkParse(bytes, file, () => readIdx(file), kind !== 'raw');
      }),
      { numRuns: 1000, seed: 14 },
    );
  }, 60_000);
});
