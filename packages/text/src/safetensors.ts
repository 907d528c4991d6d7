/**
 * Reading and writing the safetensors format (Hugging Face checkpoints): an 8-byte little-endian header length, a JSON
 * header naming each tensor's dtype, shape and byte range, then the raw little-endian data. Files are validated as
 * strictly as the reference Rust implementation does, and written with its layout (tensors by descending dtype
 * alignment then name, `__metadata__` first, compact JSON padded with spaces to 8 bytes), so that a file it wrote
 * round-trips byte for byte.
 */
import * as fs from 'node:fs';
import { InputError } from '@parry/core';
import { writeFileAtomic } from '@parry/core';
import type { HostTensor, SafetensorsDtype } from '@parry/core';

/** The reference implementation refuses headers larger than this. */
const MAX_HEADER_BYTES = 100_000_000;

type HostData = HostTensor['data'];

interface DtypeInfo {
  /** Bytes per element in the file. */
  size: number;
  /** Position in the reference implementation's dtype order (increasing alignment); files list higher ranks first. */
  rank: number;
  /** Name of the host array type that holds this dtype's data. */
  host: 'Float32Array' | 'Float64Array' | 'Int32Array' | 'BigInt64Array' | 'Int16Array' | 'Int8Array' | 'Uint8Array';
}

const DTYPES: Record<SafetensorsDtype, DtypeInfo> = {
  BOOL: { size: 1, rank: 0, host: 'Uint8Array' },
  U8: { size: 1, rank: 1, host: 'Uint8Array' },
  I8: { size: 1, rank: 2, host: 'Int8Array' },
  I16: { size: 2, rank: 3, host: 'Int16Array' },
  F16: { size: 2, rank: 4, host: 'Float32Array' },
  BF16: { size: 2, rank: 5, host: 'Float32Array' },
  I32: { size: 4, rank: 6, host: 'Int32Array' },
  F32: { size: 4, rank: 7, host: 'Float32Array' },
  F64: { size: 8, rank: 8, host: 'Float64Array' },
  I64: { size: 8, rank: 9, host: 'BigInt64Array' },
};

const KNOWN_DTYPES = Object.keys(DTYPES).join(', ');

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  // Typed arrays use the platform byte order; safetensors data is little-endian.
  throw new Error('safetensors I/O needs a little-endian platform');
}

function isDtype(s: unknown): s is SafetensorsDtype {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, s);
}

// ---------------------------------------------------------------------------------------------------------------
// Half-precision conversions (bit exact, round-to-nearest-even, NaN payloads kept where they fit).

let f16Table: Uint32Array | undefined;

/** float32 bit patterns of all 65536 float16 values. */
function halfTable(): Uint32Array {
  if (f16Table) return f16Table;
  const table = new Uint32Array(65536);
  const scratch = new Float32Array(1);
  const scratchBits = new Uint32Array(scratch.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) {
      // zero or subnormal: mant * 2^-24 is exact in float32
      scratch[0] = mant * 2 ** -24;
      table[h] = (sign | scratchBits[0]) >>> 0;
    } else if (exp === 31) {
      table[h] = (sign | 0x7f800000 | (mant << 13)) >>> 0;
    } else {
      table[h] = (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
    }
  }
  f16Table = table;
  return table;
}

/** float16 bits -> float32 bits. */
export function halfBitsToFloat32Bits(h: number): number {
  return halfTable()[h & 0xffff];
}

/** float32 bits -> float16 bits, rounding to nearest even; overflow gives infinity, NaN stays NaN. */
export function float32BitsToHalfBits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) {
    if (mant === 0) return sign | 0x7c00;
    const m = mant >>> 13;
    return sign | 0x7c00 | (m === 0 ? 0x200 : m);
  }
  const e = exp - 112; // rebiased exponent
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal (or exactly half: ties to even zero)
    const m = mant | 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1) === 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // a carry into the exponent is correct, up to infinity
  return sign | h;
}

/** float32 bits -> bfloat16 bits, rounding to nearest even; NaN stays NaN. */
export function float32BitsToBf16Bits(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) {
    const h = x >>> 16;
    return (h & 0x7f) === 0 ? h | 0x40 : h;
  }
  const lsb = (x >>> 16) & 1;
  return ((x + 0x7fff + lsb) >>> 16) & 0xffff;
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function copyBytes(src: Uint8Array, begin: number, end: number): Uint8Array {
  const out = new Uint8Array(end - begin);
  out.set(src.subarray(begin, end));
  return out;
}

