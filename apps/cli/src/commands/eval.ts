import * as fs from 'node:fs';
import { transformersJsVictim } from '@parry/attacks';
import { recoverInterrupted, UsageError } from '@parry/core';
import type { AttackSummary, Results } from '@parry/metrics';
import { evaluateImageModel, isTextModel, modelTruncation, parseShard, type ShardSpec } from '@parry/pipelines';
import Table from 'cli-table3';
import { type Command, Option } from 'commander';
import { hooks, out, pluginsFrom, refuseFlags } from '../context.js';
import { backendOption, threadsOption, wrap } from '../options.js';
import { parseInteger, parseNumberList } from '../parse.js';
import { evalTextCommand, pct } from './text.js';

export interface EvalCommandOptions {
  model: string;
  attacks: string[];
  epsilons: number[];
  n: number;
  seed: number;
  batchSize: number;
  out: string;
  data?: string;
  opt?: string[];
  force?: boolean;
  plugin?: string[];
  backend?: string;
  json?: boolean;
  quiet?: boolean;
  argv?: string[];
  /** `--name`: the run's name in results and reports. */
  runName?: string;
  /** `--shard i/N`: attack only this shard's block of the examples (merge the shards with `parry merge`). */
  shard?: ShardSpec;
}

/** `parry eval` on an image model: clean accuracy, then every attack at every epsilon; prints the table. */
export async function evalCommand(o: EvalCommandOptions): Promise<Results> {
  const r = await evaluateImageModel({ ...o, optionPairs: o.opt, command: o.argv, ...pluginsFrom(o.plugin), ...hooks(o.quiet) });
  if (o.json) out(JSON.stringify(r.results, null, 2));
  else {
    out(renderTable(r.cleanAccuracy, r.summaries));
    for (const line of renderStages(r.summaries)) out(line);
    out(`results written to ${o.out}`);
  }
  return r.results;
}

/** The robustness table printed by `parry eval`. */
export function renderTable(cleanAccuracy: number, summaries: AttackSummary[]): string {
  const table = new Table({
    head: ['attack', 'norm', 'eps', 'clean acc', 'robust acc', 'success rate', 'mean Linf', 'mean L2', 'grad evals', 'seconds'],
    style: { head: [], border: [] },
  });
  for (const s of summaries) {
    for (const e of s.perEpsilon) {
      table.push([
        s.attack,
        s.norm,
        String(e.epsilon),
        pct(cleanAccuracy),
        pct(e.robustAccuracy),
        pct(e.attackSuccessRate),
        e.linf ? e.linf.mean.toFixed(4) : '-',
        e.l2 ? e.l2.mean.toFixed(3) : '-',
        String(s.gradientEvaluations),
        (s.wallTimeMs / 1000).toFixed(1),
      ]);
    }
  }
  return table.toString();
}

/** One line per epsilon of each composed attack: robust accuracy after every stage (AutoAttack's report). */
export function renderStages(summaries: AttackSummary[]): string[] {
  return summaries.flatMap((s) =>
    s.perEpsilon
      .filter((e) => e.stages?.length)
      .map((e) => `${s.attack} eps ${e.epsilon}: ${e.stages!.map((st) => `${st.label} ${pct(st.robustAccuracy)}`).join(' -> ')}`),
  );
}

const IMAGE_ONLY = ['--eps', '--version'];
const TEXT_ONLY = [
  '--split', '--data-format', '--dev', '--test', '--text-column', '--pair-column', '--label-column', '--label-names', '--multi-label', '--offline', '--force-download',
  '--query-budget', '--word-vectors', '--sentence-encoder', '--masked-lm', '--black-box', '--goal', '--truncation', '--runtime',
];

/** A Hugging Face folder, or a Hub id (`org/name`) that is not a local path. */
const isTextTarget = (model: string) => isTextModel(model) || (!fs.existsSync(model) && /^[\w.-]+\/[\w.-]+$/.test(model) && !model.startsWith('runs/'));

