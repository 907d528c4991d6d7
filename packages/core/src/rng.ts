import * as prand from 'pure-rand';

/**
 * A seeded random source. Every random choice in Parry goes through one of these so that a run is reproducible
 * from its seed. `fork()` derives an independent stream (e.g. one per restart or per epoch) without consuming the
 * parent's sequence in a data-dependent way; `tfSeed()` gives an integer seed for tfjs random ops.
 */
export interface Rng {
  readonly seed: number;
  /** Uniform float in [0, 1). */
  float(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal sample (Box-Muller). */
  normal(): number;
  /** Integer seed for tfjs random ops (`tf.randomUniform(..., seed)`). */
  tfSeed(): number;
  /** Fisher-Yates shuffle of a copy of `items`. */
  shuffle<T>(items: readonly T[]): T[];
  /** Independent child stream. */
  fork(): Rng;
}

class XoroshiroRng implements Rng {
  private readonly gen: prand.RandomGenerator;
  constructor(readonly seed: number) {
    this.gen = prand.xoroshiro128plus(seed | 0);
  }
  private u32(): number {
    return this.gen.unsafeNext() >>> 0;
  }
  float(): number {
    // 53 random bits -> [0, 1)
    const hi = this.u32() >>> 5;
    const lo = this.u32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`rng.int(n) needs a positive integer, got ${n}`);
    return prand.unsafeUniformIntDistribution(0, n - 1, this.gen);
  }
  normal(): number {
    let u = 0;
    while (u === 0) u = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.float());
  }
  tfSeed(): number {
    return this.u32();
  }
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = out[i];
      out[i] = out[j];
      out[j] = t;
    }
    return out;
  }
  fork(): Rng {
    return new XoroshiroRng(this.u32() | 0);
  }
}

/** A seeded RNG (xoroshiro128+ from `pure-rand`). */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  return new XoroshiroRng(Math.trunc(seed));
}
