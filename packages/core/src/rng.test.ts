import { describe, expect, it } from 'vitest';
import { createRng } from './rng.js';

describe('seeded rng', () => {
  it('repeats with a seed and differs across seeds', () => {
    const a = createRng(5);
    const b = createRng(5);
    const c = createRng(6);
    const sa = Array.from({ length: 20 }, () => a.float());
    expect(Array.from({ length: 20 }, () => b.float())).toEqual(sa);
    expect(Array.from({ length: 20 }, () => c.float())).not.toEqual(sa);
  });

  it('draws in range with roughly uniform frequencies', () => {
    const r = createRng(1);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 20000; i++) {
      const f = r.float();
      expect(f).toBeGreaterThanOrEqual(0);
      expect(f).toBeLessThan(1);
      counts[r.int(10)]++;
    }
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200);
  });

  it('shuffles to a permutation and forks independent streams', () => {
    const r = createRng(2);
    const s = r.shuffle([0, 1, 2, 3, 4, 5, 6, 7]);
    expect([...s].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const f1 = createRng(3).fork();
    const f2 = createRng(3).fork();
    expect(f1.float()).toBe(f2.float());
    expect(() => r.int(0)).toThrow(RangeError);
  });
});
