/**
 * Shared helpers of the CLI tests: run the built `parry` (dist/bin.js) synchronously, and write toy review data.
 * Test-only: nothing in the CLI imports it.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI these tests run (build first: `pnpm --filter @parry/cli... build`). */
export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/bin.js');

/** Run `parry <args>` in `cwd`; exit code, stdout and stderr. */
export function parry(args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A seeded integer source (LCG) for the toy data sets. */
export function seeded(seed: number): (k: number) => number {
  let s = seed;
  return (k) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % k;
  };
}

/** Toy reviews as CSV (`review,sentiment`): positive ones contain "great" or "fun", negative ones "awful" or "boring". */
export function toyReviewsCsv(n: number, seed: number): string {
  const filler = ['the', 'movie', 'plot', 'was', 'really', 'quite', 'a', 'story', 'film', 'and', 'cast', 'so'];
  const rand = seeded(seed);
  const lines = Array.from({ length: n }, () => {
    const label = rand(2);
    const words = Array.from({ length: 6 + rand(6) }, () => filler[rand(filler.length)]);
    words.splice(rand(words.length), 0, (label ? ['great', 'fun'] : ['awful', 'boring'])[rand(2)]);
    return `"${words.join(' ')}",${label}`;
  });
  return `review,sentiment\n${lines.join('\n')}\n`;
}
