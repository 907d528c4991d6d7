/**
 * Atomic writes and the crash recovery that goes with them.
 *
 * A file is written to `.parry-tmp-<name>-<pid>-<hex>` next to its target, fsynced, and renamed over the target.
 * A directory is filled as `.parry-tmp-...`, renamed to `.parry-new-...` once complete (that rename is the
 * "complete" mark), then swapped in: the old directory becomes `.parry-old-...`, the new one takes the target's name,
 * and the old one is removed. A `kill -9` at any point leaves one of these states, which the next write of the same
 * target (or `recoverInterrupted`) settles before anything else happens:
 * - a `.parry-tmp-*` of a dead process is incomplete: removed;
 * - a `.parry-new-*` while the target exists: the swap never started, the old target stays: removed;
 * - a `.parry-new-*` while the target is missing: the swap was cut between its two renames: renamed into place;
 * - a `.parry-old-*` while the target exists: the swap finished, only the clean-up was cut: removed;
 * - a `.parry-old-*` while the target is missing and no new copy exists: restored.
 * Entries of a process that is still running are never touched.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const STAGES = ['tmp', 'new', 'old'] as const;
type Stage = (typeof STAGES)[number];

/**
 * Crash injection for the reliability suite: `PARRY_TEST_CRASH_AT=<point>` makes the process SIGKILL itself at that
 * point of an atomic write, the way a power cut or `kill -9` would (`file-written`, `dir-filled`, `dir-old-moved`,
 * `dir-swapped`). Unset in normal use; costs one environment lookup per write.
 */
function crashPoint(point: string): void {
  if (process.env.PARRY_TEST_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}

function stageName(target: string, stage: Stage): string {
  return path.join(path.dirname(target), `.parry-${stage}-${path.basename(target)}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface StageEntry {
  stage: Stage;
  path: string;
  pid: number;
  mtimeMs: number;
}

/** Temporary, new and old copies of `target` left in its folder by processes that are no longer running. */
function staleEntries(target: string): StageEntry[] {
  const dir = path.dirname(target);
  const base = path.basename(target);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const found: StageEntry[] = [];
  for (const name of names) {
    const m = /^\.parry-(tmp|new|old)-(.*)-(\d+)-([0-9a-f]{8})$/.exec(name);
    if (!m || m[2] !== base) continue;
    const pid = Number(m[3]);
    if (alive(pid)) continue;
    const p = path.join(dir, name);
    let mtimeMs = 0;
    try {
      mtimeMs = fs.lstatSync(p).mtimeMs;
    } catch {
      continue;
    }
    found.push({ stage: m[1] as Stage, path: p, pid, mtimeMs });
  }
  return found.sort((a, b) => b.mtimeMs - a.mtimeMs);
}

export interface Recovery {
  /** A complete copy (new, or the old one) that was renamed into place because the target was missing. */
  restored?: string;
  /** Stale temporary copies that were removed. */
  removed: string[];
}

/**
 * Settle what an interrupted atomic write of `target` left behind (see the module comment). Safe to call any time;
 * touches only `.parry-{tmp,new,old}-<name>-<pid>-<hex>` siblings of `target` whose process is gone.
 */
export function recoverInterrupted(target: string): Recovery {
  const abs = path.resolve(target);
  const entries = staleEntries(abs);
  const result: Recovery = { removed: [] };
  if (entries.length === 0) return result;
  if (!fs.existsSync(abs)) {
    const candidate = entries.find((e) => e.stage === 'new') ?? entries.find((e) => e.stage === 'old');
    if (candidate) {
      fs.renameSync(candidate.path, abs);
      result.restored = candidate.path;
    }
  }
  for (const e of entries) {
    if (e.path === result.restored) continue;
    fs.rmSync(e.path, { recursive: true, force: true });
    result.removed.push(e.path);
  }
  return result;
}

/** Write a file so that readers see either the old or the new content, never a half-written one. */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  const abs = path.resolve(target);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  recoverInterrupted(abs);
  const tmp = stageName(abs, 'tmp');
  const fd = fs.openSync(tmp, 'wx');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  crashPoint('file-written');
  fs.renameSync(tmp, abs);
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // not supported everywhere (e.g. some network filesystems); the renames are still atomic
  }
}

export interface WriteDirOptions {
  /** Called with the filled temporary directory right before the swap (e.g. to re-check the target). */
  beforeSwap?: (tmp: string) => void;
}

/**
 * Fill a temporary directory with `fill`, then swap it in for `target` (replacing an existing directory): readers
 * see the old directory or the new one, never a mix, and a `kill -9` at any point is settled by the next write (see
 * the module comment). If `fill` throws, nothing is left behind. Whether `target` may be replaced is the caller's
 * question: see `guardOutput`.
 */
export async function writeDirAtomic(target: string, fill: (dir: string) => Promise<void> | void, options: WriteDirOptions = {}): Promise<void> {
  const abs = path.resolve(target);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  recoverInterrupted(abs);
  const tmp = stageName(abs, 'tmp');
  fs.mkdirSync(tmp);
  let ready: string;
  try {
    await fill(tmp);
    options.beforeSwap?.(tmp);
    ready = stageName(abs, 'new');
    fsyncDir(tmp);
    fs.renameSync(tmp, ready);
    crashPoint('dir-filled');
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  let old: string | undefined;
  if (fs.existsSync(abs)) {
    old = stageName(abs, 'old');
    fs.renameSync(abs, old);
    crashPoint('dir-old-moved');
  }
  fs.renameSync(ready, abs);
  fsyncDir(path.dirname(abs));
  crashPoint('dir-swapped');
  if (old) fs.rmSync(old, { recursive: true, force: true });
}
