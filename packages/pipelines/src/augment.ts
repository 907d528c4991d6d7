/** `parry augment` as a library function: augment a text data set and write it in a format the loaders read back. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { guardOutput, UsageError, writeFileAtomic } from '@parry/core';
import type { TextDataset, TextExample } from '@parry/datasets';
import { augmentDataset, type AugmentMethod } from '@parry/defenses';
import { isEmbeddedTextData, loadTextSplit, type TextDataSpec } from './text-data.js';

export type AugmentOutputFormat = 'jsonl' | 'tsv' | 'csv';

export interface AugmentTextOptions extends TextDataSpec {
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
 * Read a text dataset split, augment it (EDA or character noise; labels unchanged), and write it atomically as
 * JSONL/TSV/CSV with text and label columns (`parry augment`). Returns what was written and the flags that load it.
 */
export async function augmentTextData(o: AugmentTextOptions): Promise<AugmentOutcome & { sourceName: string }> {
  const format = outputFormat(o.out);
  if (path.resolve(o.out) === path.resolve(o.data)) throw new UsageError(`-o ${o.out} is the input file; write the augmented copy to another file`);
  guardOutput(o.out, { kind: 'augmented-data', flag: '-o', force: o.force, protect: [{ path: o.data, flag: '--data' }, { path: o.dev, flag: '--dev' }] });
  const split = o.split ?? 'train';
  if (split !== 'train' && !isEmbeddedTextData(o.data) && fs.existsSync(o.data) && fs.statSync(o.data).isFile()) {
    throw new UsageError(`--split ${split} applies to SST-2 / GoEmotions directories; --data ${o.data} is a file and is read whole (drop --split)`);
  }
  const ds = await loadTextSplit(o, split);
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
  return { file: o.out, format, rows: aug.examples.length, source: ds.examples.length, loadFlags, sourceName: ds.source };
}
