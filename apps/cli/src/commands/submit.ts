import { guardOutput, UsageError } from '@parry/core';
import { type Results, writeResults } from '@parry/metrics';
import { isTextModel } from '@parry/pipelines';
import { collectEvaluation, type CollectStatus, DEFAULT_QUEUE, type EvaluationSpec, parseRedisUrl, redisUrlFrom, submitEvaluation } from '@parry/queue';
import { Command, type Option } from 'commander';
import * as fs from 'node:fs';
import { log, out, refuseFlags } from '../context.js';
import { wrap } from '../options.js';
import { parseInteger, parseNumberList } from '../parse.js';
import { registerEvalCommand } from './eval.js';

/** The `parry eval` flags a queued evaluation takes (the others are the queue's business or not supported yet). */
const EVAL_FLAGS = [
  '--model', '--attack', '--eps', '--n', '--limit', '--seed', '--batch-size', '--opt', '--version', '--goal', '--data', '--split', '--data-format', '--dev', '--test',
  '--text-column', '--pair-column', '--label-column', '--label-names', '--multi-label', '--offline', '--query-budget', '--word-vectors', '--sentence-encoder', '--truncation', '--runtime',
  '--plugin', '--name', '--backend',
];
const IMAGE_ONLY = ['--eps', '--version'];
const TEXT_ONLY = [
  '--split', '--data-format', '--dev', '--test', '--text-column', '--pair-column', '--label-column', '--label-names', '--multi-label', '--offline',
  '--query-budget', '--word-vectors', '--sentence-encoder', '--goal', '--truncation', '--runtime',
];

/** `parry eval`'s own definitions of the flags above, so both commands read them alike. */
function evalOptions(argv: string[]): Option[] {
  const scratch = new Command('scratch');
  registerEvalCommand(scratch, argv);
  const evalCommand = scratch.commands.find((c) => c.name() === 'eval');
  return (evalCommand?.options ?? []).filter((o) => o.long && EVAL_FLAGS.includes(o.long));
}

const nonEmpty = <T>(a: T[] | undefined) => (a && a.length ? a : undefined);

/** The evaluation of `parry submit`'s eval flags, as the queue carries it. */
function evaluationOf(o: Record<string, any>): EvaluationSpec {
  if (o.n !== undefined && o.limit !== undefined && o.n !== o.limit) throw new UsageError(`-n ${o.n} and --limit ${o.limit} disagree; they are the same flag, give one`);
  const attacks = o.attack === undefined ? undefined : String(o.attack).split(',').map((s) => s.trim()).filter(Boolean);
  const opt: string[] = [...(o.opt ?? []), ...(o.version ? [`autoattack.version=${JSON.stringify(o.version)}`] : [])];
  const spec: EvaluationSpec = {
    model: o.model,
    attacks: nonEmpty(attacks),
    optionPairs: nonEmpty(opt),
    seed: o.seed,
    batchSize: o.batchSize,
    n: o.n ?? o.limit,
    data: o.data,
    runName: o.name,
    backend: o.backend,
    plugins: nonEmpty(o.plugin),
    epsilons: o.eps === undefined ? undefined : parseNumberList('--eps', String(o.eps)),
    split: o.split,
    format: o.dataFormat,
    dev: o.dev,
    test: o.test,
    textColumn: o.textColumn,
    pairColumn: o.pairColumn,
    labelColumn: o.labelColumn,
    labelNames: o.labelNames,
    multiLabel: o.multiLabel,
    goal: o.goal,
    queryBudget: o.queryBudget,
    wordVectors: o.wordVectors,
    sentenceEncoder: o.sentenceEncoder,
    truncation: o.truncation,
    runtime: o.runtime,
    offline: o.offline,
  };
  return Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)) as unknown as EvaluationSpec;
}

/** One status line of a run: shards done, running (with their progress) and waiting. */
function statusLine(s: CollectStatus): string {
  const running = s.running.map((r) => `shard ${r.shard} ${r.progress.phase} ${r.progress.done}/${r.progress.total} on ${r.progress.worker}`);
  return `shards: ${s.completed}/${s.total} done, ${s.active} running${running.length ? ` (${running.join('; ')})` : ''}, ${s.waiting} waiting`;
}

