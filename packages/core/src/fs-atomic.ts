import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

function tmpName(target: string): string {
  return path.join(path.dirname(target), `.parry-tmp-${path.basename(target)}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Write a file so that readers see either the old or the new content, never a half-written one. */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(path.resolve(target)), { recursive: true });
  const tmp = tmpName(path.resolve(target));
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, target);
}

/**
 * Fill a temporary directory with `fill`, then move it to `target` in one rename (replacing an existing directory).
 * If `fill` throws, nothing is left behind.
 */
export async function writeDirAtomic(target: string, fill: (dir: string) => Promise<void> | void): Promise<void> {
  const abs = path.resolve(target);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  const tmp = tmpName(abs);
  fs.mkdirSync(tmp);
  try {
    await fill(tmp);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  let old: string | undefined;
  if (fs.existsSync(abs)) {
    old = tmpName(abs);
    fs.renameSync(abs, old);
  }
  fs.renameSync(tmp, abs);
  if (old) fs.rmSync(old, { recursive: true, force: true });
}
