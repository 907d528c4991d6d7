import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { InputError, UsageError, decodeUtf8, readInputBytes, writeDirAtomic, z } from '@parry/core';

export const CHECKPOINT_FORMAT = 'parry-train-checkpoint';
export const CHECKPOINT_VERSION = 1;

interface TensorEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  offset: number;
  bytes: number;
}

/** `checkpoint.json` next to `tensors.bin` in `<dir>/epoch-NNNN/` (or `<dir>/step-NNNNNNNN/` for step checkpoints). */
export interface CheckpointMeta<S = unknown> {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  /** Completed epochs (completed optimizer steps in a `step-` checkpoint). */
  epoch: number;
  /** sha256 of `tensors.bin`. */
  sha256: string;
  tensors: TensorEntry[];
  /** Trainer state (records, optimizer step, plugin JSON state, config key ...). */
  state: S;
}

const EPOCH_DIR = /^epoch-(\d+)$/;
const STEP_DIR = /^step-(\d+)$/;

/** What a checkpoint counts: epochs (`epoch-NNNN`, the trainers) or optimizer steps (`step-NNNNNNNN`, `parry pretrain`). */
export type CheckpointUnit = 'epoch' | 'step';

export function checkpointPath(dir: string, epoch: number, unit: CheckpointUnit = 'epoch'): string {
  return path.join(dir, unit === 'step' ? `step-${String(epoch).padStart(8, '0')}` : `epoch-${String(epoch).padStart(4, '0')}`);
}

/**
 * Write one checkpoint directory atomically (`writeDirAtomic`: a kill leaves the previous checkpoints intact and no
 * half-written one), then prune all but the newest `keep` (0 = keep all). `dir` that is a file is a `UsageError`
 * naming `--checkpoint-dir` (trainers should also call `checkCheckpointDir` before the first epoch).
 */
export async function writeCheckpoint<S>(dir: string, epoch: number, state: S, tensors: Record<string, tf.Tensor>, keep = 0, unit: CheckpointUnit = 'epoch'): Promise<string> {
  checkCheckpointDir(dir);
  const entries: TensorEntry[] = [];
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== 'float32' && t.dtype !== 'int32') throw new Error(`checkpoint tensor ${name} has dtype ${t.dtype}; only float32 and int32 are stored`);
    const data = await t.data();
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    entries.push({ name, shape: [...t.shape], dtype: t.dtype, offset, bytes: buf.length });
    chunks.push(Buffer.from(buf));
    offset += buf.length;
  }
  const bin = Buffer.concat(chunks);
  const meta: CheckpointMeta<S> = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    epoch,
    sha256: createHash('sha256').update(bin).digest('hex'),
    tensors: entries,
    state,
  };
  const target = checkpointPath(dir, epoch, unit);
  await writeDirAtomic(target, (tmp) => {
    fs.writeFileSync(path.join(tmp, 'tensors.bin'), bin);
    fs.writeFileSync(path.join(tmp, 'checkpoint.json'), JSON.stringify(meta));
  });
  if (keep > 0) {
    const all = listCheckpoints(dir, unit);
    for (const old of all.slice(0, Math.max(all.length - keep, 0))) fs.rmSync(old.path, { recursive: true, force: true });
  }
  return target;
}

/**
 * Complete checkpoint directories under `dir`, oldest first. `dir` that exists and is not a directory is a
 * `UsageError` naming `--checkpoint-dir` (never a readdir stack).
 */
export function listCheckpoints(dir: string, unit: CheckpointUnit = 'epoch'): Array<{ epoch: number; path: string }> {
  checkCheckpointDir(dir);
  if (!fs.existsSync(dir)) return [];
  const pattern = unit === 'step' ? STEP_DIR : EPOCH_DIR;
  return fs
    .readdirSync(dir)
    .map((name) => ({ m: pattern.exec(name), name }))
    .filter((e) => e.m && fs.existsSync(path.join(dir, e.name, 'checkpoint.json')))
    .map((e) => ({ epoch: Number(e.m![1]), path: path.join(dir, e.name) }))
    .sort((a, b) => a.epoch - b.epoch);
}

