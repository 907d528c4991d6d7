import * as fs from 'node:fs';
import * as path from 'node:path';
import { guardOutput, UsageError, writeFileAtomic } from '@parry/core';
import type { TextDataset, TextExample } from '@parry/datasets';
import { augmentDataset, type AugmentMethod } from '@parry/defenses';
import { type Command, Option } from 'commander';
import { log, out } from '../context.js';
import { parseInteger } from '../parse.js';
import { loadTextSplit, type TextDataFormat, type TextDataSpec } from '@parry/pipelines';
import { wrap } from '../options.js';

export type AugmentOutputFormat = 'jsonl' | 'tsv' | 'csv';

export interface AugmentCommandOptions extends TextDataSpec {
  /** Split of an SST-2 / GoEmotions directory (a file is read as it is). Default `train`. */
  split?: 'train' | 'dev' | 'test';
  method: AugmentMethod;
  numAug: number;
  alphaSr: number;
  alphaRi: number;
  alphaRs: number;
  pRd: number;
  charP: number;
  seed: number;
  /** Write the original example before its copies (default true). */
  keepOriginal?: boolean;
  /** Output file; its extension picks the format: `.jsonl`/`.ndjson`, `.tsv`/`.tab` or `.csv`. */
  out: string;
  /** Replace `out` even when it exists and is not a file written by `parry augment`. */
  force?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export interface AugmentOutcome {
  file: string;
  format: AugmentOutputFormat;
  /** Rows written (originals included when kept). */
  rows: number;
  /** Examples read from the input. */
  source: number;
  /** Flags that load the written file back with the same label ids (`parry train --data <file> ...`). */
  loadFlags: string[];
}

/** Output format from the extension of `-o`. */
export function outputFormat(file: string): AugmentOutputFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.tsv' || ext === '.tab') return 'tsv';
  if (ext === '.csv') return 'csv';
  throw new UsageError(`-o ${file}: unknown output type "${ext}"; end the file name with .jsonl, .tsv or .csv`);
}

/** Label cell(s) of an example as names, or as ids. */
function labelValues(ds: TextDataset, ex: TextExample, byName: boolean): string[] {
  const ids = ds.multiLabel ? (ex.labels ?? []) : ex.label === undefined ? [] : [ex.label];
  return ids.map((id) => (byName ? ds.labelNames[id] : String(id)));
}

const csvCell = (s: string) => `"${s.replace(/"/g, '""')}"`;
/** TSV files are read without quoting: tabs and line breaks inside a text become spaces. */
const tsvCell = (s: string) => s.replace(/[\t\r\n]+/g, ' ');