function decodeData(dtype: SafetensorsDtype, raw: Uint8Array): HostData {
  const buf = raw.buffer as ArrayBuffer;
  switch (dtype) {
    case 'F32':
      return new Float32Array(buf);
    case 'F64':
      return new Float64Array(buf);
    case 'I32':
      return new Int32Array(buf);
    case 'I64':
      return new BigInt64Array(buf);
    case 'I16':
      return new Int16Array(buf);
    case 'I8':
      return new Int8Array(buf);
    case 'U8':
    case 'BOOL':
      return raw;
    case 'F16': {
      const table = halfTable();
      const src = new Uint16Array(buf);
      const bits = new Uint32Array(src.length);
      for (let i = 0; i < src.length; i++) bits[i] = table[src[i]];
      return new Float32Array(bits.buffer);
    }
    case 'BF16': {
      const src = new Uint16Array(buf);
      const bits = new Uint32Array(src.length);
      for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
      return new Float32Array(bits.buffer);
    }
  }
}

interface Entry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

interface Header {
  metadata?: Record<string, string>;
  /** Sorted by data offset; they cover the data buffer exactly. */
  entries: Entry[];
}

type Bad = (what: string) => InputError;

const badFor =
  (source: string): Bad =>
  (what) =>
    new InputError(`${source}: not a valid safetensors file: ${what}`);

/** The header length from the first 8 bytes, checked against the cap and the total size (`total` bytes). */
function headerLength(first8: Uint8Array, total: number, bad: Bad): number {
  const n64 = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES)) throw bad(`header length ${n64} is over the ${MAX_HEADER_BYTES}-byte limit (corrupt or not safetensors)`);
  const n = Number(n64);
  if (8 + n > total) throw bad(`header length ${n} runs past the end of the ${total}-byte file (truncated?)`);
  return n;
}

/**
 * Validate a header (the `n` JSON bytes after the length) against a data buffer of `dataLen` bytes: every tensor's
 * dtype, shape and offsets, and exact coverage of the buffer (no overlaps, no gaps, no trailing bytes).
 */
function parseHeader(headerBytes: Uint8Array, dataLen: number, bad: Bad): Header {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    throw bad('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) throw bad('header does not start with "{"');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw bad(`header is not valid JSON (${String((e as Error)?.message).split('\n')[0]})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad('header is not a JSON object');

  let metadata: Record<string, string> | undefined;
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('"__metadata__" is not an object of strings');
      metadata = Object.create(null) as Record<string, string>;
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') throw bad(`"__metadata__" value of ${show(k)} is ${show(v)}, not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `tensor ${show(name)}`;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(`${where} is not an object`);
    const info = value as Record<string, unknown>;
    if (!isDtype(info.dtype)) throw bad(`${where} has unsupported dtype ${show(info.dtype)} (supported: ${KNOWN_DTYPES})`);
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(`${where} has shape ${show(shape)}, not a list of non-negative integers`);
    }
    const offs = info.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw bad(`${where} has data_offsets ${show(offs)}, not two non-negative integers [begin, end]`);
    }
    const [begin, end] = offs as [number, number];
    if (end < begin) throw bad(`${where} has data_offsets [${begin}, ${end}] with end before begin`);
    if (end > dataLen) throw bad(`${where} ends at byte ${end}, beyond the ${dataLen}-byte data buffer (truncated?)`);
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    const expected = elements * DTYPES[info.dtype].size;
    if (end - begin !== expected) {
      throw bad(`${where} spans ${end - begin} bytes but ${info.dtype} ${show(shape)} needs ${expected}`);
    }
    entries.push({ name, dtype: info.dtype, shape: [...(shape as number[])], begin, end });
  }

  // The data buffer must be covered exactly: no overlaps, no gaps, no trailing bytes.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: Entry | undefined;
  for (const e of byOffset) {
    if (e.begin < pos) throw bad(`tensor ${show(e.name)} [${e.begin}, ${e.end}] overlaps tensor ${show(prev?.name)} (ends at ${pos})`);
    if (e.begin > pos) throw bad(`${e.begin - pos} unused bytes at data offset ${pos} before tensor ${show(e.name)}`);
    pos = e.end;
    prev = e;
  }
  if (pos !== dataLen) throw bad(`${dataLen - pos} unused bytes after the last tensor (data buffer is ${dataLen} bytes)`);
  return metadata ? { metadata, entries: byOffset } : { entries: byOffset };
}

/**
 * Parse a safetensors file held in memory. F16/BF16 data is widened to float32 (`dtype` keeps the stored type); every
 * tensor gets its own aligned copy. Throws `InputError` naming `source` for any malformed or inconsistent header.
 */
