/**
 * Reliability suite, Hub downloads (issue 14): `parry eval --model org/name` against a hostile local 127.0.0.1 Hub
 * (HF_ENDPOINT), with the cache in the case's sandbox (PARRY_CACHE_DIR). Each case asserts the exit code, one stderr
 * line, nothing invalid left in the cache, no file outside the cache changed, and bounded memory and time.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diff, expectBounded, expectOneLine, expectUnchanged, runParry, sandbox, snapshot } from './harness.js';

const ID = 'tiny-org/tiny-bert';
const SNAP = path.join('cache', 'models--tiny-org--tiny-bert', 'snapshots', 'main');
const TEXT = ['--model', 'bert', '--hidden', '16', '--layers', '1', '--heads', '2', '--intermediate', '32', '--max-length', '16', '--vocab-size', '100', '--epochs', '1', '--text-column', 'text', '--label-column', 'label', '--quiet'];
const PORTAL = Buffer.from('<!DOCTYPE html><html><body>Sign in to the hotel WiFi</body></html>');

type Hook = (req: http.IncomingMessage, res: http.ServerResponse, file: string) => boolean;

let work: string;
let repo: Record<string, Buffer> = {};
let hook: Hook | undefined;
let server: http.Server;
let endpoint: string;
const open = new Set<http.ServerResponse>();
/** 64 MiB of zeros in about 64 kB, compressed once (compressing inside the handler would trip the connect timeout). */
let bomb: Buffer;

/** A toy text data set (a keyword decides the label) in `dir`/train.csv and dev.csv. */
function writeText(dir: string): void {
  const rows = (n: number, off: number) =>
    Array.from({ length: n }, (_, i) => `"the ${['film', 'plot', 'cast'][(i + off) % 3]} was ${(i + off) % 2 ? 'great' : 'awful'} really",${(i + off) % 2}`).join('\n');
  fs.writeFileSync(path.join(dir, 'train.csv'), `text,label\n${rows(40, 0)}\n`);
  fs.writeFileSync(path.join(dir, 'dev.csv'), `text,label\n${rows(12, 1)}\n`);
}

/** A sandbox holding dev.csv, and the eval command on the Hub id with the cache inside it. */
function evalCase(name: string): { cwd: string; args: string[]; env: Record<string, string> } {
  const cwd = sandbox(`hub-${name}`);
  fs.copyFileSync(path.join(work, 'dev.csv'), path.join(cwd, 'dev.csv'));
  return {
    cwd,
    args: ['eval', '--model', ID, '--data', 'dev.csv', '--dev', 'dev.csv', '--text-column', 'text', '--label-column', 'label', '--out', 'results.json', '--quiet'],
    env: { HF_ENDPOINT: endpoint, PARRY_CACHE_DIR: path.join(cwd, 'cache'), PARRY_HUB_CONNECT_TIMEOUT_S: '20', PARRY_HUB_IDLE_TIMEOUT_S: '20' },
  };
}

/** Files (not directories) under `dir`, relative to it. */
function files(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => !fs.lstatSync(path.join(dir, f)).isDirectory()).sort();
}

beforeAll(async () => {
  work = sandbox('hub');
  bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 1 });
  writeText(work);
  const r = await runParry(['train', ...TEXT, '--data', 'train.csv', '--dev', 'dev.csv', '--out', 'm'], { cwd: work });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  for (const f of fs.readdirSync(path.join(work, 'm'))) repo[f] = fs.readFileSync(path.join(work, 'm', f));
  expect(Object.keys(repo)).toEqual(expect.arrayContaining(['config.json', 'model.safetensors']));

  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const prefix = `/${ID}/resolve/main/`;
    const file = url.pathname.startsWith(prefix) ? decodeURIComponent(url.pathname.slice(prefix.length)) : '';
    open.add(res);
    res.on('close', () => open.delete(res));
    if (hook?.(req, res, file)) return;
    const body = repo[file];
    if (!body) {
      res.writeHead(404).end('Entry not found');
      return;
    }
    res.writeHead(200, { 'content-length': String(body.length) }).end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of open) res.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  fs.rmSync(work, { recursive: true, force: true });
});

