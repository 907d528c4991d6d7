/**
 * Text classification datasets: SST-2 (two common file layouts), GoEmotions (multi-label), and a generic
 * CSV / TSV / JSONL loader. Every example keeps the 1-based line of its source record, and malformed rows are either
 * reported with `file:line` (the default) or skipped and listed in `dataset.skipped`.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { CsvError, parse as parseCsv } from 'csv-parse/sync';
import { decodeUtf8, InputError, MAX_TEXT_BYTES, readInputBytes, UsageError } from '@parry/core';

/** Most classes a text dataset may have: label ids and name lists are checked against it before any table is sized. */
export const MAX_TEXT_LABELS = 100_000;

export interface TextExample {
  text: string;
  /** Second text of a pair (e.g. premise/hypothesis), when the source has one. */
  pair?: string;
  /** Single-label: class id in `0..labelNames.length-1`. */
  label?: number;
  /** Multi-label: sorted, distinct label ids. */
  labels?: number[];
  /** 1-based line (or record start line) in the source file. */
  line: number;
}

/** A malformed source row that `skipMalformed` left out. */
export interface SkippedRow {
  line: number;
  /** The problem and its fix, without the `file:line:` prefix. */
  message: string;
}

export interface TextDataset {
  name: string;
  /** The file the examples were read from. */
  source: string;
  multiLabel: boolean;
  labelNames: string[];
  /** How the label cells were read (`'index'` ids or `'name'`s); pass it with `labelNames` to read another split the same way. */
  labelMap?: 'index' | 'name';
  examples: TextExample[];
  /** Rows left out because `skipMalformed` was set (absent otherwise). */
  skipped?: SkippedRow[];
}

export type TextFileFormat = 'csv' | 'tsv' | 'jsonl';

export interface TextFileOptions {
  /** Default from the extension: `.csv`, `.tsv`/`.tab`, `.jsonl`/`.ndjson`. */
  format?: TextFileFormat;
  /** Column of the text: 0-based index (csv/tsv), or a header name (csv/tsv) / key or dot path (jsonl). */
  textColumn: string | number;
  /** Column of the optional second text of a pair. */
  pairColumn?: string | number;
  labelColumn: string | number;
  /** csv/tsv: the first record names the columns (default true). */
  header?: boolean;
  /** Each label cell holds several labels (separated by `labelSeparator`, or a JSON array in jsonl). */
  multiLabel?: boolean;
  /** Default `','`. */
  labelSeparator?: string;
  /** Names of the labels in id order. Required to map label names to fixed ids; also bounds label ids. */
  labelNames?: string[];
  /**
   * How label cells are read: `'index'` integer ids, `'name'` label names. Default: `'index'` when every label cell in
   * the file is an integer, `'name'` when none is; a mix is read as `'index'` (the names are reported) unless
   * `labelNames` is given. Without `labelNames`, names get ids in sorted (code-unit) order, not first-seen order, and
   * ids get names `String(id + labelBase)` (the id as written), up to the largest id seen.
   */
  labelMap?: 'index' | 'name';
  /**
   * Where `labelNames` came from, e.g. the training file when reading a dev split with the training split's names;
   * named in the errors about labels that are not among them.
   */
  labelsFrom?: string;
  /** The id the file uses for the first label (e.g. 1 for AG News' classes 1..4); subtracted from every id. Default 0. */
  labelBase?: number;
  /** csv/tsv: the number of columns every row must have (default: the header's, else the first row's). */
  columns?: number;
  /** Skip malformed rows and list them in `dataset.skipped` instead of throwing on the first one. */
  skipMalformed?: boolean;
  /** Dataset name (default: the file name). */
  name?: string;
  /**
   * How the caller's users spell each option in messages, e.g. `{ labelNames: '--label-names' }` for a CLI; `null`
   * for an option they cannot set, whose hints are then left out. Default: the option keys themselves.
   */
  optionNames?: Partial<Record<TextOptionKey, string | null>>;
}

/** The options of {@link TextFileOptions} that messages mention. */
export type TextOptionKey = 'format' | 'textColumn' | 'pairColumn' | 'labelColumn' | 'header' | 'multiLabel' | 'labelSeparator' | 'labelNames' | 'labelMap' | 'labelBase' | 'columns';

/** The user's name of option `key` (see `optionNames`), or null when they cannot set it. */
function opt(o: TextFileOptions, key: TextOptionKey): string | null {
  const names = o.optionNames;
  if (!names || !(key in names)) return key;
  return names[key] ?? null;
}