export function parseSafetensors(
  bytes: Uint8Array,
  source = '<buffer>',
): { metadata?: Record<string, string>; tensors: Record<string, HostTensor> } {
  const bad = badFor(source);
  if (bytes.length < 8) throw bad(`only ${bytes.length} bytes, shorter than the 8-byte header length`);
  const n = headerLength(bytes.subarray(0, 8), bytes.length, bad);
  const { metadata, entries } = parseHeader(bytes.subarray(8, 8 + n), bytes.length - 8 - n, bad);
  const tensors = Object.create(null) as Record<string, HostTensor>;
  const base = 8 + n;
  for (const e of entries) {
    const raw = copyBytes(bytes, base + e.begin, base + e.end);
    tensors[e.name] = { dtype: e.dtype, shape: e.shape, data: decodeData(e.dtype, raw) };
  }
  return metadata ? { metadata, tensors } : { tensors };
}

/** A safetensors file opened by {@link openSafetensorsFile}: its validated header, and its tensors on demand. */
export interface SafetensorsFile {
  readonly path: string;
  readonly metadata?: Record<string, string>;
  /** dtype and shape of every tensor, from the header (no data read). */
  readonly tensors: Record<string, { dtype: SafetensorsDtype; shape: number[] }>;
  /** Read the named tensors (all when absent; unknown names are skipped), each into its own buffer. */
  read(names?: Iterable<string>): Record<string, HostTensor>;
  close(): void;
}

/** Bytes per read call (Node refuses reads over 2 GiB). */
const CHUNK_BYTES = 2 ** 30;

/** Turn an fs error into one line naming the file. */
function fsError(path: string, e: unknown): InputError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new InputError(`${path}: safetensors file not found; check the path`);
  if (code === 'EISDIR') return new InputError(`${path}: is a directory, expected a .safetensors file`);
  return new InputError(`${path}: cannot read safetensors file (${code ?? (e as Error).message})`);
}

/**
 * Open a safetensors file as a bounded reader: it must be a regular file (not a device, pipe or link to one); the
 * 8-byte length and the header are read and validated first (header at most 100 MB; the file size must be exactly
 * 8 + header + data), and nothing else is read until {@link SafetensorsFile.read} asks for tensors, which are read one
 * by one, in chunks, straight into their own buffers (peak memory about the size of the tensors read; files over
 * 2 GiB load). `InputError` naming the path for anything missing or malformed.
 */
export function openSafetensorsFile(path: string, options: { chunkBytes?: number } = {}): SafetensorsFile {
  const bad = badFor(path);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(path);
  } catch (e) {
    throw fsError(path, e);
  }
  if (stat.isDirectory()) throw new InputError(`${path}: is a directory, expected a .safetensors file`);
  const notRegular = () => new InputError(`${path}: not a regular file (a device, pipe or socket); point at a .safetensors file`);
  if (!stat.isFile()) throw notRegular();
  let fd: number;
  try {
    // O_NONBLOCK: should the path have become a FIFO since the stat, open must not wait for a writer.
    fd = fs.openSync(path, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw fsError(path, e);
  }
  const chunk = Math.max(1, Math.min(options.chunkBytes ?? CHUNK_BYTES, CHUNK_BYTES));
  /** Fill `into` from `position`; a short file (changed since the header was read) is an InputError. */
  const readAt = (into: Uint8Array, position: number): void => {
    let done = 0;
    while (done < into.length) {
      let got: number;
      try {
        got = fs.readSync(fd, into, done, Math.min(chunk, into.length - done), position + done);
      } catch (e) {
        throw fsError(path, e);
      }
      if (got === 0) throw bad(`the file ended at byte ${position + done} while reading (truncated or changed since it was opened?)`);
      done += got;
    }
  };
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    fs.closeSync(fd);
  };
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw notRegular();
    const size = st.size;
    if (size < 8) throw bad(`only ${size} bytes, shorter than the 8-byte header length`);
    const first8 = new Uint8Array(8);
    readAt(first8, 0);
    const n = headerLength(first8, size, bad);
    const headerBytes = new Uint8Array(n);
    readAt(headerBytes, 8);
    const { metadata, entries } = parseHeader(headerBytes, size - 8 - n, bad);
    const base = 8 + n;
    const tensors = Object.create(null) as Record<string, { dtype: SafetensorsDtype; shape: number[] }>;
    for (const e of entries) tensors[e.name] = { dtype: e.dtype, shape: [...e.shape] };
    const read = (names?: Iterable<string>): Record<string, HostTensor> => {
      if (closed) throw new InputError(`${path}: safetensors file was closed; open it again`);
      const wanted = names === undefined ? undefined : new Set(names);
      const out = Object.create(null) as Record<string, HostTensor>;
      for (const e of entries) {
        if (wanted && !wanted.has(e.name)) continue;
        let raw: Uint8Array;
        try {
          raw = new Uint8Array(e.end - e.begin);
        } catch {
          throw new InputError(`${path}: tensor ${show(e.name)} needs ${e.end - e.begin} bytes, more than can be allocated here`);
        }
        readAt(raw, base + e.begin);
        out[e.name] = { dtype: e.dtype, shape: [...e.shape], data: decodeData(e.dtype, raw) };
      }
      return out;
    };
    return metadata ? { path, metadata, tensors, read, close } : { path, tensors, read, close };
  } catch (e) {
    close();
    throw e;
  }
}