describe('reliability: Hub downloads through parry eval --model org/name', () => {
  it('the local Hub serves a model that parry eval downloads and evaluates (the baseline the hostile cases differ from)', async () => {
    hook = undefined;
    const c = evalCase('ok');
    const r = await runParry(c.args, { cwd: c.cwd, env: c.env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(files(path.join(c.cwd, SNAP))).toContain('model.safetensors');
    expect(files(path.join(c.cwd, SNAP)).filter((f) => f.endsWith('.incomplete'))).toEqual([]);
    fs.rmSync(c.cwd, { recursive: true, force: true });
  });

  const cases: Array<{ name: string; hook: Hook; line: RegExp; env?: Record<string, string>; maxMs?: number; setup?: (cwd: string) => void }> = [
    {
      name: 'a gzip bomb the client did not ask for (Content-Encoding gzip on model.safetensors)',
      hook: (_req, res, file) => {
        if (file !== 'model.safetensors') return false;
        res.writeHead(200, { 'content-encoding': 'gzip' }).end(bomb);
        return true;
      },
      line: /model\.safetensors answered with Content-Encoding gzip although the request asked for identity/,
    },
    {
      name: 'a 300 MB config.json (Content-Length)',
      hook: (_req, res, file) => {
        if (file !== 'config.json') return false;
        res.writeHead(200, { 'content-length': String(300 * 1024 * 1024) }).write('{"a": "');
        return true;
      },
      line: /config\.json is 314572800 bytes, over the 52428800-byte limit for metadata files/,
    },
    {
      name: 'a server that trickles a byte every 5 s (scaled: 0.5 s idle timeout)',
      hook: (_req, res, file) => {
        if (file !== 'model.safetensors') return false;
        res.writeHead(200, { 'content-length': '100000' });
        const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write('x')), 50);
        return true;
      },
      line: /model\.safetensors stalled: less than 1024 bytes in 0\.5 s.*PARRY_HUB_IDLE_TIMEOUT_S/,
      env: { PARRY_HUB_IDLE_TIMEOUT_S: '0.5' },
      maxMs: 30_000,
    },
    {
      name: 'a server that stops answering (scaled: 0.5 s connect timeout)',
      hook: (_req, _res, file) => file === 'config.json',
      line: /config\.json did not answer within 0\.5 s.*PARRY_HUB_CONNECT_TIMEOUT_S/,
      env: { PARRY_HUB_CONNECT_TIMEOUT_S: '0.5' },
      maxMs: 30_000,
    },
    {
      name: 'a captive-portal HTML page served for every file',
      hook: (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html', 'content-length': String(PORTAL.length) }).end(PORTAL);
        return true;
      },
      line: /config\.json answered with an HTML page .*captive portal/,
    },
    {
      name: 'a captive-portal page sent as application/octet-stream for model.safetensors',
      hook: (_req, res, file) => {
        if (file !== 'model.safetensors') return false;
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(PORTAL.length) }).end(PORTAL);
        return true;
      },
      line: /model\.safetensors is not a valid safetensors file: it is an HTML page; nothing was cached/,
    },
    {
      name: 'a symlink planted in the Hub cache at model.safetensors.incomplete',
      hook: () => false,
      setup: (cwd) => {
        fs.mkdirSync(path.join(cwd, SNAP), { recursive: true });
        fs.writeFileSync(path.join(cwd, 'victim.txt'), 'precious');
        fs.symlinkSync(path.join(cwd, 'victim.txt'), path.join(cwd, SNAP, 'model.safetensors.incomplete'));
      },
      line: /model\.safetensors\.incomplete is a symbolic link; Parry never writes through links in its Hub cache/,
    },
    {
      name: 'a corrupt config.json already in the cache (a captive portal cached by an older version)',
      hook: () => false,
      setup: (cwd) => {
        fs.mkdirSync(path.join(cwd, SNAP), { recursive: true });
        fs.writeFileSync(path.join(cwd, SNAP, 'config.json'), PORTAL);
        fs.writeFileSync(path.join(cwd, SNAP, 'model.safetensors'), PORTAL);
      },
      line: /the cached .*config\.json is not a valid JSON object.*run again with --force-download/,
    },
  ];

  for (const k of cases) {
    it(`${k.name}: exit 2, one line, nothing invalid cached, nothing else changed`, async () => {
      const c = evalCase(k.name);
      k.setup?.(c.cwd);
      const before = snapshot(c.cwd);
      const cachedBefore = files(path.join(c.cwd, SNAP));
      hook = k.hook;
      const r = await runParry(c.args, { cwd: c.cwd, env: { ...c.env, ...k.env }, timeoutMs: 60_000 });
      hook = undefined;
      expectOneLine(r, 2, k.line);
      expectBounded(r, { maxRssMb: 700, maxMs: k.maxMs ?? 30_000 });
      // Only the cache may change, and it gains nothing under a real name but valid files the server sent intact
      // (a partial kept for resume is fine).
      expectUnchanged(diff(before, snapshot(c.cwd)), ['cache']);
      const gained = files(path.join(c.cwd, SNAP)).filter((f) => !cachedBefore.includes(f) && !f.endsWith('.incomplete'));
      for (const f of gained) {
        expect(repo[f] !== undefined && fs.readFileSync(path.join(c.cwd, SNAP, f)).equals(repo[f]), `${f} was cached`).toBe(true);
      }
      if (k.setup) expect(fs.existsSync(path.join(c.cwd, 'victim.txt')) ? fs.readFileSync(path.join(c.cwd, 'victim.txt'), 'utf8') : 'precious').toBe('precious');
      fs.rmSync(c.cwd, { recursive: true, force: true });
    });
  }

  it('after a captive portal, the next run with the real Hub downloads and evaluates (no poisoned cache)', async () => {
    const c = evalCase('portal-then-ok');
    hook = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(PORTAL.length) }).end(PORTAL);
      return true;
    };
    const bad = await runParry(c.args, { cwd: c.cwd, env: c.env });
    expectOneLine(bad, 2, /config\.json is not a valid JSON object/);
    hook = undefined;
    const good = await runParry(c.args, { cwd: c.cwd, env: c.env });
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);
    fs.rmSync(c.cwd, { recursive: true, force: true });
  });
});
