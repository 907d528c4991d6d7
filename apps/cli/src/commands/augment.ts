import { augmentTextData, type AugmentOutcome, type AugmentTextOptions } from '@parry/pipelines';
import { type Command, Option } from 'commander';
import { log, out } from '../context.js';
import { parseInteger } from '../parse.js';
import type { TextDataFormat } from '@parry/pipelines';
import { wrap } from '../options.js';
import { UsageError } from '@parry/core';

export interface AugmentCommandOptions extends AugmentTextOptions {
  json?: boolean;
  quiet?: boolean;
}

/** `parry augment`: calls `augmentTextData` and prints the number of rows written and how to load them back. */
export async function augmentCommand(o: AugmentCommandOptions): Promise<AugmentOutcome> {
  const { sourceName, ...outcome } = await augmentTextData(o);
  if (o.json) out(JSON.stringify(outcome));
  else {
    out(`wrote ${outcome.rows} rows to ${o.out} (${outcome.source} examples from ${sourceName}, ${o.method} x${o.numAug}${o.keepOriginal === false ? '' : ' + originals'})`);
    if (!o.quiet) log(`read it back (parry train --model ...) with: ${outcome.loadFlags.map((f) => (/[\s'"\\]/.test(f) ? JSON.stringify(f) : f)).join(' ')}`);
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
    .requiredOption('--data <path>', 'SST-2 / GoEmotions directory, a csv/tsv/jsonl file, or spam (the embedded SpamAssassin corpus)')
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
    .action(async (o) => {
      await augmentCommand({ ...o, format: o.dataFormat as TextDataFormat | undefined, keepOriginal: o.original !== false });
    });
}
