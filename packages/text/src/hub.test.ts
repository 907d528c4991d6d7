import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { type FakeHub, serveLfs, sha256, startFakeHub } from './test-utils/fake-hub.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InputError } from '@parry/core';
import { defaultCacheDir, downloadProgressLines, resolveModelSource, type HubOptions } from './hub.js';
import { parseSafetensors, serializeSafetensors } from './safetensors.js';
import type { HostTensor } from '@parry/core';

const ID = 'tiny-org/tiny-bert';
const ENV_KEYS = ['PARRY_OFFLINE', 'HF_HUB_OFFLINE', 'HF_TOKEN', 'HF_ENDPOINT', 'PARRY_CACHE_DIR', 'XDG_CACHE_HOME'] as const;

const weights: Record<string, HostTensor> = {
  'bert.embeddings.word_embeddings.weight': {
    dtype: 'F32',
    shape: [128, 128],
    data: Float32Array.from({ length: 128 * 128 }, (_, i) => Math.sin(i)),
  },
  'classifier.bias': { dtype: 'F32', shape: [2], data: new Float32Array([0.5, -0.5]) },
  'bert.embeddings.position_ids': { dtype: 'I64', shape: [1, 4], data: new BigInt64Array([0n, 1n, 2n, 3n]) },
};
const MODEL = Buffer.from(serializeSafetensors(weights, { format: 'pt' }));
const REPO: Record<string, Buffer> = {
  'config.json': Buffer.from(JSON.stringify({ model_type: 'bert', hidden_size: 128, num_labels: 2 })),
  'model.safetensors': MODEL,
  'tokenizer.json': Buffer.from('{"version":"1.0"}'),
  'vocab.txt': Buffer.from('[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n'),
};

interface Seen {
  method: string;
  file: string;
  range?: string;
  authorization?: string;
}
type Hook = (req: http.IncomingMessage, res: http.ServerResponse, file: string) => boolean;


let hub: FakeHub;
let endpoint: string;
let seen: Seen[] = [];
let hook: Hook | undefined;
let repo: Record<string, Buffer> = { ...REPO };
let tmp: string;
const savedEnv: Partial<Record<(typeof ENV_KEYS)[number], string>> = {};

