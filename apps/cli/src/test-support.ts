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

/**
 * `parry <args>` in this process (no spawn), through `createProgram` with main()'s exit-code mapping: CommanderError
 * -> 2, a Parry error -> its own code with one `parry: ` line on stderr. `env` is set for the call and restored.
 */
export async function parryInProcess(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const [{ createProgram }, { isParryError }, { CommanderError }, { vi }] = await Promise.all([import('./index.js'), import('@parry/core'), import('commander'), import('vitest')]);
  const argv = ['node', 'parry', ...args];
  const program = createProgram(argv);
  let stdout = '';
  let stderr = '';
  const so = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  const se = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    await program.parseAsync(argv);
    return { code: 0, stdout, stderr };
  } catch (e) {
    if (e instanceof CommanderError) return { code: e.exitCode === 0 ? 0 : 2, stdout, stderr };
    if (!isParryError(e)) throw e;
    stderr += `parry: ${e.message}\n`;
    return { code: e.exitCode, stdout, stderr };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    so.mockRestore();
    se.mockRestore();
  }
}
