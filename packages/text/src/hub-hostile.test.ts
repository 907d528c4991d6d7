/**
 * Hostile Hub servers (issue 14): unexpected compression, oversized metadata, trickling and silent servers, bodies cut
 * mid-way, links planted in the cache, captive portals. Every case runs against a local 127.0.0.1 server; fetch is
 * never mocked.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { type FakeHub, serveLfs, sha256, startFakeHub } from './test-utils/fake-hub.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InputError, UsageError } from '@parry/core';
import { MAX_METADATA_BYTES, resolveModelSource, type HubOptions } from './hub.js';
import { serializeSafetensors } from './safetensors.js';

const ID = 'tiny-org/tiny-bert';
const ENV_KEYS = [
  'PARRY_OFFLINE',
  'HF_HUB_OFFLINE',
  'HF_TOKEN',
  'HF_ENDPOINT',
  'PARRY_CACHE_DIR',
  'XDG_CACHE_HOME',
  'PARRY_HUB_CONNECT_TIMEOUT_S',
  'PARRY_HUB_IDLE_TIMEOUT_S',
] as const;

const MODEL = Buffer.from(
  serializeSafetensors(
    {
      'classifier.bias': { dtype: 'F32', shape: [2], data: new Float32Array([0.5, -0.5]) },
      'classifier.weight': { dtype: 'F32', shape: [2, 512], data: Float32Array.from({ length: 1024 }, (_, i) => Math.cos(i)) },
    },
    { format: 'pt' },
  ),
);
const CONFIG = Buffer.from(JSON.stringify({ model_type: 'bert', hidden_size: 128, num_labels: 2 }));
const REPO: Record<string, Buffer> = { 'config.json': CONFIG, 'model.safetensors': MODEL };
const PORTAL = Buffer.from('<!DOCTYPE html><html><head><title>Sign in to Hotel WiFi</title></head><body>Accept the terms</body></html>');

type Hook = (req: http.IncomingMessage, res: http.ServerResponse, file: string) => boolean;


let hub: FakeHub;
let endpoint: string;
let seen: Array<{ method: string; file: string; range?: string; acceptEncoding?: string }> = [];
let hook: Hook | undefined;
let repo: Record<string, Buffer> = { ...REPO };
let tmp: string;
const timers = new Set<NodeJS.Timeout>();
const savedEnv: Partial<Record<(typeof ENV_KEYS)[number], string>> = {};

beforeAll(async () => {
  hub = await startFakeHub(ID, () => repo, (req, res, file) => {
    seen.push({ method: req.method ?? '', file, range: req.headers.range, acceptEncoding: req.headers['accept-encoding'] });
    return hook?.(req, res, file) ?? false;
  });
  endpoint = hub.endpoint;
});

afterAll(async () => {
  await hub.close();
});

beforeEach(() => {
  for (const k of ENV_KEYS) {
    savedEnv[k] = process.env[k];
    delete process.env[k];
  }
  seen = [];
  hook = undefined;
  repo = { ...REPO };
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-hub-hostile-'));
});

afterEach(() => {
  for (const t of timers) clearInterval(t);
  timers.clear();
  for (const res of hub.open) res.destroy(); // hooks that never end
  hub.open.clear();
  for (const k of ENV_KEYS) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

const cacheDir = (): string => path.join(tmp, 'cache');
const opts = (extra: HubOptions = {}): HubOptions => ({ cacheDir: cacheDir(), endpoint, optionalFiles: [], ...extra });
const snapshot = (): string => path.join(cacheDir(), 'models--tiny-org--tiny-bert', 'snapshots', 'main');

/** Every file under a directory (links listed, not followed) with its size. */
function listFiles(dir: string): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  if (!fs.existsSync(dir)) return out;
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const st = fs.lstatSync(path.join(dir, f));
    if (st.isSymbolicLink()) out[f] = `link:${fs.readlinkSync(path.join(dir, f))}`;
    else if (st.isFile()) out[f] = st.size;
  }
  return out;
}