/** `"<option> <value>"` as the user writes it: `labelMap: 'name'` for the library, `--flag value` for a CLI. */
function setting(o: TextFileOptions, key: TextOptionKey, value: string, cliValue = value.replace(/'/g, '')): string | null {
  const name = opt(o, key);
  if (name === null) return null;
  return name.startsWith('-') ? `${name}${cliValue === 'true' ? '' : ` ${cliValue}`}` : `${name}: ${value}`;
}

/** One parsed row before labels are resolved. */
interface RawRow {
  line: number;
  text: string;
  pair?: string;
  /** Label cells, already split for multi-label. */
  labels: string[];
}

/**
 * Collects malformed rows. Rows are checked in phases (parsing, columns, labels), so without `skip` the error thrown is
 * the one on the earliest line, raised by `throwFirst()` once all phases ran.
 */
class RowErrors {
  readonly skipped: SkippedRow[] = [];
  constructor(
    readonly file: string,
    readonly skip: boolean,
  ) {}
  report(line: number, message: string): void {
    this.skipped.push({ line, message });
  }
  /** Sorts the rows by line; when not skipping, throws the first as `file:line: message`. */
  throwFirst(): void {
    this.skipped.sort((a, b) => a.line - b.line);
    const first = this.skipped[0];
    if (!this.skip && first) throw new InputError(`${this.file}:${first.line}: ${first.message}`);
  }
}

const INT_RE = /^[+-]?\d+$/;

/** Reads a text file through the bounded reader and decodes it as strict UTF-8 (bad bytes are `file:line` errors). */
function readText(file: string, what: string): string {
  return decodeUtf8(readInputBytes(file, file, what, MAX_TEXT_BYTES), file);
}

function formatFromExtension(file: string, o: TextFileOptions): TextFileFormat {
  const ext = extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.tsv' || ext === '.tab') return 'tsv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  const how = setting(o, 'format', "'csv', 'tsv' or 'jsonl'", 'csv, tsv or jsonl');
  throw new UsageError(`cannot tell the format of ${file} from its extension "${ext}"; ${how ? `pass ${how}` : 'name it .csv, .tsv or .jsonl'}`);
}

function columnLabel(c: string | number): string {
  return typeof c === 'number' ? `column ${c}` : `column "${c}"`;
}

/**
 * Splits csv/tsv source into records with their start lines. A quoting error becomes a malformed row spanning from the
 * line after the last good record to the line where it was detected; parsing resumes on the next line.
 */
function parseDelimited(src: string, format: 'csv' | 'tsv', errors: RowErrors): { record: string[]; line: number }[] {
  type Rec = { record: string[]; info: { lines: number }; raw: string };
  const out: { record: string[]; line: number }[] = [];
  const lines = src.split('\n');
  const lineStart: number[] = [0];
  for (let i = 0; i < lines.length - 1; i++) lineStart.push(lineStart[i] + lines[i].length + 1);
  let offset = 0; // lines before the chunk being parsed
  for (;;) {
    let lastEnd = offset;
    try {
      parseCsv(src.slice(lineStart[offset]), {
        delimiter: format === 'tsv' ? '\t' : ',',
        // Real TSVs (SST, GoEmotions) contain bare `"` inside the text: no quoting for TSV.
        quote: format === 'tsv' ? false : '"',
        info: true,
        raw: true,
        relax_column_count: true,
        skip_empty_lines: true,
        on_record: (r: unknown) => {
          const rec = r as Rec;
          // info.lines is the line where the record ended; step back over the newlines inside it.
          let nl = 0;
          for (let i = 0; i < rec.raw.length; i++) if (rec.raw.charCodeAt(i) === 10) nl++;
          if (rec.raw.endsWith('\n')) nl--;
          lastEnd = offset + rec.info.lines;
          out.push({ record: rec.record, line: lastEnd - nl });
          return null;
        },
      });
      return out;
    } catch (e) {
      const err = e as Error & { lines?: number; code?: string };
      // Every csv-parse error is about the file's quoting or layout (codes CSV_*, also INVALID_OPENING_QUOTE).
      if (!(e instanceof CsvError) && (typeof err.code !== 'string' || !err.code.startsWith('CSV_'))) throw e;
      const end = Math.min(lines.length, offset + Math.max(1, err.lines ?? 1));
      let start = lastEnd + 1;
      while (start < end && lines[start - 1].trim() === '') start++;
      const where = end > start ? ` (lines ${start}-${end})` : '';
      const why = oneLine(err.message).replace(/ at line \d+/, '');
      errors.report(start, `bad ${format.toUpperCase()} quoting${where}: ${why} (quote the whole cell and double inner quotes)`);
      if (end >= lines.length) return out;
      offset = end;
    }
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

function splitLabels(cell: string, multiLabel: boolean, sep: string): string[] {
  const cells = multiLabel ? cell.split(sep) : [cell];
  return cells.map((s) => s.trim()).filter((s) => s !== '');
}

function resolveColumn(c: string | number, header: string[] | null, file: string, k: TextOptionKey, o: TextFileOptions): number {
  const key = opt(o, k) ?? k;
  if (typeof c === 'number') {
    if (!Number.isInteger(c) || c < 0) throw new UsageError(`${key} ${c} for ${file} must be a 0-based column index or a header name`);
    return c;
  }
  if (!header) throw new UsageError(`${key} "${c}" for ${file} is a name but header is false; pass a 0-based column index`);
  const i = header.indexOf(c);
  if (i < 0) throw new UsageError(`${key} "${c}" is not a column of ${file} (columns: ${header.map((h) => JSON.stringify(h)).join(', ')})`);
  return i;
}

function readDelimitedRows(file: string, src: string, format: 'csv' | 'tsv', o: TextFileOptions, errors: RowErrors): RawRow[] {
  const recs = parseDelimited(src, format, errors);
  const useHeader = o.header ?? true;
  let header: string[] | null = null;
  let start = 0;
  if (useHeader) {
    if (recs.length === 0) throw new InputError(`${file} is empty (expected a header row and data rows)`);
    header = recs[0].record.map((h) => h.trim());
    start = 1;
  }
  const textCol = resolveColumn(o.textColumn, header, file, 'textColumn', o);
  const labelCol = resolveColumn(o.labelColumn, header, file, 'labelColumn', o);
  const pairCol = o.pairColumn === undefined ? undefined : resolveColumn(o.pairColumn, header, file, 'pairColumn', o);
  const width = o.columns ?? (header ? header.length : recs.length > start ? recs[start].record.length : 0);
  if (!Number.isInteger(width) || width < 1) throw new UsageError(`${opt(o, 'columns') ?? 'columns'} ${o.columns} for ${file} must be a positive integer`);
  const need = Math.max(textCol, labelCol, pairCol ?? -1) + 1;
  if (recs.length > start && width < need) {
    const which = o.columns !== undefined ? 'columns is' : header ? 'the header has' : `the first row (line ${recs[start].line}) has`;
    const check = (['textColumn', 'labelColumn', 'format'] as const).map((k) => opt(o, k)).filter((n) => n !== null).join('/');
    throw new UsageError(`${file}: ${which} ${width} columns but the options use column ${need - 1}; check ${check}`);
  }
  const multi = o.multiLabel ?? false;
  const sep = o.labelSeparator ?? ',';
  const rows: RawRow[] = [];
  for (let i = start; i < recs.length; i++) {
    const { record, line } = recs[i];
    if (record.length !== width) {
      const hint = format === 'tsv' ? 'a tab inside the text, or a missing cell' : 'unquoted commas in the text must be quoted';
      errors.report(line, `has ${record.length} columns, expected ${width} (${hint})`);
      continue;
    }
    const text = record[textCol];
    if (text.trim() === '') {
      errors.report(line, `empty text in ${columnLabel(o.textColumn)} (remove the row or fill in the text)`);
      continue;
    }
    const row: RawRow = { line, text, labels: splitLabels(record[labelCol], multi, sep) };
    if (pairCol !== undefined) row.pair = record[pairCol];
    rows.push(row);
  }
  return rows;
}

function getPath(obj: unknown, key: string | number): unknown {
  if (typeof key === 'number') return undefined;
  if (obj !== null && typeof obj === 'object' && key in obj) return (obj as Record<string, unknown>)[key];
  let cur: unknown = obj;
  for (const part of key.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function readJsonlRows(file: string, src: string, o: TextFileOptions, errors: RowErrors): RawRow[] {
  for (const [k, c] of [['textColumn', o.textColumn], ['labelColumn', o.labelColumn], ['pairColumn', o.pairColumn]] as const) {
    if (typeof c === 'number') throw new UsageError(`${opt(o, k) ?? k} ${c} for ${file}: JSONL columns are keys (e.g. "text" or "meta.label"), not indices`);
  }
  const multi = o.multiLabel ?? false;
  const sep = o.labelSeparator ?? ',';
  const rows: RawRow[] = [];
  const lines = src.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineText = lines[i].replace(/\r$/, '');
    const line = i + 1;
    if (lineText.trim() === '') continue;
    let obj: unknown;
    try {
      obj = JSON.parse(lineText);
    } catch (e) {
      errors.report(line, `bad JSON: ${oneLine((e as Error).message)} (each line must be one JSON object)`);
      continue;
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      errors.report(line, 'is not a JSON object (each line must be one {...} object)');
      continue;
    }
    const text = getPath(obj, o.textColumn);
    if (typeof text !== 'string') {
      errors.report(line, `key "${o.textColumn}" is ${text === undefined ? 'missing' : `not a string (${JSON.stringify(text)})`} (add the text)`);
      continue;
    }
    if (text.trim() === '') {
      errors.report(line, `empty text in key "${o.textColumn}" (remove the row or fill in the text)`);
      continue;
    }
    const row: RawRow = { line, text, labels: [] };
    if (o.pairColumn !== undefined) {
      const pair = getPath(obj, o.pairColumn);
      if (typeof pair !== 'string') {
        errors.report(line, `key "${o.pairColumn}" is ${pair === undefined ? 'missing' : 'not a string'} (add the second text)`);
        continue;
      }
      row.pair = pair;
    }
    const lab = getPath(obj, o.labelColumn);
    if (lab === undefined || lab === null) {
      errors.report(line, `key "${o.labelColumn}" is missing (add the label)`);
      continue;
    }
    if (Array.isArray(lab)) {
      if (!multi) {
        const multiHint = setting(o, 'multiLabel', 'true');
        errors.report(line, `key "${o.labelColumn}" is an array but the data is read as single-label (${multiHint ? `pass ${multiHint} or ` : ''}give one label)`);
        continue;
      }
      if (!lab.every((v) => typeof v === 'string' || typeof v === 'number')) {
        errors.report(line, `key "${o.labelColumn}" must hold label ids or names (strings or numbers)`);
        continue;
      }
      row.labels = lab.map((v) => String(v).trim());
    } else if (typeof lab === 'string' || typeof lab === 'number') {
      row.labels = splitLabels(String(lab), multi, sep);
    } else {
      errors.report(line, `key "${o.labelColumn}" is ${JSON.stringify(lab)}; expected a label id or name`);
      continue;
    }
    rows.push(row);
  }
  return rows;
}

/** Maps label cells to ids (see `TextFileOptions.labelMap`); returns the label names. */
function resolveLabels(
  rows: RawRow[],
  o: TextFileOptions,
  errors: RowErrors,
  file: string,
): { names: string[]; ids: (number[] | null)[]; mode: 'index' | 'name' } {
  const multi = o.multiLabel ?? false;
  const base = o.labelBase ?? 0;
  const namesOpt = opt(o, 'labelNames') ?? 'labelNames';
  if (!Number.isSafeInteger(base) || Math.abs(base) > MAX_TEXT_LABELS) throw new UsageError(`${opt(o, 'labelBase') ?? 'labelBase'} ${base} for ${file} must be an integer of at most ${MAX_TEXT_LABELS}`);
  if (o.labelNames && o.labelNames.length === 0) throw new UsageError(`${namesOpt} for ${file} is empty; give at least one name or leave it out`);
  if (o.labelNames && o.labelNames.length > MAX_TEXT_LABELS) {
    throw new UsageError(`${namesOpt} for ${file} has ${o.labelNames.length} label names, over the limit of ${MAX_TEXT_LABELS}`);
  }
  if (o.labelNames && new Set(o.labelNames).size !== o.labelNames.length) throw new UsageError(`${namesOpt} for ${file} has duplicate names`);
  let mode = o.labelMap;
  if (mode === undefined) {
    // All integer -> ids; none -> names; a mix is read as ids (so stray names are reported) unless labelNames are given.
    const cells = rows.flatMap((r) => r.labels);
    const ints = cells.filter((l) => INT_RE.test(l)).length;
    mode = ints === cells.length || (ints > 0 && !o.labelNames) ? 'index' : 'name';
  }
  if (mode !== 'index' && mode !== 'name') throw new UsageError(`${opt(o, 'labelMap') ?? 'labelMap'} "${String(mode)}" for ${file} is not 'index' or 'name'`);
  const ids: (number[] | null)[] = new Array<number[] | null>(rows.length).fill(null);
  let names: string[];
  const sepOpt = opt(o, 'labelSeparator');
  const fixLabel = multi ? `check the label cell and ${sepOpt ?? `the label separator "${o.labelSeparator ?? ','}"`}` : 'check the label cell';
  const byNameHint = setting(o, 'labelMap', "'name'") ?? (opt(o, 'labelNames')?.startsWith('-') ? `${opt(o, 'labelNames')} <names> to read labels by name` : null);
  const baseHint = setting(o, 'labelBase', '1');
  const namesHint = opt(o, 'labelNames');
  const from = o.labelsFrom;
  if (mode === 'name') {
    names = o.labelNames ? [...o.labelNames] : [...new Set(rows.flatMap((r) => r.labels))].sort();
    if (names.length > MAX_TEXT_LABELS) {
      throw new InputError(`${file} has ${names.length} distinct labels, over the limit of ${MAX_TEXT_LABELS} classes; check the label column`);
    }
    const byName = new Map(names.map((n, i) => [n, i]));
    rows.forEach((r, i) => {
      const out: number[] = [];
      for (const l of r.labels) {
        const id = byName.get(l);
        if (id === undefined) {
          const known = `${names.slice(0, 10).join(', ')}${names.length > 10 ? ', ...' : ''}`;
          if (from) return errors.report(r.line, `label "${l}" is not a label of ${from} (known: ${known}); use the same label names in every split`);
          return errors.report(r.line, `unknown label name "${l}" (known: ${known})`);
        }
        out.push(id);
      }
      ids[i] = out;
    });
  } else {
    const parsed: (number[] | null)[] = rows.map((r) => {
      const out: number[] = [];
      for (const l of r.labels) {
        if (!INT_RE.test(l)) {
          if (from) {
            const given = o.labelNames ?? [];
            const known = `${given.slice(0, 10).join(', ')}${given.length > 10 ? ', ...' : ''}`;
            errors.report(r.line, `label "${l}" is not a label of ${from} (known: ${known}); use the same labels in every split`);
            return null;
          }
          errors.report(r.line, `label "${l}" is not an integer id (${fixLabel}${byNameHint ? `, or pass ${byNameHint}` : ''})`);
          return null;
        }
        const id = Number(l) - base;
        // Checked before anything is sized by the largest id (a label table, a one-hot row).
        const limit = o.labelNames?.length ?? MAX_TEXT_LABELS;
        if (!Number.isSafeInteger(id) || id < 0 || id >= limit) {
          const range = `${base}..${limit - 1 + base}`;
          const fix = from
            ? `the labels of ${from}; use the same labels in every split`
            : o.labelNames
              ? `check ${namesHint ?? 'the label names'}`
              : `at most ${MAX_TEXT_LABELS} classes; check the label column`;
          const oneBased = base === 0 && !from && baseHint ? `, or set ${baseHint} for 1-based ids` : '';
          errors.report(r.line, `label id ${l.replace(/^\+/, '')} is out of range ${range} (${fix}${oneBased})`);
          return null;
        }
        out.push(id);
      }
      return out;
    });
    let largest = -1;
    for (const p of parsed) for (const v of p ?? []) largest = Math.max(largest, v);
    const count = o.labelNames?.length ?? largest + 1;
    names = o.labelNames ? [...o.labelNames] : Array.from({ length: count }, (_, i) => String(i + base));
    parsed.forEach((p, i) => {
      if (!p) return;
      const bad = p.find((v) => v < 0 || v >= count);
      if (bad !== undefined) {
        const fix = `${o.labelNames ? `check ${namesHint ?? 'the label names'}` : 'check the label'}${base === 0 && baseHint ? `, or set ${baseHint} for 1-based ids` : ''}`;
        errors.report(rows[i].line, `label id ${bad + base} is out of range ${base}..${count - 1 + base} (${fix})`);
        return;
      }
      ids[i] = p;
    });
  }
  rows.forEach((r, i) => {
    const got = ids[i];
    if (!got) return;
    if (got.length === 0) {
      ids[i] = null;
      errors.report(r.line, `no label (${fixLabel})`);
    }
  });
  return { names, ids, mode };
}

/**
 * Loads a CSV, TSV or JSONL file of labelled texts (see {@link TextFileOptions}). CSV is RFC-4180 quoted; TSV is read
 * without quoting (a `"` is text). Blank lines are ignored. Malformed rows throw an `InputError` `file:line: problem
 * (fix)`, or with `skipMalformed` are left out and listed in `dataset.skipped`.
 */
export function loadTextFile(file: string, options: TextFileOptions): TextDataset {
  const format = options.format ?? formatFromExtension(file, options);
  if (format !== 'csv' && format !== 'tsv' && format !== 'jsonl') {
    throw new UsageError(`format "${String(format)}" for ${file} is not one of csv, tsv, jsonl`);
  }
  if (options.labelSeparator === '') throw new UsageError(`labelSeparator for ${file} is empty; pass e.g. ','`);
  const src = readText(file, `a ${format.toUpperCase()} file of labelled texts`);
  const errors = new RowErrors(file, options.skipMalformed ?? false);
  const rows = format === 'jsonl' ? readJsonlRows(file, src, options, errors) : readDelimitedRows(file, src, format, options, errors);
  const { names, ids, mode } = resolveLabels(rows, options, errors, file);
  errors.throwFirst();
  const multi = options.multiLabel ?? false;
  const examples: TextExample[] = [];
  rows.forEach((r, i) => {
    const got = ids[i];
    if (!got) return;
    const ex: TextExample = { text: r.text, line: r.line };
    if (r.pair !== undefined) ex.pair = r.pair;
    if (multi) ex.labels = [...new Set(got)].sort((a, b) => a - b);
    else ex.label = got[0];
    examples.push(ex);
  });
  if (examples.length === 0) {
    const first = errors.skipped[0];
    throw new InputError(
      first
        ? `${file}: all ${errors.skipped.length} rows are malformed, e.g. line ${first.line}: ${first.message}`
        : `${file} has no data rows (expected ${format === 'jsonl' ? 'one JSON object per line' : 'rows of text and label'})`,
    );
  }
  const ds: TextDataset = { name: options.name ?? basename(file), source: file, multiLabel: multi, labelNames: names, labelMap: mode, examples };
  if (options.skipMalformed) ds.skipped = errors.skipped;
  return ds;
}

/** SST-2 label names, id order. */
export const SST2_LABEL_NAMES: readonly string[] = ['negative', 'positive'];

export type TextSplit = 'train' | 'dev' | 'test';

function checkSplit(split: string, fn: string): void {
  if (split !== 'train' && split !== 'dev' && split !== 'test') {
    throw new UsageError(`${fn}: split "${split}" is not one of train, dev, test`);
  }
}

/** Reads the harvardnlp `label<SPACE>sentence` layout. */
function loadStsa(file: string, split: string, skipMalformed: boolean): TextDataset {
  const src = readText(file, 'an SST-2 file of "<0|1> <sentence>" lines');
  const errors = new RowErrors(file, skipMalformed);
  const examples: TextExample[] = [];
  const lines = src.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const s = lines[i].replace(/\r$/, '');
    if (s.trim() === '') continue;
    const m = /^(\S+) (.*)$/.exec(s);
    if (!m) {
      errors.report(i + 1, 'expected "<0|1> <sentence>" (a label, one space, the text)');
      continue;
    }
    if (m[1] !== '0' && m[1] !== '1') {
      errors.report(i + 1, `label "${m[1]}" is not 0 or 1 (SST-2 is binary: 0 negative, 1 positive)`);
      continue;
    }
    if (m[2].trim() === '') {
      errors.report(i + 1, 'empty text (remove the row or fill in the text)');
      continue;
    }
    examples.push({ text: m[2], label: Number(m[1]), line: i + 1 });
  }
  errors.throwFirst();
  if (examples.length === 0) {
    const first = errors.skipped[0];
    throw new InputError(
      first
        ? `${file}: all ${errors.skipped.length} rows are malformed, e.g. line ${first.line}: ${first.message}`
        : `${file} has no data rows (expected "<0|1> <sentence>" lines)`,
    );
  }
  const ds: TextDataset = { name: `sst2-${split}`, source: file, multiLabel: false, labelNames: [...SST2_LABEL_NAMES], examples };
  if (skipMalformed) ds.skipped = errors.skipped;
  return ds;
}

/** Reads the clairett / GLUE `sentence<TAB>label` layout (a `sentence<TAB>label` header line is allowed). */
function loadSstTsv(file: string, split: string, skipMalformed: boolean): TextDataset {
  const first = readText(file, 'an SST-2 TSV of "<sentence>\\t<0|1>" lines').split('\n', 1)[0].replace(/\r$/, '');
  const header = first.trim().toLowerCase() === 'sentence\tlabel';
  const ds = loadTextFile(file, {
    format: 'tsv',
    header,
    textColumn: header ? 'sentence' : 0,
    labelColumn: header ? 'label' : 1,
    labelNames: [...SST2_LABEL_NAMES],
    labelMap: 'index',
    columns: 2,
    skipMalformed,
  });
  ds.name = `sst2-${split}`;
  return ds;
}

/** Picks the SST-2 layout of one file from its name, then its first line. */
function detectSstFormat(file: string): 'tsv' | 'stsa' {
  const name = basename(file);
  if (name.startsWith('stsa.')) return 'stsa';
  if (extname(name).toLowerCase() === '.tsv') return 'tsv';
  const first = readText(file, 'an SST-2 file').split('\n', 1)[0];
  if (/^[01] /.test(first)) return 'stsa';
  if (/\t/.test(first)) return 'tsv';
  throw new InputError(`${file}: cannot tell the SST-2 layout from line 1; pass format: 'tsv' (sentence<TAB>label) or 'stsa' (label<SPACE>sentence)`);
}

/**
 * Loads a split of SST-2 (labels `['negative', 'positive']`). `path` is a file, or a directory holding
 * `<split>.tsv` (clairett/GLUE: `sentence<TAB>label`) or `stsa.binary.<split>` (harvardnlp: `label<SPACE>sentence`).
 * With `format: 'auto'` (default) and both present, `stsa.binary.<split>` is used (it keeps the punctuation).
 */
export function loadSst2(
  path: string,
  split: TextSplit = 'train',
  options: { format?: 'auto' | 'tsv' | 'stsa'; skipMalformed?: boolean } = {},
): TextDataset {
  checkSplit(split, 'loadSst2');
  const format = options.format ?? 'auto';
  if (format !== 'auto' && format !== 'tsv' && format !== 'stsa') {
    throw new UsageError(`loadSst2: format "${String(format)}" is not one of auto, tsv, stsa`);
  }
  if (!existsSync(path)) {
    throw new InputError(`SST-2 path ${path} not found (expected a directory with ${split}.tsv or stsa.binary.${split}, or one such file)`);
  }
  let file = path;
  let fmt: 'tsv' | 'stsa';
  if (statSync(path).isDirectory()) {
    const tsv = join(path, `${split}.tsv`);
    const stsa = join(path, `stsa.binary.${split}`);
    if (format === 'tsv') [file, fmt] = [tsv, 'tsv'];
    else if (format === 'stsa') [file, fmt] = [stsa, 'stsa'];
    else if (existsSync(stsa)) [file, fmt] = [stsa, 'stsa'];
    else if (existsSync(tsv)) [file, fmt] = [tsv, 'tsv'];
    else throw new InputError(`SST-2 directory ${path} has neither ${split}.tsv nor stsa.binary.${split}`);
  } else {
    fmt = format === 'auto' ? detectSstFormat(path) : format;
  }
  const skip = options.skipMalformed ?? false;
  return fmt === 'stsa' ? loadStsa(file, split, skip) : loadSstTsv(file, split, skip);
}

/**
 * Loads a GoEmotions split: `<dir>/<split>.tsv` (`text<TAB>comma-separated label ids<TAB>comment id`, no header) with
 * label names from `<dir>/labels.txt` (one per line). Multi-label: each example has `labels`, sorted ids.
 */
export function loadGoEmotions(dir: string, split: TextSplit, options: { skipMalformed?: boolean } = {}): TextDataset {
  checkSplit(split, 'loadGoEmotions');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new InputError(`GoEmotions directory ${dir} not found (expected ${split}.tsv and labels.txt in it)`);
  }
  const labelsFile = join(dir, 'labels.txt');
  const labelNames = readText(labelsFile, 'the GoEmotions label names, one per line')
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (labelNames.length === 0) throw new InputError(`${labelsFile} has no label names (expected one per line)`);
  const ds = loadTextFile(join(dir, `${split}.tsv`), {
    format: 'tsv',
    header: false,
    textColumn: 0,
    labelColumn: 1,
    multiLabel: true,
    labelSeparator: ',',
    labelNames,
    labelMap: 'index',
    columns: 3,
    skipMalformed: options.skipMalformed,
  });
  ds.name = `goemotions-${split}`;
  return ds;
}

function labelsOf(ds: TextDataset, ex: TextExample): number[] {
  const ids = ds.multiLabel ? ex.labels : ex.label === undefined ? undefined : [ex.label];
  if (!ids) throw new UsageError(`dataset ${ds.name}: example at line ${ex.line} has no ${ds.multiLabel ? 'labels' : 'label'}`);
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= ds.labelNames.length) {
      throw new UsageError(`dataset ${ds.name}: example at line ${ex.line} has label id ${id} outside 0..${ds.labelNames.length - 1}`);
    }
  }
  return ids;
}

