/**
 * Toy text data for the trainer tests: sentences of 3-10 random filler ids 20..49 between [CLS] = 2 and [SEP] = 3,
 * half of them with id 10 at a random place; label 1 when id 10 occurs. Deterministic per seed.
 */
import { createRng, type Encoding } from '@parry/core';
import type { EncodedTextSet } from '../text/trainer.js';

export function toyTextSet(n: number, seed: number): EncodedTextSet {
  const rng = createRng(seed);
  const encodings: Encoding[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const len = 3 + rng.int(8);
    const ids = Array.from({ length: len }, () => 20 + rng.int(30));
    if (rng.float() < 0.5) ids[rng.int(len)] = 10;
    encodings.push({ ids: [2, ...ids, 3], typeIds: new Array(len + 2).fill(0) });
    labels.push(ids.includes(10) ? 1 : 0);
  }
  return { encodings, labels: Int32Array.from(labels) };
}
