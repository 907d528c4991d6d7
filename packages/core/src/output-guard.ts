/**
 * The one output-path guard: Parry only ever replaces what it wrote itself.
 *
 * Every directory Parry writes as a whole (a model, a report folder) carries a manifest, `.parry-output.json`, that
 * names its kind and the files Parry put there. Before a run starts (and again right before the swap), the output
 * path is checked:
 * - it must not be the filesystem root, the home directory, the working directory or one of its parents, nor be or
 *   contain a path the run reads or writes elsewhere (the data, the model it starts from, its checkpoints): refused
 *   even with `force`;
 * - its nearest existing parent must be a writable directory (checked first, so a long run never fails at the end);
 * - if it exists, it must be a Parry output of the same kind holding only files Parry wrote there; anything else is
 *   refused with one line that names the path and suggests `--force` or another path.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from './errors.js';
import { recoverInterrupted, writeDirAtomic } from './fs-atomic.js';

export const OUTPUT_MANIFEST = '.parry-output.json';
export const OUTPUT_MANIFEST_FORMAT = 'parry-output';

/** What Parry writes at an output path. Directories: models and reports; files: results and other single files. */
export type OutputPathKind = 'image-model' | 'text-model' | 'report' | 'results' | 'augmented-data' | 'file';

/** The files a report writes into its folder. */
export const REPORT_FILES = ['report.html', 'report.md'] as const;

const DIRECTORY_KINDS: ReadonlySet<OutputPathKind> = new Set(['image-model', 'text-model', 'report']);

const KIND_WORDS: Record<OutputPathKind, string> = {
  'image-model': 'a Parry image model folder',
  'text-model': 'a Parry text model folder',
  report: 'a Parry report folder',
  results: 'a Parry results file',
  'augmented-data': 'a data file written by `parry augment`',
  file: 'a file',
};

export interface OutputManifest {
  format: typeof OUTPUT_MANIFEST_FORMAT;
  version: 1;
  kind: OutputPathKind;
  /** Entries (file or folder names at the top level) that Parry wrote. */
  files: string[];
  createdAt: string;
}

export interface GuardOptions {
  kind: OutputPathKind;
  /** The flag that named the path, for messages (`--out`, `-o`). */
  flag?: string;
  /** Replace an existing path that is not a Parry output of this kind (never the cwd, its parents, or a protected path). */
  force?: boolean;
  /** Paths the run reads or writes elsewhere; the output may neither be one of them nor contain one. */
  protect?: Array<{ path: string | undefined; flag: string }>;
}

/** Files that Parry wrote in folders saved before the manifest existed (0.1: `parry train` image and text models). */
const LEGACY_FILES: Partial<Record<OutputPathKind, { marker: (dir: string) => boolean; files: ReadonlySet<string> }>> = {
  'image-model': {
    marker: (dir) => {
      try {
        return JSON.parse(fs.readFileSync(path.join(dir, 'parry.json'), 'utf8'))?.format === 'parry-model';
      } catch {
        return false;
      }
    },
    files: new Set(['model.json', 'weights.bin', 'parry.json', 'train-results.json']),
  },
  'text-model': {
    marker: (dir) => fs.existsSync(path.join(dir, 'parry_training.json')) && fs.existsSync(path.join(dir, 'config.json')),
    files: new Set([
      'config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt',
      'vocab.json', 'merges.txt', 'parry_training.json', 'train-results.json',
    ]),
  },
};

/** `p` relative to the working directory when that is shorter, for messages. */
function show(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel === '' ? '.' : rel.length < p.length && !rel.startsWith(`..${path.sep}..`) ? rel : p;
}

/** Resolve symlinks of the longest existing prefix, so `a/../b`, links and missing tails compare correctly. */
function canonical(p: string): string {
  const abs = path.resolve(p);
  let head = abs;
  const tail: string[] = [];
  while (!fs.existsSync(head)) {
    const parent = path.dirname(head);
    if (parent === head) break;
    tail.unshift(path.basename(head));
    head = parent;
  }
  let real = head;
  try {
    real = fs.realpathSync(head);
  } catch {
    // keep the resolved path
  }
  return path.join(real, ...tail);
}

/** True when `inner` is `outer` or lies below it. */
function within(inner: string, outer: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Read a folder's output manifest, or undefined when it has none (or an unreadable one). */
export function readOutputManifest(dir: string): OutputManifest | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, OUTPUT_MANIFEST), 'utf8'));
    if (m?.format === OUTPUT_MANIFEST_FORMAT && typeof m.kind === 'string' && Array.isArray(m.files) && m.files.every((f: unknown) => typeof f === 'string')) return m as OutputManifest;
  } catch {
    // no manifest
  }
  return undefined;
}

/**
 * Write the manifest of an output folder: by default every top-level entry in it is Parry's (a folder filled by
 * `writeOutputDir`); `files` names them instead (a report adds two files to a folder that may hold others).
 */