/** Throws a `UsageError` when `dir` exists and is not a directory; call it before training starts. */
export function checkCheckpointDir(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    return; // absent: created with the first checkpoint
  }
  if (!st.isDirectory()) throw new UsageError(`--checkpoint-dir ${dir} is a file, not a directory; pass a directory (a new one starts fresh)`);
}

/** Largest `checkpoint.json` read (the trainer's records and plugin state are small). */
const MAX_JSON_BYTES = 64 * 1024 * 1024;
/** tfjs keeps a tensor's size in an int32. */
const MAX_ELEMENTS = 2 ** 31 - 1;

const entrySchema = z.strictObject({
  name: z.string().min(1).max(1000),
  shape: z.array(z.number().int().min(0).max(MAX_ELEMENTS)).max(8),
  dtype: z.enum(['float32', 'int32']),
  offset: z.number().int().min(0),
  bytes: z.number().int().min(0),
});

const metaSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  version: z.number().int().min(1).max(CHECKPOINT_VERSION),
  epoch: z.number().int().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex digits'),
  tensors: z.array(entrySchema),
  state: z.looseObject({}),
});

/** `tensors[1].offset`, `state.records[0].loss` ... */
function fieldOf(p: readonly PropertyKey[]): string {
  return p.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)), '');
}

