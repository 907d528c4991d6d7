/**
 * Resolve a model source to a local directory: either a directory the user already has, or a Hugging Face Hub id
 * (`org/name`) downloaded into a local cache laid out like the Hub's own (`models--org--name/snapshots/<revision>/`).
 * Downloads resume from `<file>.incomplete`, are checked against the server's size and sha256 where it gives them, and
 * only a complete, checked file is renamed into place. PyTorch pickle weights are never downloaded or read.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { InputError, UsageError } from '../errors.js';

/** Options of {@link resolveModelSource}. */
export interface HubOptions {
  /** Cache root; default `PARRY_CACHE_DIR`, else `$XDG_CACHE_HOME/parry/hub`, else `~/.cache/parry/hub`. */
  cacheDir?: string;
  /** Branch, tag or commit; default `main`. */
  revision?: string;
  /** Never use the network (also `PARRY_OFFLINE=1` or `HF_HUB_OFFLINE=1`). */
  offline?: boolean;
  /** Hub URL; default `HF_ENDPOINT` or `https://huggingface.co`. */
  endpoint?: string;
  /** Access token for private or gated repos; default `HF_TOKEN`. */
  token?: string;
  /** Files that must exist; default `config.json`, `model.safetensors`. */
  files?: string[];
  /** Files fetched when the repo has them (404 is skipped); default the tokenizer files. */
  optionalFiles?: string[];
  /** Fetch implementation (tests, proxies); default the global `fetch`. */
  fetch?: typeof fetch;
  /** Called as bytes of a file arrive; `received` counts bytes already on disk from an earlier attempt too. */
  onProgress?: (e: { file: string; received: number; total?: number }) => void;
}

/** A model directory ready to load. */
export interface ResolvedModel {
  dir: string;
  /** Hub id when the source was one. */
  id?: string;
  revision?: string;
  /** True when nothing was downloaded (a local directory or a complete cached snapshot). */
  fromCache: boolean;
}

export const DEFAULT_REQUIRED_FILES: readonly string[] = ['config.json', 'model.safetensors'];
export const DEFAULT_OPTIONAL_FILES: readonly string[] = [
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.txt',
  'special_tokens_map.json',
  'merges.txt',
  'vocab.json',
];

const HUB_ID = /^[\w.-]+(\/[\w.-]+)?$/;
const PICKLE_WEIGHTS = /\.(bin|pt|pth|ckpt)$/i;
const SHA256 = /^[0-9a-f]{64}$/i;

/** The cache root from the environment: `PARRY_CACHE_DIR`, else `$XDG_CACHE_HOME/parry/hub`, else `~/.cache/parry/hub`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PARRY_CACHE_DIR) return path.resolve(env.PARRY_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return path.join(path.resolve(env.XDG_CACHE_HOME), 'parry', 'hub');
  return path.join(os.homedir(), '.cache', 'parry', 'hub');
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && ['1', 'true', 'yes', 'on'].includes(v.trim().toLowerCase());
}

/** Which setting turned offline mode on, or undefined when online. */
function offlineReason(options: HubOptions, env: NodeJS.ProcessEnv): string | undefined {
  if (options.offline) return 'offline mode is on';
  if (truthy(env.PARRY_OFFLINE)) return 'PARRY_OFFLINE is set';
  if (truthy(env.HF_HUB_OFFLINE)) return 'HF_HUB_OFFLINE is set';
  return undefined;
}

/** The directory of one cached snapshot: `<cacheDir>/models--<org>--<name>/snapshots/<revision>`. */
export function snapshotDir(cacheDir: string, id: string, revision: string): string {
  return path.join(cacheDir, `models--${id.split('/').join('--')}`, 'snapshots', ...revision.split('/'));
}

function conversionHint(from: string, to: string): string {
  return (
    'Parry never unpickles .bin/.pt/.ckpt weights (loading them can run arbitrary code); convert once with ' +
    `python -c "from transformers import AutoModelForSequenceClassification as M; M.from_pretrained('${from}')` +
    `.save_pretrained('${to}', safe_serialization=True)"`
  );
}

function checkRelative(name: string, what: string): void {
  const parts = name.split('/');
  if (name === '' || path.isAbsolute(name) || name.includes('\\') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new UsageError(`${what} '${name}' must be a relative path without '.' or '..' segments`);
  }
}