/** Read and parse a safetensors file (through {@link openSafetensorsFile}); `InputError` if it is missing or malformed. */
export function readSafetensorsFile(path: string): { metadata?: Record<string, string>; tensors: Record<string, HostTensor> } {
  const file = openSafetensorsFile(path);
  try {
    const tensors = file.read();
    return file.metadata ? { metadata: file.metadata, tensors } : { tensors };
  } finally {
    file.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Serialization

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function encodeData(name: string, t: HostTensor): Uint8Array {
  const info = DTYPES[t.dtype];
  const where = `tensor ${show(name)}`;
  if (!info) throw new InputError(`${where}: unsupported dtype ${show(t.dtype)} (supported: ${KNOWN_DTYPES})`);
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new InputError(`${where}: shape ${show(t.shape)} is not a list of non-negative integers`);
  }
  const elements = t.shape.reduce((a, b) => a * b, 1);
  const ctor = t.data?.constructor?.name;
  // Buffer is a Uint8Array subclass; accept it for U8/BOOL.
  const hostOk = ctor === info.host || (info.host === 'Uint8Array' && t.data instanceof Uint8Array);
  if (!hostOk) throw new InputError(`${where}: ${t.dtype} data must be a ${info.host}, got ${ctor ?? typeof t.data}`);
  if (t.data.length !== elements) {
    throw new InputError(`${where}: data has ${t.data.length} elements but shape ${show(t.shape)} needs ${elements}`);
  }
  const bytesOf = (d: HostData): Uint8Array => new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  if (t.dtype === 'F16' || t.dtype === 'BF16') {
    const src = t.data as Float32Array;
    const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
    const out = new Uint16Array(src.length);
    const conv = t.dtype === 'F16' ? float32BitsToHalfBits : float32BitsToBf16Bits;
    for (let i = 0; i < out.length; i++) out[i] = conv(bits[i]);
    return new Uint8Array(out.buffer);
  }
  return bytesOf(t.data);
}

/**
 * Serialize tensors (each written in its `dtype`; F16/BF16 are rounded to nearest even from float32 data) with the
 * reference layout: descending dtype alignment then name, `__metadata__` first, compact JSON padded to 8 bytes.
 */
export function serializeSafetensors(tensors: Record<string, HostTensor>, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors);
  if (names.includes('__metadata__')) throw new InputError('tensor name "__metadata__" is reserved by safetensors; rename the tensor');
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new InputError(`safetensors metadata ${show(k)} is ${show(v)}; values must be strings`);
    }
  }
  const order = names
    .map((name) => ({ name, t: tensors[name] }))
    .sort((a, b) => (DTYPES[b.t.dtype]?.rank ?? -1) - (DTYPES[a.t.dtype]?.rank ?? -1) || utf8Compare(a.name, b.name));
  const parts: Uint8Array[] = [];
  const fields: string[] = [];
  if (metadata) fields.push(`"__metadata__":${JSON.stringify(metadata)}`);
  let offset = 0;
  for (const { name, t } of order) {
    const data = encodeData(name, t);
    const end = offset + data.length;
    fields.push(`${JSON.stringify(name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    parts.push(data);
    offset = end;
  }
  const json = Buffer.from(`{${fields.join(',')}}`, 'utf8');
  const headerLen = Math.ceil(json.length / 8) * 8;
  if (headerLen > MAX_HEADER_BYTES) throw new InputError(`safetensors header would be ${headerLen} bytes, over the ${MAX_HEADER_BYTES}-byte limit`);
  const out = new Uint8Array(8 + headerLen + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** Serialize tensors and write them to `path` atomically (readers never see a half-written file). */
export function writeSafetensorsFile(path: string, tensors: Record<string, HostTensor>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}