/** The path of the first number in `v` that is not finite (`1e999` parses to Infinity), or undefined. */
function nonFinite(v: unknown, at: string, depth = 0): string | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : at;
  if (depth > 64 || v === null || typeof v !== 'object') return undefined;
  for (const [k, x] of Object.entries(v)) {
    const found = nonFinite(x, Array.isArray(v) ? `${at}[${k}]` : `${at}.${k}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

export interface ReadCheckpointOptions {
  /**
   * Tensors the model being trained needs, by name, with their shapes: a checkpoint that lacks one or stores it with
   * another shape "does not fit this model" (an `InputError` naming the tensor), checked before any tensor is made.
   */
  expected?: Record<string, readonly number[]>;
}

/**
 * Read a checkpoint; the caller owns (and disposes) the returned tensors. One validator for the whole checkpoint,
 * before any tensor is made: `checkpoint.json` against its schema (no non-finite number anywhere, its epoch is its
 * directory's), the tensor table (each entry's bytes match its shape and dtype, entries are contiguous from 0, unique
 * names, together exactly the size of `tensors.bin`, checked before the file is read), the checksum, finite float
 * values and, with `expected`, the names and shapes the model needs. Every problem is one `InputError` line naming
 * the checkpoint and the fix.
 */
export function readCheckpoint<S>(checkpointDir: string, options: ReadCheckpointOptions = {}): { meta: CheckpointMeta<S>; tensors: Record<string, tf.Tensor> } {
  const jsonFile = path.join(checkpointDir, 'checkpoint.json');
  const binFile = path.join(checkpointDir, 'tensors.bin');
  const fix = `delete ${checkpointDir} to resume from the checkpoint before it, or pass another --checkpoint-dir`;
  const corrupt = (what: string) => new InputError(`checkpoint ${checkpointDir} is corrupt: ${what}; ${fix}`);
  /** Through the one bounded reader (never a directory, device or FIFO; never more than `maxBytes`), errors named for this checkpoint. */
  const read = (file: string, maxBytes: number, limitFor: string): Buffer => {
    try {
      return readInputBytes(file, path.basename(file), 'a file written by `parry train`', maxBytes, {
        directory: () => new InputError(`${path.basename(file)} is a directory`),
        tooLarge: { limitFor, fix: 'the file is not the one checkpoint.json describes' },
      });
    } catch (e) {
      throw e instanceof InputError ? corrupt(e.message) : e;
    }
  };
  let raw: unknown;
  try {
    raw = JSON.parse(decodeUtf8(read(jsonFile, MAX_JSON_BYTES, 'checkpoint metadata'), 'checkpoint.json'));
  } catch (e) {
    if (e instanceof InputError && e.message.startsWith(`checkpoint ${checkpointDir} `)) throw e;
    throw corrupt(`checkpoint.json is unreadable (${(e as Error).message.split('\n')[0]})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw corrupt(`checkpoint.json is not an object`);
  const r = raw as Record<string, unknown>;
  if (r.format !== CHECKPOINT_FORMAT) throw corrupt(`checkpoint.json is not a Parry training checkpoint (format ${JSON.stringify(r.format)})`);
  if (typeof r.version === 'number' && r.version > CHECKPOINT_VERSION) {
    throw new InputError(`checkpoint ${checkpointDir} has version ${r.version}; this Parry reads up to ${CHECKPOINT_VERSION}: upgrade Parry or pass another --checkpoint-dir`);
  }
  const inf = nonFinite(raw, 'checkpoint.json');
  if (inf) throw corrupt(`${inf} is not finite`);
  const parsed = metaSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw corrupt(`checkpoint.json ${fieldOf(issue.path) || 'field'} ${issue.message.replace(/^Invalid input: /, '').split('\n')[0]}`);
  }
  const meta = raw as CheckpointMeta<S>;
  const dirEpoch = EPOCH_DIR.exec(path.basename(checkpointDir)) ?? STEP_DIR.exec(path.basename(checkpointDir));
  if (dirEpoch && Number(dirEpoch[1]) !== meta.epoch) {
    throw corrupt(`checkpoint.json says ${STEP_DIR.test(path.basename(checkpointDir)) ? 'step' : 'epoch'} ${meta.epoch}, its directory is ${path.basename(checkpointDir)}`);
  }
  const names = new Set<string>();
  let offset = 0;
  meta.tensors.forEach((e, i) => {
    const elements = e.shape.reduce((a, b) => a * b, 1);
    if (elements > MAX_ELEMENTS) throw corrupt(`checkpoint.json tensors[${i}] (${e.name}) has more than ${MAX_ELEMENTS} elements`);
    if (names.has(e.name)) throw corrupt(`checkpoint.json names ${e.name} twice`);
    names.add(e.name);
    if (e.bytes !== elements * 4) throw corrupt(`checkpoint.json tensors[${i}] (${e.name}) has ${e.bytes} bytes, its shape [${e.shape}] needs ${elements * 4}`);
    if (e.offset !== offset) throw corrupt(`checkpoint.json tensors[${i}] (${e.name}) starts at byte ${e.offset}, expected ${offset}`);
    offset += e.bytes;
  });
  for (const [name, shape] of Object.entries(options.expected ?? {})) {
    const e = meta.tensors.find((t) => t.name === name);
    if (!e || e.shape.join() !== shape.join()) {
      throw new InputError(
        `checkpoint ${checkpointDir} does not fit this model: ${e ? `${name} has shape [${e.shape}], the model needs [${shape}]` : `it has no ${name}`}; pass the --checkpoint-dir of this model's run, or delete ${checkpointDir}`,
      );
    }
  }
  const st = fs.statSync(binFile, { throwIfNoEntry: false });
  if (st?.isFile() && st.size !== offset) throw corrupt(`tensors.bin has ${st.size} bytes, checkpoint.json describes ${offset}`); // before it is read
  const bin = read(binFile, offset, `the ${offset} bytes checkpoint.json describes`);
  if (bin.length !== offset) throw corrupt(`tensors.bin has ${bin.length} bytes, checkpoint.json describes ${offset}`);
  if (createHash('sha256').update(bin).digest('hex') !== meta.sha256) throw corrupt(`tensors.bin does not match the checksum in checkpoint.json`);
  const values = meta.tensors.map((e) => {
    const copy = new Uint8Array(bin.subarray(e.offset, e.offset + e.bytes)).buffer;
    const v = e.dtype === 'int32' ? new Int32Array(copy) : new Float32Array(copy);
    const bad = e.dtype === 'float32' ? v.findIndex((x) => !Number.isFinite(x)) : -1;
    if (bad >= 0) throw corrupt(`${e.name}[${bad}] is not finite (${v[bad]})`);
    return v;
  });
  const tensors: Record<string, tf.Tensor> = {};
  meta.tensors.forEach((e, i) => (tensors[e.name] = tf.tensor(values[i], e.shape, e.dtype)));
  return { meta, tensors };
}