/** The rejection of `p`: an InputError/UsageError of one line, within `ms` (a hang fails the test instead of the suite). */
async function rejection(p: Promise<unknown>, ms = 10_000, type: typeof InputError | typeof UsageError = InputError): Promise<Error> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), ms);
  });
  const e = await Promise.race([
    p.then(
      () => 'resolved' as const,
      (err: unknown) => err,
    ),
    hang,
  ]);
  clearTimeout(timer);
  expect(e, 'did not fail within the bound').not.toBe('hung');
  expect(e).toBeInstanceOf(type);
  expect((e as Error).message).not.toContain('\n');
  return e as Error;
}

describe('a compression the client did not ask for', () => {
  for (const [encoding, compress] of [
    ['gzip', (b: Buffer) => zlib.gzipSync(b, { level: 1 })],
    ['br', (b: Buffer) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } })],
    ['deflate', (b: Buffer) => zlib.deflateSync(b, { level: 1 })],
  ] as const) {
    it(`Content-Encoding ${encoding} on an identity request is refused without decompressing or caching anything`, async () => {
      const bomb = compress(Buffer.alloc(32 * 1024 * 1024)); // 32 MiB of zeros in a few kB
      hook = (_req, res, file) => {
        if (file !== 'model.safetensors') return false;
        res.writeHead(200, { 'content-encoding': encoding, 'content-type': 'application/octet-stream' }); // chunked, no length
        res.end(bomb);
        return true;
      };
      const e = await rejection(resolveModelSource(ID, opts()));
      expect(e.message).toContain(`${endpoint}/${ID}/resolve/main/model.safetensors`);
      expect(e.message).toMatch(new RegExp(`Content-Encoding ${encoding}`));
      expect(seen.find((s) => s.file === 'model.safetensors')?.acceptEncoding).toBe('identity');
      expect(listFiles(cacheDir())).toEqual({ 'models--tiny-org--tiny-bert/snapshots/main/config.json': CONFIG.length });
    });
  }
});

describe('size caps for metadata files', () => {
  it('a 300 MB config.json is refused from its Content-Length before any byte is kept', async () => {
    hook = (_req, res, file) => {
      if (file !== 'config.json') return false;
      res.writeHead(200, { 'content-length': String(300 * 1024 * 1024), 'content-type': 'application/json' });
      res.write('{"model_type": "bert", "pad": "');
      return true; // never ends: the client must refuse from the header alone
    };
    const e = await rejection(resolveModelSource(ID, opts()));
    expect(e.message).toMatch(/config\.json is 314572800 bytes, over the 52428800-byte limit for metadata files/);
    expect(listFiles(cacheDir())).toEqual({});
  });

  it('a 300 MB config.json without Content-Length is cut at the metadata cap while streaming', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    hook = (_req, res, file) => {
      if (file !== 'config.json') return false;
      res.writeHead(200, { 'content-type': 'application/json' }); // chunked
      let sent = 0;
      const push = (): void => {
        while (sent < 300 && !res.destroyed) {
          sent++;
          if (!res.write(chunk)) {
            res.once('drain', push);
            return;
          }
        }
        if (!res.destroyed) res.end('}');
      };
      res.write('{"a":');
      push();
      return true;
    };
    const e = await rejection(resolveModelSource(ID, opts()), 20_000);
    expect(e.message).toMatch(/config\.json is over the 52428800-byte limit for metadata files/);
    expect(listFiles(cacheDir())).toEqual({});
    expect(MAX_METADATA_BYTES).toBe(50 * 1024 * 1024);
  });

  it('the cap covers tokenizer files, *.json and vocab.txt / merges.txt, and a smaller cap can be set', async () => {
    for (const file of ['tokenizer.json', 'vocab.txt', 'merges.txt', 'special_tokens_map.json']) {
      repo = { ...REPO, [file]: Buffer.alloc(2048, 0x61) };
      const dir = path.join(tmp, file);
      const e = await rejection(resolveModelSource(ID, opts({ cacheDir: dir, optionalFiles: [file], maxMetadataBytes: 1024 })));
      expect(e.message, file).toContain(`${file} is 2048 bytes, over the 1024-byte limit for metadata files`);
      expect(Object.keys(listFiles(dir)), file).toEqual(['models--tiny-org--tiny-bert/snapshots/main/config.json']);
    }
  });
});

