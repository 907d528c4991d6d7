/**
 * The hashes of a results file's `model.sha256` and `dataset.sha256`: what `parry merge` compares to tell that shards
 * evaluated the same weights on the same examples, wherever their folders and files were. Both are SHA-256 in hex,
 * deterministic across processes and machines (little-endian typed-array bytes, as on every platform Node runs on).
 */
import { createHash } from 'node:crypto';
import type { HostTensor } from '@parry/core';
import type { ImageSplit, TextExample } from '@parry/datasets';

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/**
 * A text model's weights as loaded: every tensor of its state dict (Hugging Face names and layouts), sorted by name,
 * each as `name \0 shape \0` then its float32 bytes. The copy `stateDict()` makes is dropped tensor by tensor.
 * (Image models need none: parry.json's `weightsSha256` is already the SHA-256 of weights.bin, checked on load.)
 */
export function textModelSha256(model: { stateDict(): Record<string, HostTensor> }): string {
  const state = model.stateDict();
  const hash = createHash('sha256');
  for (const name of Object.keys(state).sort()) {
    const t = state[name];
    hash.update(`${name}\0${t.shape.join(',')}\0${t.dtype}\0`);
    hash.update(bytes(t.data));
    delete state[name];
  }
  return hash.digest('hex');
}

/** The first `n` examples of an image split: shape, then every pixel as float32, then every label as int32. */
export function imageDataSha256(split: ImageSplit, n: number): string {
  const size = split.shape[0] * split.shape[1] * split.shape[2];
  return createHash('sha256')
    .update(`image ${n} ${split.shape.join('x')}\0`)
    .update(bytes(split.x.subarray(0, n * size)))
    .update(bytes(split.y.subarray(0, n)))
    .digest('hex');
}

/** Text examples in order: each one's text, pair and label(s) as one JSON line (source line numbers left out). */
export function textDataSha256(examples: readonly TextExample[]): string {
  const hash = createHash('sha256');
  for (const x of examples) hash.update(`${JSON.stringify([x.text, x.pair ?? null, x.label ?? null, x.labels ?? null])}\n`);
  return hash.digest('hex');
}
