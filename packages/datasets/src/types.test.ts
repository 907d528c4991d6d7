import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@parry/core';
import { toTensors, type ImageSplit } from './types.js';

await initBackend({ backend: 'cpu' });


const split: ImageSplit = {
  x: Float32Array.from({ length: 3 * 4 }, (_, i) => i / 12),
  y: Int32Array.from([2, 0, 1]),
  n: 3,
  shape: [2, 2, 1],
};

describe('toTensors', () => {
  it(
    'copies a range into [n,h,w,c] float32 and [n] int32 tensors',
    () => {
      const all = toTensors(split);
      expect(all.x.shape).toEqual([3, 2, 2, 1]);
      expect(all.y.dtype).toBe('int32');
      expect(Array.from(all.y.dataSync())).toEqual([2, 0, 1]);
      const part = toTensors(split, 1, 3);
      expect(part.x.shape).toEqual([2, 2, 2, 1]);
      expect(Array.from(part.x.dataSync())).toEqual(Array.from(split.x.subarray(4, 12)));
      expect(Array.from(part.y.dataSync())).toEqual([0, 1]);
      tf.dispose([all.x, all.y, part.x, part.y]);
    },
  );
  it('rejects a bad range', () => {
    expect(() => toTensors(split, 2, 1)).toThrow(RangeError);
    expect(() => toTensors(split, 0, 4)).toThrow(RangeError);
  });
});