/** Most values in a multi-hot target table (2**28 float32, 1 GiB). */
const MAX_MULTI_HOT = 2 ** 28;

/** Targets as `[n * numLabels]` 0/1 floats, example-major (one-hot for single-label datasets). */
export function multiHot(ds: TextDataset): Float32Array {
  const k = ds.labelNames.length;
  if (ds.examples.length * k > MAX_MULTI_HOT) {
    throw new InputError(
      `${ds.source}: ${ds.examples.length} examples x ${k} labels is too large for multi-hot targets (over ${MAX_MULTI_HOT} values, 1 GiB); use fewer labels or fewer examples`,
    );
  }
  const out = new Float32Array(ds.examples.length * k);
  ds.examples.forEach((ex, i) => {
    for (const id of labelsOf(ds, ex)) out[i * k + id] = 1;
  });
  return out;
}

/** Number of examples carrying each label, in label id order. */
export function labelCounts(ds: TextDataset): number[] {
  const counts = new Array<number>(ds.labelNames.length).fill(0);
  for (const ex of ds.examples) for (const id of new Set(labelsOf(ds, ex))) counts[id]++;
  return counts;
}

/** Layouts of an unlabelled text corpus: one document per line, or a column / key of csv, tsv or jsonl rows. */
export type TextCorpusFormat = 'lines' | TextFileFormat;