export function writeOutputManifest(dir: string, kind: OutputPathKind, files: string[] = fs.readdirSync(dir).filter((n) => n !== OUTPUT_MANIFEST)): OutputManifest {
  files = [...new Set(files)].sort();
  const manifest: OutputManifest = { format: OUTPUT_MANIFEST_FORMAT, version: 1, kind, files, createdAt: new Date().toISOString() };
  fs.writeFileSync(path.join(dir, OUTPUT_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Reports written before the manifest existed (Parry 0.1) carry this sentence in their header. */
function isLegacyReportFile(file: string): boolean {
  try {
    const head = fs.readFileSync(file, 'utf8').slice(0, 64 * 1024);
    return /results file\(s\)\. (Self-contained: no scripts, no network\.|Charts and image grids are in the HTML report\.)/.test(head);
  } catch {
    return false;
  }
}

/** `parry augment` output: a text/label/source_line header (CSV or TSV), or JSONL rows with a `source_line` key. */
function isAugmentedDataFile(file: string): boolean {
  try {
    const fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(64 * 1024);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    fs.closeSync(fd);
    const first = buf.subarray(0, n).toString('utf8').split('\n')[0];
    if (/^text([,\t])(pair\1)?label\1source_line\r?$/.test(first)) return true;
    const row = JSON.parse(first);
    return row !== null && typeof row === 'object' && 'text' in row && 'source_line' in row;
  } catch {
    return false;
  }
}

function isParryResultsFile(file: string): boolean {
  try {
    const st = fs.statSync(file);
    if (st.size > 256 * 1024 * 1024) return false; // the results reader's own limit (MAX_RESULTS_BYTES)
    const head = fs.readFileSync(file, 'utf8');
    return JSON.parse(head)?.schema === 'parry-results';
  } catch {
    return false;
  }
}

/**
 * Check that `target` may be written as an output of `kind` (see the module comment); throws a one-line
 * `UsageError` otherwise. Also settles what an interrupted earlier write of `target` left behind.
 */
export function guardOutput(target: string, o: GuardOptions): void {
  const flag = o.flag ?? '--out';
  const given = target;
  const abs = canonical(target);
  const refuse = (why: string, fix = `choose another path, or pass --force to replace it`) => {
    throw new UsageError(`${flag} ${given} ${why}; ${fix}`);
  };
  // never the root, home, the working directory or one of its parents, with or without --force
  const cwd = canonical(process.cwd());
  if (abs === path.parse(abs).root) refuse('is the filesystem root', 'give a new folder such as runs/out');
  if (abs === canonical(os.homedir())) refuse('is your home directory', 'give a new folder such as runs/out');
  if (within(cwd, abs)) refuse(abs === cwd ? 'is the working directory' : 'contains the working directory', 'give a new folder such as runs/out');
  for (const p of o.protect ?? []) {
    if (!p.path) continue;
    const other = canonical(p.path);
    if (within(other, abs)) {
      refuse(other === abs ? `is also ${p.flag} ${p.path}` : `contains ${p.flag} ${p.path}, which this run needs`, `write the output to another path`);
    }
  }
  // the parent must be a writable directory: find the nearest existing ancestor
  let parent = path.dirname(abs);
  while (!fs.existsSync(parent)) parent = path.dirname(parent);
  const pst = fs.statSync(parent);
  if (!pst.isDirectory()) refuse(`cannot be created: ${show(parent)} is a file`, 'choose a path whose parent is a folder');
  try {
    fs.accessSync(parent, fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    refuse(`cannot be written: ${show(parent)} is not writable`, 'choose a writable folder');
  }
  recoverInterrupted(abs);
  let st: fs.Stats;
  try {
    st = fs.lstatSync(abs);
  } catch {
    return; // a new path
  }
  if (o.force) return;
  const want = KIND_WORDS[o.kind];
  if (DIRECTORY_KINDS.has(o.kind)) {
    if (!st.isDirectory()) refuse(`is an existing ${st.isSymbolicLink() ? 'link' : 'file'}, not ${want}`);
    try {
      fs.accessSync(abs, fs.constants.W_OK | fs.constants.X_OK);
    } catch {
      refuse('is not writable', 'choose a writable folder');
    }
    const entries = fs.readdirSync(abs);
    if (entries.length === 0) return;
    const manifest = readOutputManifest(abs);
    if (manifest && manifest.kind !== o.kind) refuse(`holds ${KIND_WORDS[manifest.kind]}, not ${want}`);
    if (o.kind === 'report') {
      // a report writes report.html and report.md into the folder and leaves every other file alone
      const mine = new Set(manifest?.files ?? []);
      for (const f of REPORT_FILES) if (entries.includes(f) && !mine.has(f) && !isLegacyReportFile(path.join(abs, f))) refuse(`holds ${f}, which Parry did not write`);
      return;
    }
    let known: ReadonlySet<string>;
    if (manifest) known = new Set(manifest.files);
    else {
      const legacy = LEGACY_FILES[o.kind];
      if (!legacy || !legacy.marker(abs)) refuse(`exists and is not ${want}`);
      known = legacy!.files;
    }
    const foreign = entries.filter((e) => !known.has(e) && e !== OUTPUT_MANIFEST);
    if (foreign.length) refuse(`holds ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ` and ${foreign.length - 3} more` : ''}, which Parry did not write`, 'move them away, choose another path, or pass --force to replace the whole folder');
    return;
  }
  if (!st.isFile()) refuse(`is an existing ${st.isDirectory() ? 'folder' : 'special file'}, not ${want}`, 'give a file path');
  try {
    fs.accessSync(abs, fs.constants.W_OK);
  } catch {
    refuse('is not writable', 'choose a writable path');
  }
  if (o.kind === 'results' && isParryResultsFile(abs)) return;
  if (o.kind === 'augmented-data' && isAugmentedDataFile(abs)) return;
  refuse(o.kind === 'file' ? 'exists' : `exists and is not ${want}`);
}

/**
 * Write an output folder of `kind` atomically, with its manifest: `guardOutput` before filling and again right before
 * the swap (the path may have changed during a long run), then `writeDirAtomic`.
 */
export async function writeOutputDir(target: string, o: GuardOptions, fill: (dir: string) => Promise<void> | void): Promise<void> {
  guardOutput(target, o);
  await writeDirAtomic(
    target,
    async (tmp) => {
      await fill(tmp);
      writeOutputManifest(tmp, o.kind);
    },
    { beforeSwap: () => guardOutput(target, o) },
  );
}
