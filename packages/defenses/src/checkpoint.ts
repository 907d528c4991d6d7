import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { InputError, writeDirAtomic } from '@parry/core';

export const CHECKPOINT_FORMAT = 'parry-train-checkpoint';
export const CHECKPOINT_VERSION = 1;

interface TensorEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  offset: number;
  bytes: number;
}

/** `checkpoint.json` next to `tensors.bin` in `<dir>/epoch-NNNN/`. */
export interface CheckpointMeta<S = unknown> {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  /** Completed epochs. */
  epoch: number;
  /** sha256 of `tensors.bin`. */
  sha256: string;
  tensors: TensorEntry[];
  /** Trainer state (records, optimizer step, plugin JSON state, config key ...). */
  state: S;
}

const EPOCH_DIR = /^epoch-(\d+)$/;

export function checkpointPath(dir: string, epoch: number): string {
  return path.join(dir, `epoch-${String(epoch).padStart(4, '0')}`);
}

/**
 * Write one checkpoint directory atomically (`writeDirAtomic`: a kill leaves the previous checkpoints intact and no
 * half-written one), then prune all but the newest `keep` (0 = keep all).
 */
export async function writeCheckpoint<S>(dir: string, epoch: number, state: S, tensors: Record<string, tf.Tensor>, keep = 0): Promise<string> {
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
  const target = checkpointPath(dir, epoch);
  await writeDirAtomic(target, (tmp) => {
    fs.writeFileSync(path.join(tmp, 'tensors.bin'), bin);
    fs.writeFileSync(path.join(tmp, 'checkpoint.json'), JSON.stringify(meta));
  });
  if (keep > 0) {
    const all = listCheckpoints(dir);
    for (const old of all.slice(0, Math.max(all.length - keep, 0))) fs.rmSync(old.path, { recursive: true, force: true });
  }
  return target;
}

/** Complete checkpoint directories under `dir`, oldest first. */
export function listCheckpoints(dir: string): Array<{ epoch: number; path: string }> {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((name) => ({ m: EPOCH_DIR.exec(name), name }))
    .filter((e) => e.m && fs.existsSync(path.join(dir, e.name, 'checkpoint.json')))
    .map((e) => ({ epoch: Number(e.m![1]), path: path.join(dir, e.name) }))
    .sort((a, b) => a.epoch - b.epoch);
}

/** Read a checkpoint; the caller owns (and disposes) the returned tensors. Corruption is an `InputError` naming the file. */
export function readCheckpoint<S>(checkpointDir: string): { meta: CheckpointMeta<S>; tensors: Record<string, tf.Tensor> } {
  const jsonFile = path.join(checkpointDir, 'checkpoint.json');
  const binFile = path.join(checkpointDir, 'tensors.bin');
  let meta: CheckpointMeta<S>;
  try {
    meta = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
  } catch (e) {
    throw new InputError(`checkpoint ${jsonFile} is unreadable (${(e as Error).message}); delete that epoch directory to resume from the one before`);
  }
  if (meta.format !== CHECKPOINT_FORMAT) throw new InputError(`${jsonFile} is not a Parry training checkpoint`);
  if (meta.version > CHECKPOINT_VERSION) throw new InputError(`checkpoint ${jsonFile} has version ${meta.version}; this Parry reads up to ${CHECKPOINT_VERSION}`);
  const bin = fs.readFileSync(binFile);
  if (createHash('sha256').update(bin).digest('hex') !== meta.sha256) {
    throw new InputError(`checkpoint ${binFile} is corrupt (checksum mismatch); delete that epoch directory to resume from the one before`);
  }
  const tensors: Record<string, tf.Tensor> = {};
  for (const e of meta.tensors) {
    const slice = bin.subarray(e.offset, e.offset + e.bytes);
    const copy = new Uint8Array(slice).buffer;
    const values = e.dtype === 'int32' ? new Int32Array(copy) : new Float32Array(copy);
    tensors[e.name] = tf.tensor(values, e.shape, e.dtype);
  }
  return { meta, tensors };
}
