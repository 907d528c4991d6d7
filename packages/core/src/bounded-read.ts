/**
 * The one bounded reader for files a user points Parry at (data sets, results files): `readInputBytes` reads a regular
 * file of at most `maxBytes` (never a directory, device or FIFO, which could be endless), with every read error as a
 * one-line `InputError`; `decodeUtf8` decodes strictly, naming the line of the first bad byte. Weights have their own
 * header-first reader (`openSafetensorsFile`), Hub downloads their own bounded stream.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { InputError } from './errors.js';

/** Largest data file the loaders read (1 GiB): a JS string or a Node buffer cannot hold much more anyway. */
export const MAX_INPUT_BYTES = 1024 ** 3;

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ').trim();

function mib(n: number): string {
  return `${(n / 1024 ** 2).toFixed(n < 1024 ** 2 ? 3 : 0)} MiB`;
}

/**
 * Reads a whole regular file. `what` names the file in errors (e.g. `"IDX file x"`, `"x"`), `expected` says what it
 * should be. Refuses missing files, directories, devices and FIFOs (which would never end), files over `maxBytes`, and
 * turns any other read error into an `InputError` with its cause.
 */
export interface ReadHints {
  /** The fix when the file is missing (default: `expected <expected>`). */
  notFound?: string;
  /** The error for a directory (default: `<what> is a directory (expected <expected>)`). */
  directory?: () => InputError;
  /** What the size limit is for (default `data files`) and the fix when the file is over it. */
  tooLarge?: { limitFor: string; fix: string };
}

export function readInputBytes(path: string, what: string, expected: string, maxBytes = MAX_INPUT_BYTES, hints: ReadHints = {}): Buffer {
  const directory = () => hints.directory?.() ?? new InputError(`${what} is a directory (expected ${expected})`);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new InputError(`${what} not found${hints.notFound ? `; ${hints.notFound}` : ` (expected ${expected})`}`);
    if (err.code === 'EACCES' || err.code === 'EPERM') throw new InputError(`${what} cannot be read (permission denied); fix its permissions or pass another file`);
    if (err.code === 'EISDIR') throw directory();
    throw new InputError(`${what} could not be opened: ${oneLine(err.message)} (expected ${expected})`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw directory();
    if (!st.isFile()) throw new InputError(`${what} is not a regular file (a device, FIFO or socket; expected ${expected})`);
    if (st.size > maxBytes) throw new InputError(`${what} is ${mib(st.size)}, over the ${mib(maxBytes)} limit for ${hints.tooLarge?.limitFor ?? 'data files'}; ${hints.tooLarge?.fix ?? 'split it into smaller files'}`);
    const buf = Buffer.allocUnsafe(st.size);
    let got = 0;
    while (got < st.size) {
      let n: number;
      try {
        n = readSync(fd, buf, got, st.size - got, got);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code === 'EISDIR') throw directory();
        throw new InputError(`${what} could not be read: ${oneLine(err.message)}`);
      }
      if (n === 0) break; // shrank while reading: use what is there
      got += n;
    }
    return got === st.size ? buf : buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/**
 * Largest text file the loaders decode (V8's longest string, 2**29 - 24 UTF-16 units, about 512 MiB): UTF-8 never
 * decodes to more units than it has bytes, so a file within this limit always fits in one string.
 */
export const MAX_TEXT_BYTES = 2 ** 29 - 24;

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Byte offset of the first byte that is not part of a valid UTF-8 sequence, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let len: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) len = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      len = 3;
      if (b === 0xe0) lo = 0xa0; // overlong
      if (b === 0xed) hi = 0x9f; // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      len = 4;
      if (b === 0xf0) lo = 0x90; // overlong
      if (b === 0xf4) hi = 0x8f; // > U+10FFFF
    } else return i;
    if (i + len > n) return i;
    if (bytes[i + 1] < lo || bytes[i + 1] > hi) return i;
    for (let k = 2; k < len; k++) if (bytes[i + k] < 0x80 || bytes[i + k] > 0xbf) return i;
    i += len;
  }
  return -1;
}

/**
 * Decodes UTF-8 strictly (a leading BOM is dropped). Invalid bytes are refused as `file:line: invalid UTF-8 ...`
 * instead of being replaced with U+FFFD.
 */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  let text: string;
  try {
    text = strict.decode(bytes);
  } catch {
    const at = Math.max(0, firstInvalidUtf8(bytes));
    let line = 1;
    let col = 1;
    for (let i = 0; i < at; i++) {
      if (bytes[i] === 0x0a) {
        line++;
        col = 1;
      } else col++;
    }
    const shown = Array.from(bytes.subarray(at, at + 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new InputError(`${file}:${line}: invalid UTF-8 at byte ${col} of the line (bytes ${shown}); re-save the file as UTF-8`);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
