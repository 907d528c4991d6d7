import { guardOutput, UsageError } from '@parry/core';
import { type Results, writeResults } from '@parry/metrics';
import { mergeResults } from '@parry/pipelines';
import type { Command } from 'commander';
import { out } from '../context.js';

export interface MergeCommandOptions {
  /** The shard outputs of one `parry eval --shard i/N` run, in any order. */
  files: string[];
  out: string;
  force?: boolean;
  json?: boolean;
}

/**
 * `parry merge`: check that the files are the N shards of one run (each once) and write the unsharded run's results
 * (validated, atomically). Refusals are one line with exit code 2, and write nothing.
 */
export function mergeCommand(o: MergeCommandOptions): Results {
  if (!o.files.length) throw new UsageError('no shard results given; pass the files of every `parry eval --shard i/N` run, e.g. parry merge runs/shard-*.json -o runs/results.json');
  guardOutput(o.out, { kind: 'results', flag: '-o', force: o.force, protect: o.files.map((path) => ({ path, flag: 'shard file' })) });
  const merged = writeResults(o.out, mergeResults(o.files));
  if (o.json) out(JSON.stringify(merged, null, 2));
  else out(`merged ${o.files.length} shard${o.files.length === 1 ? '' : 's'} (${merged.dataset.n} examples, ${merged.attacks.length} attack${merged.attacks.length === 1 ? '' : 's'}) into ${o.out}`);
  return merged;
}

/** The `parry merge` subcommand and its flags. */
export function registerMergeCommand(program: Command, _argv: string[]): void {
  program
    .command('merge')
    .description('combine the results files of `parry eval --shard i/N` (all N shards of one run) into one results.json, equal to the unsharded run')
    .argument('<shards...>', 'results files written by `parry eval --shard i/N`, one per shard, any order')
    .requiredOption('-o, --out <file>', 'merged results file to write')
    .option('--force', 'replace --out even when it exists and is not a Parry results file')
    .option('--json', 'print the merged results object as JSON on stdout')
    .action((files: string[], o: { out: string; force?: boolean; json?: boolean }) => {
      mergeCommand({ files, out: o.out, force: o.force, json: o.json });
    });
}