export interface TextCorpusOptions {
  /** Default from the extension: `.csv`, `.tsv`/`.tab`, `.jsonl`/`.ndjson`; any other file is `lines`. */
  format?: TextCorpusFormat;
  /** csv/tsv/jsonl: the column (header name or 0-based index) or JSON key (dot path) of the text (default `text`). */
  textColumn?: string | number;
  /** csv/tsv: the first record names the columns (default true). */
  header?: boolean;
  /** How the caller's users spell `textColumn` in messages (e.g. `--text-column`). */
  textColumnName?: string;
}

/** The documents of an unlabelled corpus with the 1-based line each starts on. */
export interface TextCorpus {
  source: string;
  format: TextCorpusFormat;
  texts: string[];
  lines: number[];
}

/**
 * Reads an unlabelled text corpus (for masked-LM pre-training): a plain-text file with one document per line (blank
 * lines skipped), or the text column / key of a csv, tsv or jsonl file (rows with an empty text are skipped). A row
 * that cannot be read (bad quoting, too few columns, bad JSON, a text that is not a string) is an `InputError`
 * `file:line: problem (fix)`.
 */
export function loadTextCorpus(file: string, options: TextCorpusOptions = {}): TextCorpus {
  const ext = extname(file).toLowerCase();
  const format: TextCorpusFormat = options.format ?? (ext === '.csv' ? 'csv' : ext === '.tsv' || ext === '.tab' ? 'tsv' : ext === '.jsonl' || ext === '.ndjson' ? 'jsonl' : 'lines');
  if (!['lines', 'csv', 'tsv', 'jsonl'].includes(format)) throw new UsageError(`format "${String(format)}" for ${file} is not one of lines, csv, tsv, jsonl`);
  const what = format === 'lines' ? 'a text file, one document per line' : `a ${format.toUpperCase()} file of texts`;
  const src = readText(file, what);
  const errors = new RowErrors(file, false);
  const texts: string[] = [];
  const lines: number[] = [];
  const keyName = options.textColumnName ?? 'textColumn';
  const column = options.textColumn ?? 'text';
  if (format === 'lines') {
    src.split('\n').forEach((l, i) => {
      const t = l.replace(/\r$/, '');
      if (t.trim() === '') return;
      texts.push(t);
      lines.push(i + 1);
    });
  } else if (format === 'jsonl') {
    if (typeof column === 'number') throw new UsageError(`${keyName} ${column} for ${file}: JSONL columns are keys (e.g. "text"), not indices`);
    src.split('\n').forEach((l, i) => {
      const t = l.replace(/\r$/, '');
      if (t.trim() === '') return;
      let obj: unknown;
      try {
        obj = JSON.parse(t);
      } catch (e) {
        return errors.report(i + 1, `bad JSON: ${oneLine((e as Error).message)} (each line must be one JSON object)`);
      }
      if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return errors.report(i + 1, 'is not a JSON object (each line must be one {...} object)');
      const text = getPath(obj, column);
      if (typeof text !== 'string') return errors.report(i + 1, `key "${column}" is ${text === undefined ? 'missing' : `not a string (${JSON.stringify(text)})`} (pass ${keyName} <key> naming the text)`);
      if (text.trim() === '') return;
      texts.push(text);
      lines.push(i + 1);
    });
  } else {
    const recs = parseDelimited(src, format, errors);
    const header = options.header ?? true;
    const names = header && recs.length ? recs[0].record.map((h) => h.trim()) : null;
    const o: TextFileOptions = { textColumn: column, labelColumn: 0, optionNames: { textColumn: keyName } };
    const col = resolveColumn(column, names, file, 'textColumn', o);
    for (const { record, line } of recs.slice(header ? 1 : 0)) {
      if (record.length <= col) {
        errors.report(line, `has ${record.length} columns, the text is ${columnLabel(column)} (${format === 'tsv' ? 'a missing cell' : 'unquoted commas in the text must be quoted'})`);
        continue;
      }
      if (record[col].trim() === '') continue;
      texts.push(record[col]);
      lines.push(line);
    }
  }
  errors.throwFirst();
  if (texts.length === 0) throw new InputError(`${file} has no texts (expected ${what})`);
  return { source: file, format, texts, lines };
}
