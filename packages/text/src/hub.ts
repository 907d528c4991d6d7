/**
 * Resolve a model source to a local directory: either a directory the user already has, or a Hugging Face Hub id
 * (`org/name`) downloaded into a local cache laid out like the Hub's own (`models--org--name/snapshots/<revision>/`).
 * Downloads resume from `<file>.incomplete`, are checked against the server's size and sha256 where it gives them, and
 * only a complete, checked file is renamed into place. PyTorch pickle weights are never downloaded or read.
 *
 * What a hostile or broken server cannot do (issue 14):
 * - make the client decompress: requests say `Accept-Encoding: identity` and any other `Content-Encoding` is refused
 *   before a byte of the body is read;
 * - send huge metadata: `config.json`, tokenizer files, `*.json` and `*.txt` are capped at {@link MAX_METADATA_BYTES}
 *   (50 MiB), from the announced size and again while streaming;
 * - hang: no response headers within the connect timeout (30 s, `PARRY_HUB_CONNECT_TIMEOUT_S`) or less than 1 KiB in
 *   the idle timeout (60 s, `PARRY_HUB_IDLE_TIMEOUT_S`) stops the transfer; bytes received so far are kept;
 * - lose bytes: each chunk is written to `<file>.incomplete` as it arrives, so the next run resumes with a Range
 *   request from every byte kept, also after `kill -9`;
 * - write outside the cache: no path in the cache is written through a symbolic link (each directory is checked with
 *   lstat, partial files are opened with O_NOFOLLOW), and cached files that link out of the cache are not read;
 * - cache garbage: an HTML answer for a non-HTML file is refused, JSON files must be JSON objects, text files UTF-8
 *   and not HTML, and `.safetensors` files must have a consistent header before they are renamed into place; a cache
 *   that already holds such a file says which and how to re-download it (`forceDownload`, `--force-download`).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError, UsageError } from '@parry/core';
import { openSafetensorsFile } from './safetensors.js';

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
  /**
   * Download every file again (and any `.incomplete` from scratch), replacing what the cache holds once each new file
   * is complete and checked: the way out of a cache that holds a corrupt file. The CLI flag is `--force-download`.
   */
  forceDownload?: boolean;
  /** Seconds to wait for a server's response headers; default `PARRY_HUB_CONNECT_TIMEOUT_S` or 30. */
  connectTimeoutS?: number;
  /** A transfer that brings less than 1 KiB in this many seconds is stopped; default `PARRY_HUB_IDLE_TIMEOUT_S` or 60. */
  idleTimeoutS?: number;
  /** Size cap of metadata files (`*.json`, `*.txt`, tokenizer files); default {@link MAX_METADATA_BYTES}. */
  maxMetadataBytes?: number;
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
/**
 * Size cap of a metadata file from the Hub (config.json, tokenizer files, any `*.json` or `*.txt`): 50 MiB, three times
 * the largest real tokenizer.json we know of (XLM-R, 17 MB). Weights are not capped; their size is checked against the
 * server's announced size and sha256 instead.
 */
export const MAX_METADATA_BYTES = 50 * 1024 * 1024;
/** Defaults of the connect and idle timeouts, in seconds. */
export const DEFAULT_CONNECT_TIMEOUT_S = 30;
export const DEFAULT_IDLE_TIMEOUT_S = 60;
/** A transfer is idle when it brings fewer bytes than this in one idle-timeout window (a byte every 5 s is a stall). */
const MIN_PROGRESS_BYTES = 1024;

const HUB_ID = /^[\w.-]+(\/[\w.-]+)?$/;
const PICKLE_WEIGHTS = /\.(bin|pt|pth|ckpt)$/i;
const SHA256 = /^[0-9a-f]{64}$/i;
const PORTAL_HINT = 'a proxy or captive portal may be answering instead of the Hub: check the network or HF_ENDPOINT';

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