beforeAll(async () => {
  hub = await startFakeHub(ID, () => repo, (req, res, file) => {
    seen.push({ method: req.method ?? '', file, range: req.headers.range, authorization: req.headers.authorization });
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
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-hub-'));
});

afterEach(() => {
  for (const k of ENV_KEYS) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

const opts = (extra: HubOptions = {}): HubOptions => ({ cacheDir: path.join(tmp, 'cache'), endpoint, ...extra });
const snapshot = (): string => path.join(tmp, 'cache', 'models--tiny-org--tiny-bert', 'snapshots', 'main');

async function rejection(p: Promise<unknown>): Promise<InputError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(InputError);
  expect((e as Error).message).not.toContain('\n');
  return e as InputError;
}

/** Every file in a directory tree, relative to it. */
function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}

describe('resolveModelSource from the Hub', () => {
  it('downloads into the cache layout, skips absent optional files, then serves from the cache without requests', async () => {
    const progress: Array<{ file: string; received: number; total?: number }> = [];
    const r = await resolveModelSource(ID, opts({ onProgress: (e) => progress.push(e) }));
    expect(r).toEqual({ dir: snapshot(), id: ID, revision: 'main', fromCache: false });
    expect(listFiles(r.dir)).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'vocab.txt']);
    for (const f of Object.keys(REPO)) expect(fs.readFileSync(path.join(r.dir, f)).equals(REPO[f]), f).toBe(true);
    expect(parseSafetensors(fs.readFileSync(path.join(r.dir, 'model.safetensors'))).tensors).toEqual(weights);
    // Every default file was asked for once; the optional ones the repo lacks answered 404 and were skipped.
    expect(seen.map((s) => `${s.method} ${s.file}`).sort()).toEqual(
      [
        'config.json', 'merges.txt', 'model.safetensors', 'special_tokens_map.json',
        'tokenizer.json', 'tokenizer_config.json', 'vocab.json', 'vocab.txt',
      ].map((f) => `GET ${f}`),
    );
    expect(seen.at(-1)?.file).toBe('model.safetensors'); // the file that completes the snapshot comes last
    const last = progress.filter((p) => p.file === 'model.safetensors').at(-1);
    expect(last).toEqual({ file: 'model.safetensors', received: MODEL.length, total: MODEL.length });

    seen = [];
    const again = await resolveModelSource(ID, opts());
    expect(again).toEqual({ dir: snapshot(), id: ID, revision: 'main', fromCache: true });
    expect(seen).toEqual([]);
  });

  it('sends the token as a Bearer header and explains 401/403', async () => {
    await resolveModelSource(ID, opts({ token: 'hf_secret', optionalFiles: [] }));
    expect(seen.map((s) => s.authorization)).toEqual(['Bearer hf_secret', 'Bearer hf_secret']);

    hook = (_req, res) => {
      res.writeHead(401).end();
      return true;
    };
    const e = await rejection(resolveModelSource(ID, opts({ cacheDir: path.join(tmp, 'other') })));
    expect(e.message).toContain(`${endpoint}/${ID}/resolve/main/config.json answered 401`);
    expect(e.message).toContain('HF_TOKEN');
  });

  it('offline: a warm cache works without requests, a cold one fails naming the missing files', async () => {
    await resolveModelSource(ID, opts());
    seen = [];
    process.env.HF_HUB_OFFLINE = '1';
    expect((await resolveModelSource(ID, opts())).fromCache).toBe(true);

    const cold = path.join(tmp, 'cold');
    const e1 = await rejection(resolveModelSource(ID, opts({ cacheDir: cold })));
    expect(e1.message).toMatch(/lacks config\.json, model\.safetensors\) and HF_HUB_OFFLINE is set; run once online .*unset HF_HUB_OFFLINE/);
    delete process.env.HF_HUB_OFFLINE;
    process.env.PARRY_OFFLINE = '1';
    expect((await rejection(resolveModelSource(ID, opts({ cacheDir: cold })))).message).toContain('unset PARRY_OFFLINE');
    delete process.env.PARRY_OFFLINE;
    const e3 = await rejection(resolveModelSource(ID, opts({ cacheDir: cold, offline: true })));
    expect(e3.message).toContain('offline mode is on; run once online');
    expect(seen).toEqual([]);
    expect(fs.existsSync(cold)).toBe(false);
  });

  it('resumes an interrupted download with a Range request', async () => {
    const cut = Math.floor(MODEL.length / 2);
    hook = (req, res, file) => {
      if (file !== 'model.safetensors' || req.headers.range) return false;
      res.writeHead(200, { 'content-length': String(MODEL.length), etag: `"${sha256(MODEL)}"` });
      res.write(MODEL.subarray(0, cut));
      setTimeout(() => res.socket?.destroy(), 200); // let the client take the first half, then drop the connection
      return true;
    };
    const e = await rejection(resolveModelSource(ID, opts({ optionalFiles: [] })));
    expect(e.message).toMatch(/download of .*model\.safetensors was interrupted after \d+ bytes.*run again to resume/);
    const partial = path.join(snapshot(), 'model.safetensors.incomplete');
    const kept = fs.statSync(partial).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(cut);
    expect(fs.existsSync(path.join(snapshot(), 'model.safetensors'))).toBe(false);
    expect(MODEL.subarray(0, kept).equals(fs.readFileSync(partial))).toBe(true);

    seen = [];
    const r = await resolveModelSource(ID, opts({ optionalFiles: [] }));
    expect(r.fromCache).toBe(false);
    expect(seen).toEqual([{ method: 'GET', file: 'model.safetensors', range: `bytes=${kept}-`, authorization: undefined }]);
    expect(fs.readFileSync(path.join(r.dir, 'model.safetensors')).equals(MODEL)).toBe(true);
    expect(listFiles(r.dir)).toEqual(['config.json', 'model.safetensors']);
  });

  it('restarts from scratch when the server ignores the Range request (200)', async () => {
    fs.mkdirSync(snapshot(), { recursive: true });
    const garbage = Buffer.from('garbage that is not a prefix');
    fs.writeFileSync(path.join(snapshot(), 'model.safetensors.incomplete'), garbage);
    hook = (req, res, file) => {
      if (file !== 'model.safetensors') return false;
      res.writeHead(200, { 'content-length': String(MODEL.length) }).end(MODEL);
      return true;
    };
    const r = await resolveModelSource(ID, opts({ optionalFiles: [] }));
    expect(seen.find((s) => s.file === 'model.safetensors')?.range).toBe(`bytes=${garbage.length}-`);
    expect(fs.readFileSync(path.join(r.dir, 'model.safetensors')).equals(MODEL)).toBe(true);
  });

  it('a size mismatch deletes the partial and leaves no file under the real name', async () => {
    const cases: Array<[string, Hook, RegExp]> = [
      [
        'x-linked-size larger than the body',
        (req, res, file) => {
          if (file !== 'model.safetensors') return false;
          serveLfs(req, res, MODEL, { 'x-linked-size': String(MODEL.length + 5) });
          return true;
        },
        new RegExp(`downloaded ${MODEL.length} bytes but the server announced ${MODEL.length + 5}`),
      ],
      [
        'extra bytes in a chunked body',
        (_req, res, file) => {
          if (file !== 'model.safetensors') return false;
          res.writeHead(200, { 'x-linked-size': String(MODEL.length) }); // no content-length: chunked
          res.end(Buffer.concat([MODEL, Buffer.from('xyz')]));
          return true;
        },
        new RegExp(`downloaded ${MODEL.length + 3} bytes but the server announced ${MODEL.length}`),
      ],
    ];
    for (const [what, h, re] of cases) {
      hook = h;
      const cacheDir = path.join(tmp, what.replace(/\W+/g, '-'));
      const e = await rejection(resolveModelSource(ID, opts({ cacheDir, optionalFiles: [] })));
      expect(e.message, what).toMatch(re);
      expect(e.message).toContain(`${endpoint}/${ID}/resolve/main/model.safetensors`);
      expect(listFiles(cacheDir), what).toEqual(['models--tiny-org--tiny-bert/snapshots/main/config.json']);
    }
  });

  it('a Content-Length longer than the body fails and leaves no file under the real name', async () => {
    hook = (_req, res, file) => {
      if (file !== 'model.safetensors') return false;
      res.writeHead(200, { 'content-length': String(MODEL.length + 100) });
      res.write(MODEL);
      setTimeout(() => res.socket?.destroy(), 100);
      return true;
    };
    const e = await rejection(resolveModelSource(ID, opts({ optionalFiles: [] })));
    expect(e.message).toMatch(/model\.safetensors was interrupted/);
    expect(fs.existsSync(path.join(snapshot(), 'model.safetensors'))).toBe(false);
  });

  it('a sha256 mismatch with the etag (or x-linked-etag) deletes the download', async () => {
    for (const header of ['etag', 'x-linked-etag']) {
      hook = (req, res, file) => {
        if (file !== 'model.safetensors') return false;
        serveLfs(req, res, MODEL, { [header]: `"${sha256(Buffer.from('something else'))}"` });
        return true;
      };
      const cacheDir = path.join(tmp, header);
      const e = await rejection(resolveModelSource(ID, opts({ cacheDir, optionalFiles: [] })));
      expect(e.message).toContain(`${endpoint}/${ID}/resolve/main/model.safetensors: sha256 ${sha256(MODEL)} does not match`);
      expect(listFiles(cacheDir)).toEqual(['models--tiny-org--tiny-bert/snapshots/main/config.json']);
    }
  });

  it('refuses a repo that only has pytorch_model.bin, without downloading it', async () => {
    repo = { 'config.json': REPO['config.json'], 'pytorch_model.bin': Buffer.from('pickle!') };
    const e = await rejection(resolveModelSource(ID, opts({ optionalFiles: [] })));
    expect(e.message).toMatch(/has pytorch_model\.bin but no model\.safetensors; Parry never unpickles/);
    expect(e.message).toContain(`from_pretrained('${ID}')`);
    expect(e.message).toContain('safe_serialization=True');
    expect(seen.filter((s) => s.file === 'pytorch_model.bin').map((s) => s.method)).toEqual(['HEAD']);
    expect(listFiles(snapshot())).toEqual(['config.json']);
  });

  it('reports a wrong id (404 on a required file)', async () => {
    repo = {};
    const e = await rejection(resolveModelSource(ID, opts({ optionalFiles: [] })));
    expect(e.message).toContain(`${endpoint}/${ID}/resolve/main/config.json not found (404)`);
    expect(e.message).toContain(`model id '${ID}'`);
  });

  it('reports an unreachable endpoint', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const e = await rejection(resolveModelSource(ID, opts({ endpoint: `http://127.0.0.1:${port}` })));
    expect(e.message).toMatch(new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}/${ID}/resolve/main/config\\.json: ECONNREFUSED`));
  });
});

describe('resolveModelSource with a local directory', () => {
  it('returns a complete directory as is', async () => {
    const dir = path.join(tmp, 'local');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'config.json'), '{}');
    fs.writeFileSync(path.join(dir, 'model.safetensors'), MODEL);
    expect(await resolveModelSource(dir, { endpoint })).toEqual({ dir, fromCache: true });
    expect(seen).toEqual([]);
  });

  it('refuses pickle-only checkpoints and names what is missing otherwise', async () => {
    const dir = path.join(tmp, 'pickled');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'config.json'), '{}');
    fs.writeFileSync(path.join(dir, 'pytorch_model.bin'), 'pickle!');
    const e = await rejection(resolveModelSource(dir));
    expect(e.message).toContain(`${dir} has pytorch_model.bin but no model.safetensors; Parry never unpickles`);
    expect(e.message).toContain(`from_pretrained('${dir}').save_pretrained('${dir}', safe_serialization=True)`);

    fs.rmSync(path.join(dir, 'pytorch_model.bin'));
    fs.writeFileSync(path.join(dir, 'model.safetensors'), MODEL);
    fs.rmSync(path.join(dir, 'config.json'));
    expect((await rejection(resolveModelSource(dir))).message).toBe(
      `${dir} is not a model directory: missing config.json (expected a Hugging Face save_pretrained folder)`,
    );
  });

  it('rejects sources that are neither a directory nor a Hub id', async () => {
    expect((await rejection(resolveModelSource(path.join(tmp, 'no', 'such', 'dir')))).message).toMatch(/neither an existing directory nor a Hub id/);
    const file = path.join(tmp, 'model.safetensors');
    fs.writeFileSync(file, MODEL);
    expect((await rejection(resolveModelSource(file))).message).toMatch(/is a file; pass the directory/);
    expect(seen).toEqual([]);
  });
});

describe('defaultCacheDir', () => {
  it('prefers PARRY_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache', () => {
    expect(defaultCacheDir({ PARRY_CACHE_DIR: '/a/b', XDG_CACHE_HOME: '/x' })).toBe(path.resolve('/a/b'));
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x' })).toBe(path.join('/x', 'parry', 'hub'));
    expect(defaultCacheDir({})).toBe(path.join(os.homedir(), '.cache', 'parry', 'hub'));
  });
});

describe('downloadProgressLines', () => {
  it('progress on stderr for big files: a line per interval and one at the end, nothing for small files', () => {
    const lines: string[] = [];
    let t = 0;
    const onProgress = downloadProgressLines((l) => lines.push(l), { minBytes: 1e6, everyMs: 100, now: () => t });
    onProgress({ file: 'config.json', received: 500_000, total: 500_000 });
    for (let received = 1e6; received <= 5e6; received += 1e6, t += 60) onProgress({ file: 'model.safetensors', received, total: 5e6 });
    onProgress({ file: 'blob', received: 2_000_000 });
    expect(lines).toEqual([
      'downloading model.safetensors: 1.0 / 5.0 MB (20%)',
      'downloading model.safetensors: 3.0 / 5.0 MB (60%)',
      'downloading model.safetensors: 5.0 / 5.0 MB (100%), done',
      'downloading blob: 2.0 MB',
    ]);
  });

  it('resolveModelSource reports progress of a big file through downloadProgressLines', async () => {
    const lines: string[] = [];
    await resolveModelSource(ID, opts({ optionalFiles: [], onProgress: downloadProgressLines((l) => lines.push(l), { minBytes: 50_000 }) }));
    expect(lines.at(-1)).toBe(`downloading model.safetensors: 0.1 / 0.1 MB (100%), done`);
    expect(lines.every((l) => l.startsWith('downloading model.safetensors'))).toBe(true);
  });
});