/** The `parry eval` subcommand and its flags. */
export function registerEvalCommand(program: Command, argv: string[]): void {
  program
    .command('eval')
    .description('evaluate a saved model: clean metrics, then attacks (image: at several epsilons; text: recipes) into results.json')
    .option('-m, --model <dir>', 'model directory written by `parry train` (a Hugging Face folder or Hub id: a text model)', 'runs/mnist-cnn')
    .option('-a, --attack <names>', 'comma-separated attacks (see `parry list`; image default fgsm,pgd; text: none, clean metrics only)')
    .option('-e, --eps <list>', 'image: comma-separated epsilons (default 0.1,0.2,0.3)')
    .option('-n, --n <count>', 'examples to evaluate and attack (image: held-out digits, default 1000; text: the first n of the split, default all, 100 with --attack)', wrap('--n', (f, v) => parseInteger(f, v)))
    .option('--limit <n>', 'the same as -n', wrap('--limit', (f, v) => parseInteger(f, v)))
    .option('--seed <n>', 'attack seed', wrap('--seed', (f, v) => parseInteger(f, v, 0)), 0)
    .option('--batch-size <n>', 'examples per attack batch (text: texts per model call)', wrap('--batch-size', (f, v) => parseInteger(f, v)))
    .option('--opt <attack.key=value>', 'attack option, repeatable (e.g. --opt pgd.steps=10, --opt pwws.maxModificationRate=0.1)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .addOption(new Option('--version <name>', 'image: AutoAttack version (same as --opt autoattack.version=<name>)').choices(['standard', 'plus', 'rand', 'custom']))
    .option('--goal <goal>', 'text attacks: untargeted | targeted:K | flip-label:K | flip-any-gold | remove-all-gold (K: a label id; default untargeted, multi-label flip-any-gold)')
    .option('--data <dir>', 'evaluate on the MNIST IDX test split in <dir> instead of the model\'s own held-out split (text: dataset, default the one it was trained on)')
    .addOption(new Option('--split <name>', 'text: split to evaluate (default dev; test with --test)').choices(['train', 'dev', 'test']))
    .addOption(new Option('--data-format <format>', 'text data format (default: detected)').choices(['auto', 'sst2', 'goemotions', 'csv', 'tsv', 'jsonl']))
    .option('--dev <file>', 'text: the dev file to evaluate (csv/tsv/jsonl; without --data, in the columns the model was trained with)')
    .option('--test <file>', 'text: the test file to evaluate with --split test (csv/tsv/jsonl; default: the one given to `parry train --test`)')
    .option('--text-column <col>', 'text: column or JSON key of the text (with --data)')
    .option('--pair-column <col>', 'text: column of the second text of a pair (with --data)')
    .option('--label-column <col>', 'text: column of the label(s) (with --data)')
    .option('--label-names <names>', 'text: comma-separated label names in id order (with --data)')
    .option('--multi-label', 'text: label cells hold several labels (with --data)')
    .option('--offline', 'text: never download; use the Hub cache only')
    .option('--force-download', 'text: download a Hub model again even when it is cached (the cached files are replaced once the new ones are checked)')
    .option('--query-budget <n>', 'text attacks: model queries per example, the original included', wrap('--query-budget', (f, v) => parseInteger(f, v)))
    .option('--word-vectors <file>', 'text attacks: GloVe-format word vectors for textfooler (default: the model\'s own input embeddings)')
    .option('--sentence-encoder <folder>', 'text attacks: sentence encoder of textfooler\'s similarity check: a Parry / Hugging Face encoder folder (mean-pooled) or an ONNX sentence-embedding folder such as a sentence-transformers export (default: mean word vectors)')
    .option('--masked-lm <folder>', 'text attacks: masked language model folder for bae and bert-attack (e.g. bert-base-uncased, or one written by parry pretrain)')
    .option('--black-box', 'text attacks: query the folder\'s onnx/model.onnx through transformers.js (scores only) instead of the tfjs encoder')
    .addOption(new Option('--truncation <strategy>', 'text: which tokens of a text over the token limit the model sees: head (the first), tail (the last) or head+tail (a quarter of the budget from the start, the rest from the end) (default: the strategy the model was trained with, else head)').choices(['head', 'tail', 'head+tail']))
    .addOption(new Option('--runtime <engine>', 'text: where the model\'s forward passes run: tfjs (default) or onnx (exported in-process, scored on ONNX Runtime; gradients stay in tfjs; needs onnxruntime-node)').choices(['tfjs', 'onnx']))
    .option('--plugin <module>', 'load plugins from a module (package name or path), repeatable', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--shard <i/N>', 'attack only shard i of N (0-based: 0/N to N-1/N), a fixed contiguous block of whole batches (text: examples); auto/N reads i from PARRY_SHARD_INDEX, JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID; combine the N files with `parry merge`')
    .option('--resume', 'keep a journal of finished examples (image: batches) next to --out (<out>.records.jsonl) and continue from it: a run killed at any point, started again with the same command, attacks only what it had not finished')
    .option('--name <run name>', 'name of this run in results.json and reports (default: the model folder name), e.g. --name fgm+eda')
    .option('-o, --out <file>', 'results file to write', 'runs/results.json')
    .option('--force', 'replace --out even when it exists and is not a Parry results file')
    .addOption(backendOption())
    .addOption(threadsOption())
    .option('--json', 'print the results object as JSON on stdout')
    .option('-q, --quiet', 'no progress output')
    .action(async ({ name: runName, shard: shardSpec, ...o }, command: Command) => {
      const shard = shardSpec === undefined ? undefined : parseShard(String(shardSpec));
      if (o.n !== undefined && o.limit !== undefined && o.n !== o.limit) throw new UsageError(`-n ${o.n} and --limit ${o.limit} disagree; they are the same flag, give one`);
      const n: number | undefined = o.n ?? o.limit;
      const attacks = o.attack === undefined ? undefined : String(o.attack).split(',').map((s: string) => s.trim()).filter(Boolean);
      recoverInterrupted(o.model); // a model save cut by kill -9 is settled before the folder is looked at
      if (isTextTarget(o.model)) {
        refuseFlags(command, IMAGE_ONLY, 'applies to image models; text attacks are bounded by their own options (see `parry list`)');
        if (o.blackBox && !attacks?.length) throw new UsageError('--black-box applies to attacks; add --attack <recipe>');
        if (o.blackBox && o.runtime === 'onnx') throw new UsageError('--runtime onnx scores the Parry encoder; --black-box already runs the folder\'s own ONNX file: drop one of them');
        const victim = o.blackBox ? await transformersJsVictim(o.model, { batchSize: o.batchSize ?? 32, truncation: modelTruncation(o.model, o.truncation) }) : undefined;
        await evalTextCommand({
          ...o,
          format: o.dataFormat,
          split: o.split ?? (o.test && !o.dev ? 'test' : 'dev'),
          limit: n,
          attacks,
          optionPairs: o.opt,
          victim,
          command: argv,
          runName,
          shard,
        });
        return;
      }
      refuseFlags(command, TEXT_ONLY, `applies to text models; ${o.model} is an image model`);
      await evalCommand({
        ...o,
        attacks: attacks ?? ['fgsm', 'pgd'],
        epsilons: parseNumberList('--eps', String(o.eps ?? '0.1,0.2,0.3')),
        n: n ?? 1000,
        batchSize: o.batchSize ?? 256,
        opt: o.version ? [...o.opt, `autoattack.version=${JSON.stringify(o.version)}`] : o.opt,
        argv,
        runName,
        shard,
      });
    });
}