/** A local model directory must hold config.json and model.safetensors; pickle-only checkpoints are refused. */
function checkLocalDir(dir: string, required: readonly string[]): void {
  const entries = fs.readdirSync(dir);
  const missing = required.filter((f) => !fs.existsSync(path.join(dir, f)));
  if (missing.includes('model.safetensors')) {
    const pickles = entries.filter((f) => PICKLE_WEIGHTS.test(f));
    if (pickles.length > 0) throw new InputError(`${dir} has ${pickles.join(', ')} but no model.safetensors; ${conversionHint(dir, dir)}`);
    if (entries.includes('model.safetensors.index.json')) {
      throw new InputError(`${dir} holds a sharded checkpoint (model.safetensors.index.json); Parry needs a single model.safetensors`);
    }
  }
  if (missing.length > 0) {
    throw new InputError(`${dir} is not a model directory: missing ${missing.join(', ')} (expected a Hugging Face save_pretrained folder)`);
  }
}

/**
 * Resolve `source` (a local model directory or a Hub id such as `google/electra-small-discriminator`) to a directory
 * holding `config.json`, `model.safetensors` and whichever tokenizer files exist. Hub ids are downloaded once into the
 * cache and reused without any network request afterwards; offline mode only uses the cache.
 */
export async function resolveModelSource(source: string, options: HubOptions = {}): Promise<ResolvedModel> {
  const env = process.env;
  const required = options.files ?? DEFAULT_REQUIRED_FILES;
  const optional = (options.optionalFiles ?? DEFAULT_OPTIONAL_FILES).filter((f) => !required.includes(f));
  for (const f of [...required, ...optional]) checkRelative(f, 'file name');

  const stat = fs.statSync(source, { throwIfNoEntry: false });
  if (stat?.isDirectory()) {
    checkLocalDir(path.resolve(source), required);
    return { dir: path.resolve(source), fromCache: true };
  }
  if (stat) throw new InputError(`model source ${source} is a file; pass the directory that holds config.json and model.safetensors`);
  if (!HUB_ID.test(source) || source.split('/').some((p) => p === '.' || p === '..')) {
    throw new InputError(`model source ${source} is neither an existing directory nor a Hub id like 'org/name'; check the path`);
  }

  const id = source;
  const revision = options.revision ?? 'main';
  checkRelative(revision, 'revision');
  const cacheDir = options.cacheDir ? path.resolve(options.cacheDir) : defaultCacheDir(env);
  const dir = snapshotDir(cacheDir, id, revision);
  const missing = required.filter((f) => !fs.existsSync(path.join(dir, f)));
  if (missing.length === 0) return { dir, id, revision, fromCache: true };

  const offline = offlineReason(options, env);
  if (offline) {
    throw new InputError(
      `${id}@${revision} is not in the cache (${dir} lacks ${missing.join(', ')}) and ${offline}; ` +
        `run once online to download it${offline.endsWith('is set') ? ` (unset ${offline.split(' ')[0]})` : ''}`,
    );
  }

  const endpoint = (options.endpoint ?? env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  const token = options.token ?? env.HF_TOKEN;
  const ctx: Ctx = { fetch: options.fetch ?? globalThis.fetch, token, onProgress: options.onProgress };
  const urlOf = (file: string): string =>
    `${endpoint}/${id}/resolve/${encodeURIComponent(revision)}/${file.split('/').map(encodeURIComponent).join('/')}`;

  // Required files go first except the last one, which is fetched after the optional files: the snapshot only counts
  // as complete (and is then used without the network) once every file of this run is in place.
  const last = required[required.length - 1];
  const order: Array<[string, boolean]> = [
    ...required.slice(0, -1).map((f): [string, boolean] => [f, true]),
    ...optional.map((f): [string, boolean] => [f, false]),
    ...(last === undefined ? [] : [[last, true] as [string, boolean]]),
  ];
  for (const [file, isRequired] of order) {
    const dest = path.join(dir, file);
    if (fs.existsSync(dest)) continue;
    const url = urlOf(file);
    const got = await download(ctx, url, dest, file);
    if (got === 'missing' && isRequired) {
      if (file === 'model.safetensors') {
        const binUrl = urlOf('pytorch_model.bin');
        if (await exists(ctx, binUrl)) {
          throw new InputError(
            `${id}@${revision} has pytorch_model.bin but no model.safetensors; ${conversionHint(id, '<dir>')} and pass <dir> instead`,
          );
        }
      }
      throw new InputError(`${url} not found (404): the model id '${id}', revision '${revision}' or file name ${file} is wrong`);
    }
  }
  return { dir, id, revision, fromCache: false };
}

interface Ctx {
  fetch: typeof fetch;
  token?: string;
  onProgress?: HubOptions['onProgress'];
}

function authHeaders(ctx: Ctx): Record<string, string> {
  return ctx.token ? { authorization: `Bearer ${ctx.token}` } : {};
}

function causeOf(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  const detail = err.cause?.code ?? err.cause?.message ?? err.message;
  return String(detail).split('\n')[0];
}

async function request(ctx: Ctx, url: string, init: RequestInit): Promise<Response> {
  try {
    return await ctx.fetch(url, { redirect: 'follow', ...init });
  } catch (e) {
    throw new InputError(`cannot reach ${url}: ${causeOf(e)}; check the network or HF_ENDPOINT, or use offline mode with a cached model`);
  }
}

function statusError(url: string, res: Response): InputError {
  const s = res.status;
  if (s === 401 || s === 403) {
    return new InputError(
      `${url} answered ${s}: the repo is private or gated or the token is invalid; accept its terms on the Hub and set HF_TOKEN (or pass a token)`,
    );
  }
  return new InputError(`${url} answered ${s} ${res.statusText}`.trimEnd() + '; try again later or check HF_ENDPOINT');
}

/** HEAD request: does the file exist on the Hub? */
async function exists(ctx: Ctx, url: string): Promise<boolean> {
  const res = await request(ctx, url, { method: 'HEAD', headers: authHeaders(ctx) });
  await res.body?.cancel();
  return res.ok;
}

function intHeader(res: Response, name: string): number | undefined {
  const v = res.headers.get(name);
  if (v === null || !/^\d+$/.test(v.trim())) return undefined;
  return Number(v.trim());
}

/** The sha256 the server vouches for, from `x-linked-etag` or an `etag` that is a bare sha256. */
function expectedSha(res: Response): string | undefined {
  for (const name of ['x-linked-etag', 'etag']) {
    const v = res.headers.get(name)?.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
    if (v && SHA256.test(v)) return v.toLowerCase();
  }
  return undefined;
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Download `url` to `dest` through `dest.incomplete`, resuming a previous partial download with a Range request.
 * Returns 'missing' on 404; throws `InputError` on other errors, an interrupted transfer (the partial is kept for the
 * next attempt) or a size / sha256 mismatch (the partial is deleted).
 */
async function download(ctx: Ctx, url: string, dest: string, file: string, retried = false): Promise<'ok' | 'missing'> {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const partial = `${dest}.incomplete`;
  const have = fs.statSync(partial, { throwIfNoEntry: false })?.size ?? 0;
  const headers: Record<string, string> = { ...authHeaders(ctx), 'accept-encoding': 'identity' };
  if (have > 0) headers.range = `bytes=${have}-`;
  const res = await request(ctx, url, { headers });

  if (res.status === 404) {
    await res.body?.cancel();
    return 'missing';
  }
  if (res.status === 416 && have > 0 && !retried) {
    // The partial is not a prefix the server can continue (e.g. the file changed): start over once.
    await res.body?.cancel();
    fs.rmSync(partial, { force: true });
    return download(ctx, url, dest, file, true);
  }
  if (res.status !== 200 && res.status !== 206) {
    await res.body?.cancel();
    throw statusError(url, res);
  }

  let start = 0;
  const totals: number[] = [];
  const linked = intHeader(res, 'x-linked-size');
  if (linked !== undefined) totals.push(linked);
  const length = intHeader(res, 'content-length');
  if (res.status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range')?.trim() ?? '');
    if (!m || Number(m[1]) !== have) {
      await res.body?.cancel();
      if (retried) throw new InputError(`${url} answered a Range request with an unusable Content-Range; delete ${partial} and retry`);
      fs.rmSync(partial, { force: true });
      return download(ctx, url, dest, file, true);
    }
    start = have;
    if (m[3] !== '*') totals.push(Number(m[3]));
    if (length !== undefined) totals.push(start + length);
  } else if (length !== undefined) {
    totals.push(length);
  }
  const total = totals[0];
  const sha = expectedSha(res);

  let received = start;
  const out = fs.createWriteStream(partial, { flags: start > 0 ? 'a' : 'w' });
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length;
      ctx.onProgress?.({ file, received, total });
      done(null, chunk);
    },
  });
  try {
    if (res.body) await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), counter, out);
    else out.end();
  } catch (e) {
    out.destroy();
    throw new InputError(
      `download of ${url} was interrupted after ${received} bytes (${causeOf(e)}); run again to resume from ${path.basename(partial)}`,
    );
  }

  const size = fs.statSync(partial).size;
  const wrongSize = totals.find((t) => t !== size);
  if (wrongSize !== undefined) {
    fs.rmSync(partial, { force: true });
    throw new InputError(`${url}: downloaded ${size} bytes but the server announced ${wrongSize}; the partial file was deleted, run again`);
  }
  if (sha) {
    const actual = await sha256File(partial);
    if (actual !== sha) {
      fs.rmSync(partial, { force: true });
      throw new InputError(`${url}: sha256 ${actual} does not match the server's ${sha}; the download was deleted, run again`);
    }
  }
  fs.renameSync(partial, dest);
  return 'ok';
}
