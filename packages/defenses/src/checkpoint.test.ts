import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import { InputError, UsageError, initBackend } from '@parry/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkCheckpointDir, listCheckpoints, readCheckpoint, writeCheckpoint } from './checkpoint.js';

beforeAll(async () => {
  await initBackend();
});

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'parry-ckpt-'));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A real checkpoint (epoch 1) with two float32 weights and an int32 counter, as a trainer writes it. */
async function written(): Promise<{ dir: string; ckpt: string }> {
  const dir = path.join(tmp(), 'ck');
  const tensors = { 'weights/0': tf.tensor2d([[1, 2, 3], [4, 5, 6]]), 'weights/1': tf.tensor1d([0.5, -0.5]), 'opt/step': tf.tensor1d([7], 'int32') };
  const ckpt = await writeCheckpoint(dir, 1, { configKey: 'k', records: [{ epoch: 1, loss: 0.5 }] }, tensors);
  tf.dispose(Object.values(tensors));
  return { dir, ckpt };
}

const jsonOf = (ckpt: string) => JSON.parse(fs.readFileSync(path.join(ckpt, 'checkpoint.json'), 'utf8'));
const writeJson = (ckpt: string, j: unknown) => fs.writeFileSync(path.join(ckpt, 'checkpoint.json'), typeof j === 'string' ? j : JSON.stringify(j));

/** Reading fails with one InputError line that names the checkpoint and the fix, and no tensor is left behind. */
function refused(ckpt: string, re: RegExp, options?: Parameters<typeof readCheckpoint>[1]): void {
  const before = tf.memory().numTensors;
  let err: unknown;
  try {
    const { tensors } = readCheckpoint(ckpt, options);
    tf.dispose(Object.values(tensors));
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InputError);
  const message = (err as Error).message;
  expect(message).not.toContain('\n');
  expect(message).toContain(ckpt);
  expect(message).toMatch(/--checkpoint-dir/);
  expect(message).toMatch(re);
  expect(tf.memory().numTensors).toBe(before);
}