describe('timeouts', () => {
  it('a server that trickles a byte every 5 s times out (idle timeout) and keeps the bytes for resume', async () => {
    hook = (_req, res, file) => {
      if (file !== 'model.safetensors') return false;
      res.writeHead(200, { 'content-length': String(MODEL.length) });
      let i = 0;
      const t = setInterval(() => {
        if (i < MODEL.length && !res.destroyed) res.write(MODEL.subarray(i, ++i));
      }, 50); // scaled down: a byte every 50 ms against a 0.5 s idle timeout
      timers.add(t);
      return true;
    };
    const started = Date.now();
    const e = await rejection(resolveModelSource(ID, opts({ idleTimeoutS: 0.5 })));
    expect(e.message).toMatch(/model\.safetensors stalled: less than 1024 bytes in 0\.5 s.*run again to resume.*PARRY_HUB_IDLE_TIMEOUT_S/);
    expect(Date.now() - started).toBeLessThan(8000);
    const kept = fs.readFileSync(path.join(snapshot(), 'model.safetensors.incomplete'));
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.equals(MODEL.subarray(0, kept.length))).toBe(true);
  });

  it('a server that stops answering (no response headers) times out after the connect timeout', async () => {
    hook = (_req, _res, file) => file === 'config.json'; // accept the request, never answer
    const e = await rejection(resolveModelSource(ID, opts({ connectTimeoutS: 0.5 })));
    expect(e.message).toMatch(/config\.json did not answer within 0\.5 s.*PARRY_HUB_CONNECT_TIMEOUT_S/);
    expect(listFiles(cacheDir())).toEqual({});
  });

  it('a server that stops mid-body times out after the idle timeout', async () => {
    hook = (_req, res, file) => {
      if (file !== 'model.safetensors') return false;
      res.writeHead(200, { 'content-length': String(MODEL.length) });
      res.write(MODEL.subarray(0, 100));
      return true; // then silence
    };
    const e = await rejection(resolveModelSource(ID, opts({ idleTimeoutS: 0.5 })));
    expect(e.message).toMatch(/model\.safetensors stalled/);
    expect(fs.statSync(path.join(snapshot(), 'model.safetensors.incomplete')).size).toBe(100);
  });

  it('PARRY_HUB_CONNECT_TIMEOUT_S and PARRY_HUB_IDLE_TIMEOUT_S set the timeouts; a bad value is refused naming the variable', async () => {
    hook = (_req, _res, file) => file === 'config.json';
    process.env.PARRY_HUB_CONNECT_TIMEOUT_S = '0.3';
    const e = await rejection(resolveModelSource(ID, opts()));
    expect(e.message).toMatch(/did not answer within 0\.3 s/);
    process.env.PARRY_HUB_IDLE_TIMEOUT_S = 'soon';
    const u = await rejection(resolveModelSource(ID, opts()), 10_000, UsageError);
    expect(u.message).toMatch(/PARRY_HUB_IDLE_TIMEOUT_S 'soon' is not a positive number of seconds/);
  });
});

