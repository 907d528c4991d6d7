/**
 * Property-based fuzzing of the safetensors parser (issue 14): random files, valid and mutated (header length,
 * offsets, dtypes, shapes, overlapping and out-of-range offsets, huge numbers, non-JSON, deep nesting, duplicate keys,
 * truncation, trailing bytes, flipped bytes). Property: the parser either returns tensors consistent with the header
 * (dtype, shape, the exact bytes at the declared offsets) or throws an InputError, never another error, and never
 * allocates more than the input holds (twice for F16/BF16, which widen to float32).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '@parry/core';
import { openSafetensorsFile, parseSafetensors, readSafetensorsFile } from './safetensors.js';
import type { HostTensor } from '@parry/core';

const SIZES: Record<string, number> = { BOOL: 1, U8: 1, I8: 1, I16: 2, F16: 2, BF16: 2, I32: 4, F32: 4, F64: 8, I64: 8 };
const DTYPES = Object.keys(SIZES);

interface Spec {
  name: string;
  dtype: string;
  shape: number[];
}

/** Header object and data buffer for tensors laid out back to back. */
function layout(specs: Spec[], metadata: Record<string, string> | undefined, fill: number): { header: Record<string, unknown>; data: Uint8Array } {
  const header = Object.create(null) as Record<string, unknown>; // a "__proto__" tensor name is an own key
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const s of specs) {
    const len = s.shape.reduce((a, b) => a * b, 1) * SIZES[s.dtype];
    header[s.name] = { dtype: s.dtype, shape: s.shape, data_offsets: [offset, offset + len] };
    offset += len;
  }
  const data = new Uint8Array(offset);
  for (let i = 0; i < data.length; i++) data[i] = (fill + i * 31) & 0xff;
  return { header, data };
}

function assemble(headerText: string, data: Uint8Array, lengthField?: bigint): Uint8Array {
  const json = Buffer.from(headerText, 'utf8');
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthField ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const specArb: fc.Arbitrary<Spec> = fc.record({
  name: fc.oneof(fc.constantFrom('w', 'b', 'bert.embeddings.word_embeddings.weight', '__proto__', 'constructor', ''), fc.string({ maxLength: 12 })),
  dtype: fc.constantFrom(...DTYPES),
  shape: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }),
});

const hugeNumber = fc.constantFrom(2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e300, -1, -0, 0.5, Number.MAX_SAFE_INTEGER, 1e21);
const junkValue = fc.oneof(hugeNumber, fc.integer(), fc.string({ maxLength: 5 }), fc.constant(null), fc.constant([]), fc.constant({}), fc.constant([[1]]));

type Mutation =
  | { kind: 'none' }
  | { kind: 'length'; value: bigint }
  | { kind: 'offset'; tensor: number; which: 0 | 1; value: unknown }
  | { kind: 'offsets'; tensor: number; value: unknown }
  | { kind: 'dtype'; tensor: number; value: unknown }
  | { kind: 'shape'; tensor: number; value: unknown }
  | { kind: 'overlap'; tensor: number }
  | { kind: 'truncate'; keep: number }
  | { kind: 'append'; bytes: number }
  | { kind: 'flip'; at: number; value: number }
  | { kind: 'text'; text: string }
  | { kind: 'nest'; depth: number }
  | { kind: 'duplicate'; tensor: number }
  | { kind: 'metadata'; value: unknown };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'none' as const }) },
  fc.record({ kind: fc.constant('length' as const), value: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 400n }), fc.constant(100_000_001n)) }),
  fc.record({ kind: fc.constant('offset' as const), tensor: fc.nat(), which: fc.constantFrom(0 as const, 1 as const), value: fc.oneof(fc.integer({ min: -4, max: 400 }), junkValue) }),
  fc.record({ kind: fc.constant('offsets' as const), tensor: fc.nat(), value: junkValue }),
  fc.record({ kind: fc.constant('dtype' as const), tensor: fc.nat(), value: fc.oneof(fc.constantFrom(...DTYPES, 'F8_E4M3', 'f32', 'toString', '__proto__'), junkValue) }),
  fc.record({ kind: fc.constant('shape' as const), tensor: fc.nat(), value: fc.oneof(fc.array(fc.oneof(fc.integer({ min: -2, max: 9 }), hugeNumber), { maxLength: 4 }), junkValue) }),
  fc.record({ kind: fc.constant('overlap' as const), tensor: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('text' as const), text: fc.oneof(fc.string({ maxLength: 40 }), fc.json({ maxDepth: 3 }), fc.constantFrom('{', '{}', '{"a":1,}', '{"a":{"dtype":"F32"}}', '{"__metadata__":{"x":1}}', '\ufeff{}', '{"a":1e999}')) }),
  fc.record({ kind: fc.constant('nest' as const), depth: fc.integer({ min: 1, max: 200_000 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), tensor: fc.nat() }),
  fc.record({ kind: fc.constant('metadata' as const), value: junkValue }),
);