/** A timeout in seconds from the option, else the environment variable, else the default. */
function seconds(option: number | undefined, optionName: string, env: NodeJS.ProcessEnv, variable: string, fallback: number): number {
  if (option !== undefined) {
    if (!(Number.isFinite(option) && option > 0)) throw new UsageError(`${optionName} ${option} is not a positive number of seconds`);
    return option;
  }
  const raw = env[variable];
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = Number(raw.trim());
  if (!(Number.isFinite(v) && v > 0)) throw new UsageError(`${variable} '${raw}' is not a positive number of seconds; set it to e.g. 30 or unset it`);
  return v;
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

// ---------------------------------------------------------------------------------------------------------------
// The cache on disk: no link is written through, no link out of the cache is read.

function isInside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

function linkError(p: string): InputError {
  return new InputError(`${p} is a symbolic link; Parry never writes through links in its Hub cache: remove it and run again`);
}

/**
 * Create `dir` under the cache root one level at a time, refusing any existing level below the root that is a link
 * or not a directory, and a result that resolves outside the root. The root itself may be a link (a cache on another
 * disk); returns the root's real path.
 */
function ensureCacheDir(root: string, dir: string): string {
  fs.mkdirSync(root, { recursive: true });
  const realRoot = fs.realpathSync(root);
  let cur = root;
  for (const part of path.relative(root, dir).split(path.sep).filter(Boolean)) {
    cur = path.join(cur, part);
    let st = fs.lstatSync(cur, { throwIfNoEntry: false });
    if (!st) {
      try {
        fs.mkdirSync(cur);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      st = fs.lstatSync(cur);
    }
    if (st.isSymbolicLink()) throw linkError(cur);
    if (!st.isDirectory()) throw new InputError(`${cur} in the Hub cache is not a directory; remove it and run again`);
  }
  if (!isInside(realRoot, fs.realpathSync(dir))) throw new InputError(`${dir} resolves outside the Hub cache ${realRoot}; remove it and run again`);
  return realRoot;
}

/**
 * Where a cached file may be read from: undefined when absent; an error when it (or its directory) resolves outside
 * the cache root. Links inside the cache (the Hub's own `snapshots -> blobs` layout) are fine for reading.
 */
function cachedFile(root: string, file: string): { real: string; size: number } | undefined {
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  if (!st) return undefined;
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    throw new InputError(`${file} in the Hub cache is a broken symbolic link; remove it and run again`);
  }
  let realRoot: string;
  try {
    realRoot = fs.realpathSync(root);
  } catch {
    realRoot = path.resolve(root);
  }
  if (!isInside(realRoot, real)) {
    throw new InputError(
      `${file}${st.isSymbolicLink() ? ` is a symbolic link to ${real}` : ` resolves to ${real}`}, outside the Hub cache ${realRoot}; ` +
        'Parry only reads its own cache files: remove it and run again',
    );
  }
  const target = fs.statSync(real);
  if (!target.isFile()) throw new InputError(`${file} in the Hub cache is not a regular file; remove it and run again`);
  return { real, size: target.size };
}

// ---------------------------------------------------------------------------------------------------------------
// What a file must look like before it enters the cache.

function isMetadata(file: string): boolean {
  return /\.(json|txt)$/i.test(file);
}

const HTML_START = /^\s*<(!doctype\s+html|html|head|body)[\s>]/i;

/** Read at most `max` bytes of an fd-opened regular file. */
function readBounded(file: string, max: number): Buffer {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(size, max));
    let off = 0;
    while (off < buf.length) {
      const n = fs.readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Check a safetensors header without reading the tensors, with the parser's own bounded reader (length, header, and
 * offsets that cover the rest of the file exactly). Returns what is wrong, or undefined.
 */
function safetensorsProblem(file: string): string | undefined {
  try {
    openSafetensorsFile(file).close();
    return undefined;
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    const m = /not a valid safetensors file: (.*)$/.exec(e.message);
    return m ? m[1] : e.message;
  }
}

/** What is wrong with the content of `file` (named `name` on the Hub), or undefined when it may enter the cache. */
function contentProblem(file: string, name: string, maxMetadata: number): string | undefined {
  if (isMetadata(name)) {
    const size = fs.statSync(file).size;
    if (size > maxMetadata) return `${size} bytes, over the ${maxMetadata}-byte limit for metadata files`;
    const bytes = readBounded(file, maxMetadata);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    } catch {
      return 'not valid UTF-8 text';
    }
    if (/\.json$/i.test(name)) {
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch (e) {
        return `a valid JSON object: ${(e as Error).message.split('\n')[0].slice(0, 80)}`;
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return `a valid JSON object: it is ${Array.isArray(v) ? 'an array' : String(v === null ? 'null' : typeof v)}`;
      return undefined;
    }
    if (HTML_START.test(text)) return 'a valid text file: it is an HTML page';
    return undefined;
  }
  if (/\.safetensors$/i.test(name)) {
    if (HTML_START.test(readBounded(file, 256).toString('latin1'))) return 'a valid safetensors file: it is an HTML page';
    const why = safetensorsProblem(file);
    return why === undefined ? undefined : `a valid safetensors file: ${why}`;
  }
  return undefined;
}

/** Turn a problem from {@link contentProblem} into the words after "is" / "is not". */
function describeProblem(why: string): string {
  return why.startsWith('a valid ') ? `not ${why}` : why;
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
  const maxMetadata = options.maxMetadataBytes ?? MAX_METADATA_BYTES;
  const offline = offlineReason(options, env);
  const force = options.forceDownload === true;
  if (force && offline) {
    throw new UsageError(`--force-download needs the network but ${offline === 'offline mode is on' ? '--offline is given' : offline}; drop one of them`);
  }

  // Files already in the cache must be the cache's own and valid; a corrupt one is named with the way out.
  const present = new Set<string>();
  if (!force) {
    for (const f of [...required, ...optional]) {
      const file = path.join(dir, f);
      const cached = cachedFile(cacheDir, file);
      if (!cached) continue;
      const why = contentProblem(cached.real, f, maxMetadata);
      if (why !== undefined) {
        throw new InputError(
          `the cached ${file} is ${describeProblem(why)}; run again with --force-download to download it again (or delete ${dir})`,
        );
      }
      present.add(f);
    }
  }
  const missing = required.filter((f) => !present.has(f));
  if (missing.length === 0 && !force) return { dir, id, revision, fromCache: true };

  if (offline) {
    throw new InputError(
      `${id}@${revision} is not in the cache (${dir} lacks ${missing.join(', ')}) and ${offline}; ` +
        `run once online to download it${offline.endsWith('is set') ? ` (unset ${offline.split(' ')[0]})` : ''}`,
    );
  }

  const endpoint = (options.endpoint ?? env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  const token = options.token ?? env.HF_TOKEN;
  const ctx: Ctx = {
    fetch: options.fetch ?? globalThis.fetch,
    token,
    onProgress: options.onProgress,
    connectS: seconds(options.connectTimeoutS, 'connectTimeoutS', env, 'PARRY_HUB_CONNECT_TIMEOUT_S', DEFAULT_CONNECT_TIMEOUT_S),
    idleS: seconds(options.idleTimeoutS, 'idleTimeoutS', env, 'PARRY_HUB_IDLE_TIMEOUT_S', DEFAULT_IDLE_TIMEOUT_S),
    maxMetadata,
    force,
  };
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
    if (present.has(file)) continue;
    const dest = path.join(dir, file);
    ensureCacheDir(cacheDir, path.dirname(dest));
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
  connectS: number;
  idleS: number;
  maxMetadata: number;
  force: boolean;
}

function authHeaders(ctx: Ctx): Record<string, string> {
  return ctx.token ? { authorization: `Bearer ${ctx.token}` } : {};
}

function causeOf(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  const detail = err.cause?.code ?? err.cause?.message ?? err.message;
  return String(detail).split('\n')[0];
}

/** `fetch` that gives up when no response headers arrive within the connect timeout; the signal aborts the body too. */
async function request(ctx: Ctx, url: string, init: RequestInit, abort = new AbortController()): Promise<Response> {
  const timer = setTimeout(() => abort.abort(), ctx.connectS * 1000);
  try {
    return await ctx.fetch(url, { redirect: 'follow', ...init, signal: abort.signal });
  } catch (e) {
    if (abort.signal.aborted) {
      throw new InputError(
        `${url} did not answer within ${ctx.connectS} s; check the network or HF_ENDPOINT, or raise PARRY_HUB_CONNECT_TIMEOUT_S`,
      );
    }
    throw new InputError(`cannot reach ${url}: ${causeOf(e)}; check the network or HF_ENDPOINT, or use offline mode with a cached model`);
  } finally {
    clearTimeout(timer);
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

async function discard(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => undefined);
}

/** HEAD request: does the file exist on the Hub? */
async function exists(ctx: Ctx, url: string): Promise<boolean> {
  const res = await request(ctx, url, { method: 'HEAD', headers: authHeaders(ctx) });
  await discard(res);
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
 * Open the partial file for writing without following a link (and without blocking on a FIFO planted there). A fresh
 * start unlinks whatever is there and creates a new file (O_EXCL), so a hard link planted in the cache is never written
 * through; a resumed file must be a regular file with no other link to it.
 */
function openPartial(partial: string, append: boolean): number {
  const c = fs.constants;
  if (!append) fs.rmSync(partial, { force: true });
  const flags = c.O_WRONLY | c.O_CREAT | c.O_NOFOLLOW | c.O_NONBLOCK | (append ? c.O_APPEND : c.O_EXCL);
  let fd: number;
  try {
    fd = fs.openSync(partial, flags, 0o644);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'EMLINK') throw linkError(partial);
    if (code === 'ENXIO' || code === 'EISDIR') throw new InputError(`${partial} in the Hub cache is not a regular file; remove it and run again`);
    if (code === 'EEXIST') throw new InputError(`${partial} appeared while Parry was writing it (another download running?); run again`);
    throw e;
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile() || st.nlink > 1) {
    fs.closeSync(fd);
    throw new InputError(
      `${partial} in the Hub cache is ${st.isFile() ? `a hard link (${st.nlink} names for one file)` : 'not a regular file'}; ` +
        'Parry never writes through links in its Hub cache: remove it and run again',
    );
  }
  return fd;
}

function writeAll(fd: number, chunk: Uint8Array): void {
  let off = 0;
  while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
}

/**
 * Download `url` to `dest` through `dest.incomplete`, resuming a previous partial download with a Range request.
 * Returns 'missing' on 404; throws `InputError` on other errors, an interrupted or stalled transfer (the bytes received
 * are kept for the next attempt), or a size / sha256 / content mismatch (the partial is deleted).
 */
async function download(ctx: Ctx, url: string, dest: string, file: string, retried = false): Promise<'ok' | 'missing'> {
  const partial = `${dest}.incomplete`;
  const pst = fs.lstatSync(partial, { throwIfNoEntry: false });
  if (pst?.isSymbolicLink()) throw linkError(partial);
  if (pst && !pst.isFile()) throw new InputError(`${partial} in the Hub cache is not a regular file; remove it and run again`);
  const metadata = isMetadata(file);
  let have = pst?.size ?? 0;
  if (pst && ((ctx.force && !retried) || (metadata && have > ctx.maxMetadata))) {
    // --force-download starts every file from scratch; a metadata partial over the cap is not worth resuming.
    fs.rmSync(partial, { force: true });
    have = 0;
  }
  const headers: Record<string, string> = { ...authHeaders(ctx), 'accept-encoding': 'identity' };
  if (have > 0) headers.range = `bytes=${have}-`;
  const abort = new AbortController();
  const res = await request(ctx, url, { headers }, abort);

  if (res.status === 404) {
    await discard(res);
    return 'missing';
  }
  if (res.status === 416 && have > 0 && !retried) {
    // The partial is not a prefix the server can continue (e.g. the file changed): start over once.
    await discard(res);
    fs.rmSync(partial, { force: true });
    return download(ctx, url, dest, file, true);
  }
  if (res.status !== 200 && res.status !== 206) {
    await discard(res);
    throw statusError(url, res);
  }
  // Nothing below reads the body before these checks: a refused answer costs no bytes and keeps any earlier partial.
  const encoding = res.headers.get('content-encoding')?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') {
    abort.abort();
    await discard(res);
    throw new InputError(
      `${url} answered with Content-Encoding ${encoding} although the request asked for identity; Parry does not decompress downloads ` +
        `(a decompression bomb could fill the disk): ${PORTAL_HINT}`,
    );
  }
  const type = res.headers.get('content-type')?.trim().toLowerCase() ?? '';
  if (/^(text\/html|application\/xhtml\+xml)\b/.test(type) && !/\.x?html?$/i.test(file)) {
    abort.abort();
    await discard(res);
    throw new InputError(`${url} answered with an HTML page (Content-Type ${type.split(';')[0]}) instead of ${file}; nothing was cached; ${PORTAL_HINT}`);
  }

  let start = 0;
  const totals: number[] = [];
  const linked = intHeader(res, 'x-linked-size');
  if (linked !== undefined) totals.push(linked);
  const length = intHeader(res, 'content-length');
  if (res.status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range')?.trim() ?? '');
    if (!m || Number(m[1]) !== have) {
      abort.abort();
      await discard(res);
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
  const tooBig = (n: number): InputError =>
    new InputError(`${url}: ${file} is ${n} bytes, over the ${ctx.maxMetadata}-byte limit for metadata files; nothing was cached; ${PORTAL_HINT}`);
  if (metadata) {
    const biggest = Math.max(0, ...totals);
    if (biggest > ctx.maxMetadata) {
      abort.abort();
      await discard(res);
      throw tooBig(biggest);
    }
  }
  const sha = expectedSha(res);

  // Every chunk goes to disk as it arrives (a synchronous write per chunk): a cut, a stall or kill -9 keeps every byte
  // received, and the next run resumes from them.
  let received = start;
  const fd = openPartial(partial, start > 0);
  let stalled = false;
  let overCap = false;
  let windowStart = received;
  const idle = setInterval(() => {
    if (received - windowStart < MIN_PROGRESS_BYTES) {
      stalled = true;
      abort.abort();
    }
    windowStart = received;
  }, ctx.idleS * 1000);
  try {
    if (res.body) {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (metadata && received + value.length > ctx.maxMetadata) {
          overCap = true;
          abort.abort();
          await reader.cancel().catch(() => undefined);
          break;
        }
        writeAll(fd, value);
        received += value.length;
        ctx.onProgress?.({ file, received, total });
      }
    }
    fs.fsyncSync(fd);
  } catch (e) {
    if (stalled) {
      throw new InputError(
        `download of ${url} stalled: less than ${MIN_PROGRESS_BYTES} bytes in ${ctx.idleS} s (${received} bytes kept); ` +
          `run again to resume from ${path.basename(partial)}, or raise PARRY_HUB_IDLE_TIMEOUT_S on a slow link`,
      );
    }
    throw new InputError(
      `download of ${url} was interrupted after ${received} bytes (${causeOf(e)}); run again to resume from ${path.basename(partial)}`,
    );
  } finally {
    clearInterval(idle);
    fs.closeSync(fd);
  }
  if (overCap) {
    fs.rmSync(partial, { force: true });
    throw new InputError(`${url}: ${file} is over the ${ctx.maxMetadata}-byte limit for metadata files; nothing was cached; ${PORTAL_HINT}`);
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
  const why = contentProblem(partial, file, ctx.maxMetadata);
  if (why !== undefined) {
    fs.rmSync(partial, { force: true });
    throw new InputError(`${url} is ${describeProblem(why)}; nothing was cached; ${PORTAL_HINT}`);
  }
  try {
    fs.renameSync(partial, dest);
  } catch (e) {
    throw new InputError(`cannot move ${partial} to ${dest} (${(e as NodeJS.ErrnoException).code ?? causeOf(e)}); remove ${dest} and run again`);
  }
  return 'ok';
}

/** Options of {@link downloadProgressLines}. */
export interface ProgressLineOptions {
  /** Files smaller than this (as announced, or as received when the size is unknown) print nothing; default 10 MiB. */
  minBytes?: number;
  /** At most one line per file per this many milliseconds, besides the final one; default 2000. */
  everyMs?: number;
  /** Clock (tests); default `Date.now`. */
  now?: () => number;
}

const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

/**
 * An `onProgress` for {@link HubOptions} that writes plain progress lines (no animation, fine for logs and pipes) for
 * big files: `downloading model.safetensors: 120.0 / 440.0 MB (27%)`, at most every `everyMs`, and one line when the
 * file is complete. The CLI passes `(line) => process.stderr.write(line + '\n')`.
 */
export function downloadProgressLines(write: (line: string) => void, options: ProgressLineOptions = {}): NonNullable<HubOptions['onProgress']> {
  const minBytes = options.minBytes ?? 10 * 1024 * 1024;
  const everyMs = options.everyMs ?? 2000;
  const now = options.now ?? Date.now;
  const last = new Map<string, number>();
  return ({ file, received, total }) => {
    if ((total ?? received) < minBytes) return;
    const t = now();
    const complete = total !== undefined && received >= total;
    const prev = last.get(file);
    if (!complete && prev !== undefined && t - prev < everyMs) return;
    last.set(file, t);
    write(
      total === undefined
        ? `downloading ${file}: ${mb(received)}`
        : `downloading ${file}: ${(received / 1e6).toFixed(1)} / ${mb(total)} (${Math.floor((100 * received) / total)}%)${complete ? ', done' : ''}`,
    );
  };
}