/** The `parry submit` subcommand and its flags. */
export function registerSubmitCommand(program: Command, argv: string[]): void {
  const command = program
    .command('submit')
    .description('split an evaluation (the flags of `parry eval`) into shard jobs on a BullMQ queue over Redis, wait for `parry worker`s to run them, and merge the shards into one results.json')
    .requiredOption('--shards <N>', 'number of shard jobs (shard i/N of `parry eval --shard`)', wrap('--shards', (f, v) => parseInteger(f, v)))
    .requiredOption('--results-dir <dir>', 'folder for the shard results, at the same path on every worker and here (a shared folder)');
  for (const option of evalOptions(argv)) command.addOption(option);
  command
    .option('--redis <url>', 'Redis server: redis://[user:password@]host[:port][/db] (default: env PARRY_REDIS_URL, else redis://127.0.0.1:6379)')
    .option('--queue <name>', 'queue name (the workers must use the same)', DEFAULT_QUEUE)
    .option('--run <name>', 'run id, used in job ids and under --results-dir (default: derived from the evaluation and --shards, so the same command names the same run)')
    .option('--attempts <n>', 'tries per shard before it fails (a worker that dies mid-shard does not use one up)', wrap('--attempts', (f, v) => parseInteger(f, v)), 3)
    .option('--backoff <ms>', 'delay before the first retry of a failed shard, doubled on each further one', wrap('--backoff', (f, v) => parseInteger(f, v, 0)), 2000)
    .option('--retry-failed', 'put the failed shards of this run back on the queue')
    .option('--detach', 'only add the jobs and exit; run the same command without --detach to wait and merge')
    .option('--timeout <seconds>', 'give up waiting after this long (exit 1; the jobs stay on the queue)', wrap('--timeout', (f, v) => parseInteger(f, v)))
    .option('-o, --out <file>', 'merged results file to write', 'runs/results.json')
    .option('--force', 'replace --out even when it exists and is not a Parry results file')
    .option('--json', 'print the merged results object as JSON on stdout')
    .option('-q, --quiet', 'no progress output')
    .action(async (o: Record<string, any>, cmd: Command) => {
      const { url, source } = redisUrlFrom(o.redis);
      const redis = parseRedisUrl(url, source);
      if (fs.existsSync(o.model)) {
        if (isTextModel(o.model)) refuseFlags(cmd, IMAGE_ONLY, 'applies to image models; text attacks are bounded by their own options (see `parry list`)');
        else refuseFlags(cmd, TEXT_ONLY, `applies to text models; ${o.model} is an image model`);
      }
      const evaluation = evaluationOf(o);
      if (!o.detach) guardOutput(o.out, { kind: 'results', flag: '-o', force: o.force, protect: [{ path: o.resultsDir, flag: '--results-dir' }, { path: o.model, flag: '--model' }] });
      const say = o.quiet ? () => {} : log;
      const submitted = await submitEvaluation({
        redis,
        source,
        queue: o.queue,
        evaluation,
        shards: o.shards,
        resultsDir: o.resultsDir,
        run: o.run,
        attempts: o.attempts,
        backoffMs: o.backoff,
        retryFailed: o.retryFailed,
        command: argv.slice(2),
      });
      const { run, jobs } = submitted;
      say(`run ${run} on queue ${o.queue} (${redis.display}): ${submitted.added} shard job${submitted.added === 1 ? '' : 's'} added, ${submitted.existing} already there${submitted.retried ? `, ${submitted.retried} failed put back` : ''}; shard results under ${jobs[0].data.file.replace(/[\\/][^\\/]*$/, '')}`);
      if (o.detach) {
        out(o.json ? JSON.stringify({ run, queue: o.queue, jobs: jobs.map((j) => ({ id: j.id, shard: j.data.shard, file: j.data.file })) }, null, 2) : `submitted ${run}: ${jobs.length} shard jobs; start \`parry worker\`s, then run the same command without --detach to wait and merge`);
        return;
      }
      const collected = await collectEvaluation({
        redis,
        source,
        queue: o.queue,
        jobs,
        timeoutMs: o.timeout === undefined ? undefined : o.timeout * 1000,
        onStatus: (() => {
          // a line when a shard starts, finishes or fails; progress alone at most every 10 s
          let lastCounts = '';
          let lastAt = 0;
          return (s: CollectStatus) => {
            const counts = `${s.completed} ${s.active} ${s.waiting}`;
            if (counts === lastCounts && Date.now() - lastAt < 10_000) return;
            lastCounts = counts;
            lastAt = Date.now();
            say(statusLine(s));
          };
        })(),
      });
      const merged: Results = writeResults(o.out, collected.results);
      if (o.json) out(JSON.stringify(merged, null, 2));
      else out(`merged ${jobs.length} shard${jobs.length === 1 ? '' : 's'} of ${run} (${merged.dataset.n} examples, ${merged.attacks.length} attack${merged.attacks.length === 1 ? '' : 's'}) into ${o.out}`);
    });
}