/** A file from valid specs and one mutation. */
function build(specs: Spec[], metadata: Record<string, string> | undefined, fill: number, m: Mutation): Uint8Array {
  const { header, data } = layout(specs, metadata, fill);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const pick = (i: number) => (names.length ? (header[names[i % names.length]] as Record<string, unknown>) : undefined);
  let text: string | undefined;
  let lengthField: bigint | undefined;
  let bytes: Uint8Array | undefined;
  switch (m.kind) {
    case 'none':
      break;
    case 'length':
      lengthField = m.value;
      break;
    case 'offset': {
      const t = pick(m.tensor);
      if (t) (t.data_offsets as unknown[])[m.which] = m.value;
      break;
    }
    case 'offsets': {
      const t = pick(m.tensor);
      if (t) t.data_offsets = m.value;
      break;
    }
    case 'dtype': {
      const t = pick(m.tensor);
      if (t) t.dtype = m.value;
      break;
    }
    case 'shape': {
      const t = pick(m.tensor);
      if (t) t.shape = m.value;
      break;
    }
    case 'overlap': {
      const t = pick(m.tensor);
      const u = pick(m.tensor + 1);
      if (t && u) t.data_offsets = [...(u.data_offsets as number[])];
      break;
    }
    case 'text':
      text = m.text;
      break;
    case 'nest':
      text = `{"a":${'['.repeat(m.depth)}${']'.repeat(m.depth)}}`;
      break;
    case 'duplicate': {
      const t = pick(m.tensor);
      const json = JSON.stringify(header);
      // the same key twice: the last one wins (as JSON.parse, and serde_json into a map)
      text = t ? `${json.slice(0, -1)}${json.length > 2 ? ',' : ''}${JSON.stringify(names[m.tensor % names.length])}:${JSON.stringify({ ...t, dtype: 'U8' })}}` : json;
      break;
    }
    case 'metadata':
      header.__metadata__ = m.value;
      break;
    default:
      break;
  }
  bytes = assemble(text ?? JSON.stringify(header), data, lengthField);
  if (m.kind === 'truncate') bytes = bytes.subarray(0, m.keep % (bytes.length + 1));
  if (m.kind === 'append') bytes = new Uint8Array([...bytes, ...new Uint8Array(m.bytes)]);
  if (m.kind === 'flip' && bytes.length > 0) bytes[m.at % bytes.length] = m.value;
  return bytes;
}

/** The property: tensors consistent with the header and the bytes, or an InputError. */
function check(bytes: Uint8Array, parse: (b: Uint8Array) => { metadata?: Record<string, string>; tensors: Record<string, HostTensor> }): 'ok' | 'refused' {
  let result: ReturnType<typeof parse>;
  try {
    result = parse(bytes);
  } catch (e) {
    if (!(e instanceof InputError)) throw new Error(`not an InputError: ${(e as Error)?.name}: ${(e as Error)?.message}`);
    if (e.message.includes('\n')) throw new Error(`a multi-line message: ${e.message}`);
    return 'refused';
  }
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  expect(Object.keys(result.tensors).sort()).toEqual(names.sort());
  let allocated = 0;
  for (const name of names) {
    const h = header[name];
    const t = result.tensors[name];
    expect(t.dtype).toBe(h.dtype);
    expect(t.shape).toEqual(h.shape);
    const elements = h.shape.reduce((a, b) => a * b, 1);
    expect(t.data.length).toBe(elements);
    allocated += t.data.byteLength;
    const [begin, end] = h.data_offsets;
    const raw = bytes.subarray(8 + n + begin, 8 + n + end);
    if (h.dtype !== 'F16' && h.dtype !== 'BF16') {
      expect(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(raw))).toBe(true);
    }
  }
  expect(allocated).toBeLessThanOrEqual(2 * bytes.length);
  if (header.__metadata__ !== undefined) expect(result.metadata).toEqual(header.__metadata__);
  return 'ok';
}

const fileArb = fc.record({
  specs: fc.array(specArb, { maxLength: 5 }),
  metadata: fc.option(fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }), { nil: undefined }),
  fill: fc.integer({ min: 0, max: 255 }),
  mutation: mutationArb,
});

describe('safetensors parser fuzzing (fast-check)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-st-fuzz-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('3,000 random valid and mutated headers: tensors consistent with the header, or an InputError', () => {
    const seen = { ok: 0, refused: 0 };
    fc.assert(
      fc.property(fileArb, ({ specs, metadata, fill, mutation }) => {
        const bytes = build(specs, metadata, fill, mutation);
        const outcome = check(bytes, (b) => parseSafetensors(b, 'fuzz.safetensors'));
        seen[outcome]++;
        // Unmutated files with distinct names always parse.
        if (mutation.kind === 'none' && new Set(specs.map((s) => s.name)).size === specs.length && !specs.some((s) => s.name === '__metadata__')) {
          expect(outcome).toBe('ok');
        }
      }),
      { numRuns: 3000, seed: 14 },
    );
    // Both branches are exercised.
    expect(seen.ok).toBeGreaterThan(300);
    expect(seen.refused).toBeGreaterThan(300);
  }, 60_000);

  it('400 random files through the bounded file reader behave as the in-memory parser', () => {
    let i = 0;
    fc.assert(
      fc.property(fileArb, ({ specs, metadata, fill, mutation }) => {
        const bytes = build(specs, metadata, fill, mutation);
        const file = path.join(dir, `f${i++}.safetensors`);
        fs.writeFileSync(file, bytes);
        const outcome = check(bytes, () => readSafetensorsFile(file));
        let inMemory: 'ok' | 'refused';
        try {
          parseSafetensors(bytes, file);
          inMemory = 'ok';
        } catch {
          inMemory = 'refused';
        }
        expect(outcome).toBe(inMemory);
        if (outcome === 'ok') {
          // The header alone gives the same names, dtypes and shapes.
          const st = openSafetensorsFile(file);
          st.close();
          expect(Object.keys(st.tensors).length).toBe(Object.keys(readSafetensorsFile(file).tensors).length);
        }
        fs.rmSync(file);
      }),
      { numRuns: 400, seed: 1414 },
    );
  }, 60_000);
});
