/**
 * Deterministic shards of an evaluation (`parry eval --shard i/N`): shard i of N attacks a fixed contiguous block of
 * the run's examples, whatever the seed. Blocks are whole units — image models: the attack batch (`--batch-size`), text
 * models: one example — so every image batch of a shard is exactly a batch of the unsharded run and draws that batch's
 * random stream (`runAttack({ firstBatch })`), and every text example draws its own (`runTextAttack({ offset })`).
 * The union of the N shards is then the unsharded run, bit for bit, for every attack (see docs/scaling.md).
 */
import { UsageError } from '@parry/core';

/** Shard `index` (0-based) of `count`. */
export interface ShardSpec {
  index: number;
  count: number;
}

/** The environment variables `--shard auto/N` reads the index from, first set wins. */
export const SHARD_INDEX_VARIABLES = ['PARRY_SHARD_INDEX', 'JOB_COMPLETION_INDEX', 'SLURM_ARRAY_TASK_ID'] as const;

const FIX = 'pass --shard i/N with 0 <= i < N, e.g. --shard 0/4 (or --shard auto/N)';

/**
 * Parse `i/N` (0-based: shards 0/N to N-1/N) or `auto/N`, which takes i from `PARRY_SHARD_INDEX` (CI matrices),
 * `JOB_COMPLETION_INDEX` (Kubernetes Indexed Jobs) or `SLURM_ARRAY_TASK_ID` (Slurm arrays, `--array=0-<N-1>`).
 * Throws one line naming the flag (or variable) and the fix.
 */
export function parseShard(spec: string, env: Record<string, string | undefined> = process.env, flag = '--shard'): ShardSpec {
  const m = /^\s*(auto|\d+)\s*\/\s*(\d+)\s*$/.exec(spec);
  if (!m) throw new UsageError(`${flag} ${JSON.stringify(spec)} is not i/N; ${FIX}`);
  const count = Number(m[2]);
  if (!(Number.isSafeInteger(count) && count >= 1)) throw new UsageError(`${flag} ${spec}: N must be a positive integer; ${FIX}`);
  let index: number;
  let source = flag;
  if (m[1] === 'auto') {
    const name = SHARD_INDEX_VARIABLES.find((v) => env[v] !== undefined && env[v] !== '');
    if (!name) throw new UsageError(`${flag} auto/${count}: none of ${SHARD_INDEX_VARIABLES.join(', ')} is set; set one to the 0-based shard index or pass --shard i/${count}`);
    const value = env[name]!;
    if (!/^\s*\d+\s*$/.test(value)) throw new UsageError(`${name}=${JSON.stringify(value)} (read by ${flag} auto/${count}) is not a non-negative integer; set it to the 0-based shard index`);
    index = Number(value);
    source = `${name}=${value.trim()} (read by ${flag} auto/${count})`;
  } else index = Number(m[1]);
  if (!(Number.isSafeInteger(index) && index < count)) {
    throw new UsageError(`${source === flag ? `${flag} ${spec}` : source}: shard index ${index} is not below the shard count ${count}; shards are 0-based (0 to ${count - 1})`);
  }
  return { index, count };
}

/** Check a library caller's shard: integers with 0 <= index < count. */
export function checkShard(shard: ShardSpec, what = 'shard'): ShardSpec {
  const { index, count } = shard;
  if (!(Number.isSafeInteger(count) && count >= 1 && Number.isSafeInteger(index) && index >= 0 && index < count)) {
    throw new UsageError(`${what} ${index}/${count} is not a shard; pass { index, count } with integers 0 <= index < count`);
  }
  return shard;
}

/**
 * The examples `[start, end)` of shard `index` of `count` over `total` examples in whole units of `unit`: units
 * `floor(index * U / count)` to `floor((index + 1) * U / count)` of the `U = ceil(total / unit)` units. Contiguous
 * blocks (not every N-th example) keep each shard's batches the unsharded run's batches. More shards than units leaves
 * some shards empty (they still merge).
 */
export function shardBlock(shard: ShardSpec, total: number, unit: number): { start: number; end: number } {
  checkShard(shard);
  const units = Math.ceil(total / unit);
  const from = Math.floor((shard.index * units) / shard.count);
  const to = Math.floor(((shard.index + 1) * units) / shard.count);
  return { start: Math.min(total, from * unit), end: Math.min(total, to * unit) };
}