/** Label names that can go into a label cell and into `--label-names` (no comma, tab, line break or quote). */
function namesAreSafe(names: readonly string[]): boolean {
  return names.length > 0 && names.every((n) => n !== '' && n.trim() === n && !/[,\t\r\n"]/.test(n));
}

/**
 * The augmented dataset as text: JSONL objects `{text, pair?, label, source_line}` (label: a name, or an array of names
 * for multi-label), or TSV/CSV with a header `text[, pair], label, source_line` (multi-label: comma-separated names).
 * Label names are written when they are safe and not all integers (which the loader would read as ids); else label ids.
 */
export function formatAugmented(ds: TextDataset, format: AugmentOutputFormat): { content: string; byName: boolean } {
  const byName = namesAreSafe(ds.labelNames) && !ds.labelNames.every((n) => /^[+-]?\d+$/.test(n));
  const hasPair = ds.examples.some((e) => e.pair !== undefined);
  const lines: string[] = [];
  if (format === 'jsonl') {
    for (const ex of ds.examples) {
      const labels = labelValues(ds, ex, byName).map((v) => (byName ? v : Number(v)));
      const row: Record<string, unknown> = { text: ex.text };
      if (hasPair) row.pair = ex.pair ?? '';
      row.label = ds.multiLabel ? labels : labels[0];
      row.source_line = ex.line;
      lines.push(JSON.stringify(row));
    }
  } else {
    const cell = format === 'csv' ? csvCell : tsvCell;
    const sep = format === 'csv' ? ',' : '\t';
    lines.push(['text', ...(hasPair ? ['pair'] : []), 'label', 'source_line'].join(sep));
    for (const ex of ds.examples) {
      const label = labelValues(ds, ex, byName).join(',');
      lines.push([cell(ex.text), ...(hasPair ? [cell(ex.pair ?? '')] : []), cell(label), String(ex.line)].join(sep));
    }
  }
  return { content: lines.length > 0 ? `${lines.join('\n')}\n` : '', byName };
}

/**
 * `parry augment`: read a text dataset split, augment it (EDA or character noise; labels unchanged), and write it
 * atomically as JSONL/TSV/CSV with text and label columns. Prints the number of rows written.
 */
export function augmentCommand(o: AugmentCommandOptions): AugmentOutcome {
  const format = outputFormat(o.out);
  if (path.resolve(o.out) === path.resolve(o.data)) throw new UsageError(`-o ${o.out} is the input file; write the augmented copy to another file`);
  guardOutput(o.out, { kind: 'augmented-data', flag: '-o', force: o.force, protect: [{ path: o.data, flag: '--data' }, { path: o.dev, flag: '--dev' }] });
  const split = o.split ?? 'train';
  if (split !== 'train' && fs.existsSync(o.data) && fs.statSync(o.data).isFile()) {
    throw new UsageError(`--split ${split} applies to SST-2 / GoEmotions directories; --data ${o.data} is a file and is read whole (drop --split)`);
  }
  const ds = loadTextSplit(o, split);
  const unlabelled = ds.examples.find((e) => (ds.multiLabel ? !e.labels?.length : e.label === undefined));
  if (unlabelled) throw new UsageError(`--data ${o.data}: the example on line ${unlabelled.line} of ${ds.source} has no label; augment a labelled split (e.g. --split train)`);
  const aug = augmentDataset(ds, {
    method: o.method,
    numAug: o.numAug,
    alphaSr: o.alphaSr,
    alphaRi: o.alphaRi,
    alphaRs: o.alphaRs,
    pRd: o.pRd,
    charP: o.charP,
    seed: o.seed,
    keepOriginal: o.keepOriginal ?? true,
  });
  const { content } = formatAugmented(aug, format);
  writeFileAtomic(o.out, content);
  const loadFlags = [
    '--data', o.out, '--text-column', 'text', ...(aug.examples.some((e) => e.pair !== undefined) ? ['--pair-column', 'pair'] : []),
    '--label-column', 'label', ...(namesAreSafe(aug.labelNames) ? ['--label-names', aug.labelNames.join(',')] : []), ...(aug.multiLabel ? ['--multi-label'] : []),
  ];
  const outcome: AugmentOutcome = { file: o.out, format, rows: aug.examples.length, source: ds.examples.length, loadFlags };
  if (o.json) out(JSON.stringify(outcome));
  else {
    out(`wrote ${outcome.rows} rows to ${o.out} (${outcome.source} examples from ${ds.source}, ${o.method} x${o.numAug}${o.keepOriginal === false ? '' : ' + originals'})`);
    if (!o.quiet) log(`read it back (parry train --model ...) with: ${loadFlags.map((f) => (/[\s'"\\]/.test(f) ? JSON.stringify(f) : f)).join(' ')}`);
  }
  return outcome;
}

function parseRate01(flag: string, v: string): number {
  const x = Number(v);
  if (!(v.trim() !== '' && Number.isFinite(x) && x >= 0 && x <= 1)) throw new UsageError(`${flag} must be a number in [0, 1], got "${v}"`);
  return x;
}

/** The `parry augment` subcommand and its flags. */
export function registerAugmentCommand(program: Command, _argv: string[]): void {
  program
    .command('augment')
    .description('write an augmented copy of a text dataset (EDA with WordNet synonyms, or character noise); labels are kept')
    .requiredOption('--data <path>', 'SST-2 / GoEmotions directory, or a csv/tsv/jsonl file')
    .addOption(new Option('--split <name>', 'split of a dataset directory').choices(['train', 'dev', 'test']).default('train'))
    .addOption(new Option('--data-format <format>', 'text data format (default: detected)').choices(['auto', 'sst2', 'goemotions', 'csv', 'tsv', 'jsonl']))
    .option('--text-column <col>', 'csv/tsv/jsonl: column (header name or 0-based index) or JSON key of the text')
    .option('--pair-column <col>', 'csv/tsv/jsonl: column of the second text of a pair (copied unchanged)')
    .option('--label-column <col>', 'csv/tsv/jsonl: column of the label(s)')
    .option('--label-names <names>', 'csv/tsv/jsonl: comma-separated label names in id order')
    .option('--multi-label', 'csv/tsv/jsonl: label cells hold several comma-separated labels')
    .addOption(new Option('--method <name>', 'eda (synonym replacement, insertion, swap, deletion) or char (typos)').choices(['eda', 'char']).default('eda'))
    .option('--num-aug <n>', 'augmented copies per example', wrap('--num-aug', (f, v) => parseInteger(f, v)), 4)
    .option('--alpha-sr <x>', 'eda: fraction of words replaced by a synonym (0 = off)', wrap('--alpha-sr', parseRate01), 0.1)
    .option('--alpha-ri <x>', 'eda: synonym insertions as a fraction of the words (0 = off)', wrap('--alpha-ri', parseRate01), 0.1)
    .option('--alpha-rs <x>', 'eda: word swaps as a fraction of the words (0 = off)', wrap('--alpha-rs', parseRate01), 0.1)
    .option('--p-rd <x>', 'eda: probability of deleting each word (0 = off)', wrap('--p-rd', parseRate01), 0.1)
    .option('--char-p <x>', 'char: probability that a word of 3+ characters gets one typo', wrap('--char-p', parseRate01), 0.1)
    .option('--seed <n>', 'random seed', wrap('--seed', (f, v) => parseInteger(f, v, 0)), 0)
    .option('--no-original', 'write only the augmented copies (default: each original, then its copies)')
    .requiredOption('-o, --out <file>', 'file to write: .jsonl, .tsv or .csv (text, label and source_line columns)')
    .option('--force', 'replace -o even when it exists and is not a file written by `parry augment`')
    .option('--json', 'print the outcome as JSON')
    .option('-q, --quiet', 'no hint on stderr')
    .action((o) => {
      augmentCommand({ ...o, format: o.dataFormat as TextDataFormat | undefined, keepOriginal: o.original !== false });
    });
}