describe('partial bytes are kept for resume', () => {
  it('a chunked body cut after 339 bytes keeps 339 bytes in .incomplete and the next run resumes with Range from them', async () => {
    hook = (req, res, file) => {
      if (file !== 'model.safetensors' || req.headers.range) return false;
      res.writeHead(200, { etag: `"${sha256(MODEL)}"` }); // chunked
      res.write(MODEL.subarray(0, 339), () => res.socket?.destroy());
      return true;
    };
    const e = await rejection(resolveModelSource(ID, opts()));
    expect(e.message).toMatch(/interrupted after 339 bytes/);
    expect(fs.statSync(path.join(snapshot(), 'model.safetensors.incomplete')).size).toBe(339);
    seen = [];
    hook = undefined;
    await resolveModelSource(ID, opts());
    expect(seen.map((s) => `${s.file} ${s.range}`)).toEqual(['model.safetensors bytes=339-']);
    expect(fs.readFileSync(path.join(snapshot(), 'model.safetensors')).equals(MODEL)).toBe(true);
    expect(Object.keys(listFiles(snapshot())).sort()).toEqual(['config.json', 'model.safetensors']);
  });
});

describe('links planted in the Hub cache', () => {
  it('a symlink planted at model.safetensors.incomplete is refused and the file it points to is untouched', async () => {
    const victim = path.join(tmp, 'victim.txt');
    fs.writeFileSync(victim, 'precious');
    fs.mkdirSync(snapshot(), { recursive: true });
    fs.symlinkSync(victim, path.join(snapshot(), 'model.safetensors.incomplete'));
    const e = await rejection(resolveModelSource(ID, opts()));
    expect(e.message).toContain(`${path.join(snapshot(), 'model.safetensors.incomplete')} is a symbolic link`);
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
  });

  it('a symlink planted at config.json.incomplete (a fresh download) is refused and the file it points to is untouched', async () => {
    const victim = path.join(tmp, 'victim.txt');
    fs.writeFileSync(victim, '');
    fs.mkdirSync(snapshot(), { recursive: true });
    fs.symlinkSync(victim, path.join(snapshot(), 'config.json.incomplete'));
    const e = await rejection(resolveModelSource(ID, opts()));
    expect(e.message).toContain('config.json.incomplete is a symbolic link');
    expect(fs.readFileSync(victim, 'utf8')).toBe('');
  });

  it('a hard link planted at model.safetensors.incomplete is refused on resume and the file it links to is untouched', async () => {
    const victim = path.join(tmp, 'victim.txt');
    fs.writeFileSync(victim, 'precious');
    fs.mkdirSync(snapshot(), { recursive: true });
    fs.linkSync(victim, path.join(snapshot(), 'model.safetensors.incomplete'));
    const e = await rejection(resolveModelSource(ID, opts()));
    expect(e.message).toContain(`${path.join(snapshot(), 'model.safetensors.incomplete')} in the Hub cache is a hard link`);
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
  });

  it('a hard link planted at model.safetensors.incomplete that the server does not resume is replaced, not written through', async () => {
    const victim = path.join(tmp, 'victim.txt');
    fs.writeFileSync(victim, 'precious');
    fs.mkdirSync(snapshot(), { recursive: true });
    fs.linkSync(victim, path.join(snapshot(), 'model.safetensors.incomplete'));
    hook = (req, res, file) => {
      if (file !== 'model.safetensors') return false;
      res.writeHead(200, { 'content-length': String(MODEL.length) }).end(MODEL); // ignores the Range request
      return true;
    };
    await resolveModelSource(ID, opts());
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    expect(fs.readFileSync(path.join(snapshot(), 'model.safetensors')).equals(MODEL)).toBe(true);
  });

  it('a snapshot directory that is a link out of the cache is refused and nothing is written through it', async () => {
    const outside = path.join(tmp, 'outside');
    fs.mkdirSync(outside);
    fs.mkdirSync(path.dirname(snapshot()), { recursive: true });
    fs.symlinkSync(outside, snapshot());
    const e = await rejection(resolveModelSource(ID, opts()));
    expect(e.message).toContain(`${snapshot()} is a symbolic link`);
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it('a cached config.json that links to a file outside the cache is refused on read', async () => {
    const secret = path.join(tmp, 'secret.json');
    fs.writeFileSync(secret, '{"model_type":"bert"}');
    fs.mkdirSync(snapshot(), { recursive: true });
    fs.symlinkSync(secret, path.join(snapshot(), 'config.json'));
    fs.writeFileSync(path.join(snapshot(), 'model.safetensors'), MODEL);
    const e = await rejection(resolveModelSource(ID, opts()));
    expect(e.message).toContain(`${path.join(snapshot(), 'config.json')} is a symbolic link to ${secret}, outside the Hub cache`);
  });
});

describe('a captive portal', () => {
  it('a captive-portal HTML page served for every file is refused and nothing is cached', async () => {
    hook = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': String(PORTAL.length) }).end(PORTAL);
      return true;
    };
    const e = await rejection(resolveModelSource(ID, opts({ optionalFiles: ['vocab.txt'] })));
    expect(e.message).toMatch(/config\.json answered with an HTML page \(Content-Type text\/html/);
    expect(e.message).toMatch(/captive portal/);
    expect(listFiles(cacheDir())).toEqual({});
  });

  it('a captive-portal page sent as application/octet-stream is refused by validation and nothing is cached', async () => {
    for (const file of ['config.json', 'model.safetensors', 'vocab.txt']) {
      hook = (_req, res, f) => {
        if (f !== file) return false;
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(PORTAL.length) }).end(PORTAL);
        return true;
      };
      const dir = path.join(tmp, file);
      const e = await rejection(resolveModelSource(ID, opts({ cacheDir: dir, optionalFiles: ['vocab.txt'] })));
      expect(e.message, file).toContain(`${endpoint}/${ID}/resolve/main/${file} is not a valid`);
      expect(Object.keys(listFiles(dir)).filter((f) => f.endsWith(file) || f.endsWith('.incomplete')), file).toEqual([]);
    }
  });

  it('a truncated model.safetensors sent chunked without any size header is refused by the header check, not cached', async () => {
    hook = (_req, res, file) => {
      if (file !== 'model.safetensors') return false;
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(MODEL.subarray(0, MODEL.length - 100));
      return true;
    };
    const e = await rejection(resolveModelSource(ID, opts()));
    expect(e.message).toMatch(/model\.safetensors is not a valid safetensors file: .*nothing was cached/);
    expect(Object.keys(listFiles(snapshot()))).toEqual(['config.json']);
  });

  it('a JSON file that is not an object (config.json = [1,2]) is refused before it is cached', async () => {
    repo = { ...REPO, 'config.json': Buffer.from('[1,2]') };
    const e = await rejection(resolveModelSource(ID, opts()));
    expect(e.message).toMatch(/config\.json is not a valid JSON object/);
    expect(listFiles(cacheDir())).toEqual({});
  });

  it('a corrupt file already in the cache is named with how to re-download, and forceDownload re-downloads it', async () => {
    fs.mkdirSync(snapshot(), { recursive: true });
    fs.writeFileSync(path.join(snapshot(), 'config.json'), PORTAL);
    fs.writeFileSync(path.join(snapshot(), 'model.safetensors'), PORTAL);
    const e = await rejection(resolveModelSource(ID, opts()));
    expect(e.message).toContain(`the cached ${path.join(snapshot(), 'config.json')} is not a valid JSON object`);
    expect(e.message).toMatch(/run again with --force-download/);
    expect(seen).toEqual([]);

    const r = await resolveModelSource(ID, opts({ forceDownload: true }));
    expect(r.fromCache).toBe(false);
    expect(fs.readFileSync(path.join(snapshot(), 'config.json')).equals(CONFIG)).toBe(true);
    expect(fs.readFileSync(path.join(snapshot(), 'model.safetensors')).equals(MODEL)).toBe(true);
    expect(Object.keys(listFiles(snapshot())).sort()).toEqual(['config.json', 'model.safetensors']);
    seen = [];
    expect((await resolveModelSource(ID, opts())).fromCache).toBe(true);
    expect(seen).toEqual([]);
  });

  it('forceDownload with offline mode is refused naming both flags', async () => {
    const e = await rejection(resolveModelSource(ID, opts({ forceDownload: true, offline: true })), 10_000, UsageError);
    expect(e.message).toMatch(/--force-download.*--offline/);
  });
});
