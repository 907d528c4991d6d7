/**
 * The reliability suite's harness: run the built `parry` binary as a child process against hostile inputs and check
 * what a user would see — the exit code, exactly one stderr line without a stack, no file changed outside the declared
 * outputs, no partial output, bounded peak memory (the child's max RSS) and bounded time.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
/**
 * The built CLI (the suite runs after `pnpm build`, as every CLI test does). `PARRY_BIN` points the suite at another
 * build, e.g. an older release, to show which cases it fails (docs/reliability.md).
 */
export const BIN = process.env.PARRY_BIN ? path.resolve(process.env.PARRY_BIN) : path.resolve(here, '../../dist/bin.js');
const PROBE = path.resolve(here, 'rss-probe.cjs');

export interface RunResult {
  /** Exit code, null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Non-empty stderr lines. */
  lines: string[];
  /** Peak resident set size of the child in MiB (getrusage at exit; /proc samples when it had to be killed). */
  peakRssMb: number;
  ms: number;
  timedOut: boolean;
}

export interface RunOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  /** Kill the child (SIGKILL) after this long; the result says `timedOut`. Default 120 s. */
  timeoutMs?: number;
  /** Called with the child's pid once it runs (crash tests kill it from here). */
  onSpawn?: (pid: number) => void;
  /** Kill the child with SIGKILL as soon as this returns true for the output so far (crash tests). */
  killWhen?: (out: { stdout: string; stderr: string; ms: number }) => boolean;
}

function vmHwmMb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Run `node dist/bin.js ...args` in `cwd`; never throws for a failing child. */
export function runParry(args: string[], o: RunOptions): Promise<RunResult> {
  return runNode([BIN, ...args], o);
}

/** Run a node script (the first element of `argv`) with the RSS probe preloaded. */
export function runNode(argv: string[], o: RunOptions): Promise<RunResult> {
  const rssFile = path.join(os.tmpdir(), `parry-rss-${process.pid}-${Math.random().toString(16).slice(2)}`);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, NO_COLOR: '1', CI: 'true', ...o.env, PARRY_RSS_FILE: rssFile })) if (v !== undefined) env[k] = v;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', PROBE, ...argv], { cwd: o.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sampled = 0;
    let timedOut = false;
    let killed = false;
    const kill = () => {
      if (killed) return;
      killed = true;
      sampled = Math.max(sampled, vmHwmMb(child.pid!));
      child.kill('SIGKILL');
    };
    const check = () => {
      if (o.killWhen && !killed && o.killWhen({ stdout, stderr, ms: Date.now() - started })) kill();
    };
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      check();
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      check();
    });
    const poll = setInterval(() => {
      sampled = Math.max(sampled, vmHwmMb(child.pid!));
      check();
    }, 50);
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, o.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('spawn', () => o.onSpawn?.(child.pid!));
    child.on('close', (code, signal) => {
      clearInterval(poll);
      clearTimeout(timer);
      let peak = sampled;
      try {
        peak = Math.max(peak, Number(fs.readFileSync(rssFile, 'utf8')) / 1024);
        fs.rmSync(rssFile, { force: true });
      } catch {
        // killed: only the samples
      }
      const lines = stderr.split('\n').filter((l) => l.trim() !== '');
      resolve({ code, signal, stdout, stderr, lines, peakRssMb: peak, ms: Date.now() - started, timedOut });
    });
  });
}

/** A fresh, empty temporary directory for one case. */
export function sandbox(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `parry-rel-${name.replace(/[^\w-]+/g, '-').slice(0, 40)}-`));
}

/** Every entry under `dir` (relative path -> 'dir' | 'link:<target>' | sha256 of the content). Links are not followed. */
export function snapshot(dir: string): Map<string, string> {
  const result = new Map<string, string>();
  const walk = (rel: string) => {
    const abs = path.join(dir, rel);
    for (const name of fs.readdirSync(abs)) {
      const r = rel ? path.join(rel, name) : name;
      const st = fs.lstatSync(path.join(dir, r));
      if (st.isSymbolicLink()) result.set(r, `link:${fs.readlinkSync(path.join(dir, r))}`);
      else if (st.isDirectory()) {
        result.set(r, 'dir');
        walk(r);
      } else if (st.isFile()) result.set(r, createHash('sha256').update(fs.readFileSync(path.join(dir, r))).digest('hex'));
      else result.set(r, 'special');
    }
  };
  walk('');
  return result;
}

export interface SnapshotDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

export function diff(before: Map<string, string>, after: Map<string, string>): SnapshotDiff {
  const added = [...after.keys()].filter((k) => !before.has(k)).sort();
  const removed = [...before.keys()].filter((k) => !after.has(k)).sort();
  const changed = [...after.keys()].filter((k) => before.has(k) && before.get(k) !== after.get(k)).sort();
  return { added, removed, changed };
}

/** Nothing under the snapshot's directory changed, except paths under the `allowed` prefixes (declared outputs). */
export function expectUnchanged(d: SnapshotDiff, allowed: string[] = []): void {
  const ok = (p: string) => allowed.some((a) => p === a || p.startsWith(`${a}${path.sep}`));
  expect({ added: d.added.filter((p) => !ok(p)), removed: d.removed.filter((p) => !ok(p)), changed: d.changed.filter((p) => !ok(p)) }).toEqual({ added: [], removed: [], changed: [] });
}

const STACK_FRAME = /^\s+at\s|node:internal|\.(?:ts|js|mjs|cjs):\d+:\d+/;

/** A refusal as a user should see it: the exit code, one stderr line `parry: ...` matching `match`, no stack. */
export function expectOneLine(r: RunResult, code: number, match?: RegExp): void {
  const summary = { code: r.code, timedOut: r.timedOut, stderr: r.stderr.slice(0, 2000) };
  expect(summary.timedOut, `timed out; stderr: ${summary.stderr}`).toBe(false);
  expect(r.code, `exit code; stderr: ${summary.stderr}`).toBe(code);
  expect(r.lines, `exactly one stderr line; stderr: ${summary.stderr}`).toHaveLength(1);
  expect(r.lines[0]).toMatch(/^parry: /);
  expect(r.lines[0]).not.toMatch(STACK_FRAME);
  if (match) expect(r.lines[0]).toMatch(match);
}

/** Peak RSS and wall time stayed within bounds (generous: they prove "no blow-up, no hang", not speed). */
export function expectBounded(r: RunResult, { maxRssMb = 1024, maxMs = 60_000 }: { maxRssMb?: number; maxMs?: number } = {}): void {
  expect(r.timedOut, 'timed out').toBe(false);
  expect(r.peakRssMb, 'peak RSS (MiB)').toBeLessThan(maxRssMb);
  expect(r.ms, 'wall time (ms)').toBeLessThan(maxMs);
}

/** Entries Parry may leave behind only while it runs: temporary and old copies of atomic writes. */
export function leftovers(dir: string): string[] {
  return [...snapshot(dir).keys()].filter((p) => /(^|\/)\.parry-(tmp|old)-/.test(p));
}
