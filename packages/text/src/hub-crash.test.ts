/**
 * kill -9 during a Hub download (issue 14): a child process downloads a ~20 MB model from a local 127.0.0.1 server
 * through the built package, is killed at random points after some bytes arrived, and is run again. Each rerun must
 * resume with a Range request from the bytes kept, the final file must match its sha256, and the cache must never hold
 * a partial file under the real name nor a temporary file after success; every byte reported as received before the
 * kill must be on disk.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeSafetensors } from './safetensors.js';

const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/index.js');
const ID = 'crash-org/big-bert';
const SIZE = 20 * 1024 * 1024;
const MODEL = Buffer.from(
  serializeSafetensors({ 'bert.embeddings.word_embeddings.weight': { dtype: 'U8', shape: [SIZE], data: Uint8Array.from({ length: SIZE }, (_, i) => (i * 2654435761) >>> 24) } }),
);
const CONFIG = Buffer.from(JSON.stringify({ model_type: 'bert' }));
const SHA = createHash('sha256').update(MODEL).digest('hex');
const CHUNK = 64 * 1024;

let server: http.Server;
let endpoint: string;
let ranges: string[] = [];
let tmp: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-hub-crash-'));
  server = http.createServer((req, res) => {
    const file = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.replace(`/${ID}/resolve/main/`, ''));
    const body = file === 'config.json' ? CONFIG : file === 'model.safetensors' ? MODEL : undefined;
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    if (file === 'model.safetensors') ranges.push(req.headers.range ?? '');
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const headers = { etag: `"${createHash('sha256').update(body).digest('hex')}"`, 'content-length': String(body.length - start) };
    if (m) res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
    else res.writeHead(200, headers);
    // Throttled (about 12 MB/s) so that the kill lands in the middle of the body.
    let pos = start;
    const tick = setInterval(() => {
      if (res.destroyed || pos >= body.length) {
        clearInterval(tick);
        if (!res.destroyed) res.end();
        return;
      }
      res.write(body.subarray(pos, pos + CHUNK));
      pos += CHUNK;
    }, 5);
    res.on('close', () => clearInterval(tick));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Run the download in a child; kill it with SIGKILL once it reported `killAt` bytes of model.safetensors. */
function runChild(cacheDir: string, killAt?: number): Promise<{ code: number | null; signal: string | null; stderr: string; lastReceived: number }> {
  const script = path.join(tmp, 'download.mjs');
  fs.writeFileSync(
    script,
    `import { resolveModelSource } from ${JSON.stringify(pathToFileURL(DIST).href)};
const [endpoint, cacheDir, id] = process.argv.slice(2);
try {
  await resolveModelSource(id, { endpoint, cacheDir, optionalFiles: [], onProgress: (e) => { if (e.file === 'model.safetensors') process.stdout.write('P ' + e.received + '\\n'); } });
  process.stdout.write('DONE\\n');
} catch (e) {
  process.stderr.write(e.message + '\\n');
  process.exitCode = 2;
}
`,
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, endpoint, cacheDir, ID], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let lastReceived = 0;
    let buf = '';
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      buf += s;
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) if (l.startsWith('P ')) lastReceived = Number(l.slice(2));
      if (killAt !== undefined && lastReceived >= killAt) child.kill('SIGKILL');
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stderr, lastReceived });
    });
  });
}

describe('kill -9 during a Hub download', () => {
  it('a download killed with SIGKILL at random points resumes with Range, completes with the right sha256, and leaves nothing torn or stray', async () => {
    expect(fs.existsSync(DIST), `${DIST} is missing: build @parry/text first`).toBe(true);
    const cacheDir = path.join(tmp, 'cache');
    const snap = path.join(cacheDir, 'models--crash-org--big-bert', 'snapshots', 'main');
    const final = path.join(snap, 'model.safetensors');
    const partial = `${final}.incomplete`;
    ranges = [];
    let kept = 0;
    let kills = 0;
    for (let round = 0; round < 4; round++) {
      // A random point after some bytes arrived, past what the previous rounds kept.
      const killAt = kept + Math.floor((MODEL.length - kept) * (0.1 + 0.4 * Math.random()));
      const r = await runChild(cacheDir, killAt);
      if (r.signal !== 'SIGKILL') break; // finished before the kill landed: the checks below still apply
      kills++;
      expect(fs.existsSync(final), `round ${round}: a partial file under the real name`).toBe(false);
      const now = fs.readFileSync(partial);
      expect(now.length, `round ${round}: bytes kept`).toBeGreaterThanOrEqual(kept);
      // Every byte the downloader reported as received was already on disk when it died.
      expect(now.length, `round ${round}: bytes reported before the kill`).toBeGreaterThanOrEqual(r.lastReceived);
      expect(now.length).toBeGreaterThan(0);
      expect(now.equals(MODEL.subarray(0, now.length)), `round ${round}: the partial is a prefix of the file`).toBe(true);
      kept = now.length;
    }
    expect(kills).toBeGreaterThanOrEqual(2);
    const done = await runChild(cacheDir);
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    expect(createHash('sha256').update(fs.readFileSync(final)).digest('hex')).toBe(SHA);
    expect(fs.readdirSync(snap).sort()).toEqual(['config.json', 'model.safetensors']);
    // Every rerun after a kill asked for the rest of the file from the bytes kept.
    expect(ranges[0]).toBe('');
    expect(ranges.length).toBe(kills + 1);
    for (const r of ranges.slice(1)) expect(r).toMatch(/^bytes=[1-9]\d*-$/);
    expect(ranges.at(-1)).toBe(`bytes=${kept}-`);
  }, 120_000);
});