describe('checkpoint validation (issue 14)', () => {
  it('round-trips what writeCheckpoint wrote (the validator accepts real checkpoints)', async () => {
    const { dir, ckpt } = await written();
    expect(listCheckpoints(dir)).toEqual([{ epoch: 1, path: ckpt }]);
    const before = tf.memory().numTensors;
    const { meta, tensors } = readCheckpoint<{ configKey: string }>(ckpt, { expected: { 'weights/0': [2, 3], 'weights/1': [2] } });
    expect(meta.state.configKey).toBe('k');
    expect(Array.from(await tensors['weights/0'].data())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(await tensors['opt/step'].data())).toEqual([7]);
    tf.dispose(Object.values(tensors));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('--resume --checkpoint-dir <a file> is refused naming the flag', () => {
    const file = path.join(tmp(), 'notes.txt');
    fs.writeFileSync(file, 'keep me');
    expect(() => listCheckpoints(file)).toThrow(UsageError);
    expect(() => listCheckpoints(file)).toThrow(/--checkpoint-dir .*notes\.txt is a file/);
    expect(fs.readFileSync(file, 'utf8')).toBe('keep me');
  });

  it('--checkpoint-dir <a file> without --resume is refused when writing, as a UsageError naming the flag (not EEXIST)', async () => {
    const file = path.join(tmp(), 'notes.txt');
    fs.writeFileSync(file, 'keep me');
    const t = tf.tensor1d([1, 2]);
    await expect(writeCheckpoint(file, 1, {}, { w: t })).rejects.toThrow(UsageError);
    await expect(writeCheckpoint(file, 1, {}, { w: t })).rejects.toThrow(/--checkpoint-dir .*notes\.txt is a file/);
    t.dispose();
    expect(fs.readFileSync(file, 'utf8')).toBe('keep me');
    expect(() => checkCheckpointDir(file)).toThrow(UsageError);
    expect(() => checkCheckpointDir(path.join(path.dirname(file), 'absent'))).not.toThrow();
  });

  it('a checkpoint missing tensors.bin is refused naming it', async () => {
    const { ckpt } = await written();
    fs.rmSync(path.join(ckpt, 'tensors.bin'));
    refused(ckpt, /tensors\.bin not found/);
  });

  it('a checkpoint whose tensors.bin is a device is refused without reading it', async () => {
    const { ckpt } = await written();
    fs.rmSync(path.join(ckpt, 'tensors.bin'));
    fs.symlinkSync('/dev/zero', path.join(ckpt, 'tensors.bin'));
    refused(ckpt, /tensors\.bin is not a regular file/);
  });

  it('a checkpoint.json that is not an object is refused', async () => {
    const { ckpt } = await written();
    for (const v of ['[]', 'null', '42']) {
      writeJson(ckpt, v);
      refused(ckpt, /checkpoint\.json is not an object/);
    }
  });

  it.each([
    ['a size that does not match the shape', (j: any) => (j.tensors[1].bytes = 4), /tensors\[1\]/],
    ['an offset that overlaps the tensor before it', (j: any) => (j.tensors[1].offset = 0), /tensors\[1\]/],
    ['a negative offset', (j: any) => (j.tensors[0].offset = -4), /tensors\[0\]\.offset/],
    ['a huge shape', (j: any) => (j.tensors[0].shape = [2 ** 40, 2 ** 40]), /tensors\[0\]/],
    ['a non-integer shape', (j: any) => (j.tensors[0].shape = [2.5, 3]), /tensors\[0\]\.shape\[0\]/],
    ['an unknown dtype', (j: any) => (j.tensors[0].dtype = 'float64'), /tensors\[0\]\.dtype/],
    ['a duplicated tensor name', (j: any) => (j.tensors[1].name = 'weights/0'), /weights\/0.*twice/],
    ['an epoch that is not its directory', (j: any) => (j.epoch = 5), /epoch 5/],
    ['a non-finite number in its state', (j: any) => (j.state.records[0].loss = '__INF__'), /not finite|state/],
  ])('a forged checkpoint with %s (checksum recomputed) is refused', async (_, forge, re) => {
    const { ckpt } = await written();
    const j = jsonOf(ckpt);
    forge(j);
    writeJson(ckpt, JSON.stringify(j).replace('"__INF__"', '1e999'));
    refused(ckpt, re);
  });

  it('a forged checkpoint whose tensors.bin is longer than its manifest is refused', async () => {
    const { ckpt } = await written();
    const bin = Buffer.concat([fs.readFileSync(path.join(ckpt, 'tensors.bin')), Buffer.alloc(8)]);
    fs.writeFileSync(path.join(ckpt, 'tensors.bin'), bin);
    const j = jsonOf(ckpt);
    j.sha256 = sha(bin);
    writeJson(ckpt, j);
    refused(ckpt, /tensors\.bin has \d+ bytes, checkpoint\.json describes/);
  });

  it('a forged checkpoint whose checksum does not match is refused', async () => {
    const { ckpt } = await written();
    const j = jsonOf(ckpt);
    j.sha256 = '0'.repeat(64);
    writeJson(ckpt, j);
    refused(ckpt, /checksum/);
  });

  it('a forged checkpoint with non-finite weights (checksum recomputed) is refused', async () => {
    const { ckpt } = await written();
    const bin = fs.readFileSync(path.join(ckpt, 'tensors.bin'));
    bin.writeFloatLE(Number.NaN, 8);
    fs.writeFileSync(path.join(ckpt, 'tensors.bin'), bin);
    const j = jsonOf(ckpt);
    j.sha256 = sha(bin);
    writeJson(ckpt, j);
    refused(ckpt, /weights\/0.*not finite/);
  });

  it('a checkpoint with wrong variable names for the model being trained is refused', async () => {
    const { ckpt } = await written();
    refused(ckpt, /does not fit this model.*weights\/2/, { expected: { 'weights/0': [2, 3], 'weights/2': [4] } });
  });

  it('a checkpoint with wrong variable shapes for the model being trained is refused', async () => {
    const { ckpt } = await written();
    refused(ckpt, /does not fit this model.*weights\/0 has shape \[2,3\].*\[3,2\]/, { expected: { 'weights/0': [3, 2] } });
  });
});
