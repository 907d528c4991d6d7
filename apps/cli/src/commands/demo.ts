import * as path from 'node:path';
import type { TextDataset } from '@parry/datasets';
import type { Results, TextAttackEntry } from '@parry/metrics';
import { createDefenses, evaluateTextModel, loadTextSplit, robustness, trainTextModel } from '@parry/pipelines';
import Table from 'cli-table3';
import type { Command } from 'commander';
import { cliRegistry, hooks, log, out } from '../context.js';
import { backendOption, wrap } from '../options.js';
import { parseInteger } from '../parse.js';
import { evalCommand } from './eval.js';
import { reportCommand } from './report.js';
import { pct } from './text.js';
import { trainCommand } from './train.js';

/**
 * The text half's settings, chosen so that the whole demo stays within a few minutes on 2 cores (README Quickstart):
 * a 1-layer encoder from scratch on part of the training split, emails cut to their first tokens (head truncation), and
 * a query budget per attacked message. Printed with the results.
 */
export const SPAM_DEMO = {
  data: 'spam',
  model: 'bert',
  layers: 1,
  hidden: 64,
  heads: 2,
  intermediate: 128,
  vocabSize: 4000,
  maxLength: 64,
  truncation: 'head' as const,
  trainMessages: 2000,
  epochs: 3,
  batchSize: 32,
  lr: 2e-3,
  attacks: ['deepwordbug', 'pwws'],
  queryBudget: 300,
  spamAttacked: 100,
  /**
   * Attacked messages are cut to their first words before the attack: the model reads only its first `maxLength`
   * tokens (head truncation), so the outcome is the same, but every query then tokenizes a few hundred words instead
   * of a whole e-mail (up to 14,959 words). On the demo's 100 messages: the same successes, failures and query counts as
   * the whole messages (attack time 12x lower on 20 of them).
   */
  attackedWords: 300,
  seed: 0,
};

export interface DemoCommandOptions {
  out: string;
  /** Held-out digits to attack. */
  n: number;
  /** Held-out spam messages to attack (default `SPAM_DEMO.spamAttacked`). */
  textN?: number;
  /** Skip the text half. */
  text?: boolean;
  backend?: string;
  quiet?: boolean;
  argv?: string[];
}

interface SpamRun {
  label: string;
  modelDir: string;
  resultsFile: string;
  testAccuracy: number;
  testN: number;
  results: Results;
}

const seconds = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(0)} s`;

/** Train one spam filter (plain or hardened), measure it on the whole test split, then attack held-out spam. */
async function spamRun(o: DemoCommandOptions, label: string, dir: string, defense: string | undefined, spam: TextDataset): Promise<SpamRun> {
  const { registry, defaults } = await cliRegistry(undefined);
  const modelDir = path.join(dir, 'model');
  const resultsFile = path.join(dir, 'results.json');
  const h = hooks(o.quiet);
  const d = SPAM_DEMO;
  let t0 = performance.now();
  await trainTextModel({
    model: d.model,
    data: d.data,
    layers: d.layers,
    hidden: d.hidden,
    heads: d.heads,
    intermediate: d.intermediate,
    vocabSize: d.vocabSize,
    maxLength: d.maxLength,
    truncation: d.truncation,
    limit: d.trainMessages,
    epochs: d.epochs,
    batchSize: d.batchSize,
    lr: d.lr,
    seed: d.seed,
    out: modelDir,
    backend: o.backend,
    defenses: defense ? createDefenses(registry, [defense], undefined, [], defaults) : [],
    registry,
    defaults,
    command: o.argv,
    ...h,
  });
  if (!o.quiet) log(`spam filter (${label}) trained in ${seconds(t0)}`);
  t0 = performance.now();
  const clean = await evaluateTextModel({ model: modelDir, split: 'test', backend: o.backend, registry, defaults, command: o.argv, ...h });
  const results = await robustness(modelDir, spam, {
    attacks: d.attacks,
    n: spam.examples.length,
    queryBudget: d.queryBudget,
    seed: d.seed,
    runName: `spam filter, ${label}`,
    out: resultsFile,
    registry,
    defaults,
    command: o.argv,
    ...h,
  });
  if (!o.quiet) log(`spam filter (${label}) evaluated and attacked in ${seconds(t0)}`);
  return { label, modelDir, resultsFile, testAccuracy: clean.clean!.single!.accuracy, testN: clean.n, results };
}

/** The text half's table: per model and attack, how many of the spam messages it caught slip through. */
export function renderSpamTable(runs: SpamRun[]): string {
  const table = new Table({
    head: ['spam filter', 'test acc (all)', 'attack', 'spam caught', 'caught under attack', 'slipped through', 'words changed', 'queries/msg'],
    style: { head: [], border: [] },
  });
  for (const r of runs) {
    for (const a of r.results.attacks) {
      if (a.modality !== 'text') continue;
      const e = a as TextAttackEntry;
      const caught = e.successful + e.failed;
      table.push([
        r.label,
        pct(r.testAccuracy),
        e.attack.replace(/^parry\//, ''),
        `${caught}/${e.n} (${pct(e.cleanAccuracy)})`,
        pct(e.robustAccuracy),
        `${e.successful}/${caught} (${pct(e.attackSuccessRate)})`,
        `${e.avgPerturbedWordPct.toFixed(1)}%`,
        e.avgQueries.toFixed(0),
      ]);
    }
  }
  return table.toString();
}

/** `parry demo`: the MNIST half (CNN, FGSM and PGD), the spam half (encoder, DeepWordBug and PWWS, FGM), one report. */
export async function demoCommand(o: DemoCommandOptions): Promise<void> {
  const start = performance.now();
  const modelDir = path.join(o.out, 'model');
  const argv = o.argv;
  await trainCommand({ epochs: 8, batchSize: 64, lr: 2e-3, dropout: 0.3, schedule: 'cosine', seed: 0, out: modelDir, backend: o.backend, quiet: o.quiet, argv });
  await evalCommand({
    model: modelDir,
    attacks: ['fgsm', 'pgd'],
    epsilons: [0.1, 0.2, 0.3],
    n: o.n,
    seed: 0,
    batchSize: 256,
    out: path.join(o.out, 'results.json'),
    backend: o.backend,
    quiet: o.quiet,
    argv,
  });
  const files = [path.join(o.out, 'results.json'), path.join(modelDir, 'train-results.json')];
  if (!o.quiet) log(`MNIST half done in ${seconds(start)}`);
  if (o.text !== false) {
    const d = SPAM_DEMO;
    const n = o.textN ?? d.spamAttacked;
    const test = await loadTextSplit({ data: d.data }, 'test');
    const firstWords = new RegExp(`^\\s*(?:\\S+\\s+){0,${d.attackedWords - 1}}\\S*`);
    const examples = test.examples.filter((e) => e.label === 1).slice(0, n).map((e) => ({ ...e, text: firstWords.exec(e.text)![0].trimEnd() }));
    const spam: TextDataset = { ...test, name: `spamassassin (spam, first ${d.attackedWords} words)`, examples };
    out('');
    out(`Spam filter: SpamAssassin (${d.data}), a ${d.layers}-layer encoder (hidden ${d.hidden}) from scratch on ${d.trainMessages} training messages, ${d.epochs} epochs;`);
    out(`emails cut to their first ${d.maxLength} tokens (--max-length ${d.maxLength} --truncation ${d.truncation}); attacks ${d.attacks.join(', ')} on the first ${spam.examples.length} spam messages of the test split`);
    out(`(each cut to its first ${d.attackedWords} words: the model reads only its first ${d.maxLength} tokens), --query-budget ${d.queryBudget} per message; defense --defense fgm (defaults)`);
    const runs = [
      await spamRun(o, 'plain', path.join(o.out, 'spam', 'plain'), undefined, spam),
      await spamRun(o, 'FGM', path.join(o.out, 'spam', 'fgm'), 'fgm', spam),
    ];
    out(renderSpamTable(runs));
    out('spam caught: detected as spam before the attack; slipped through: of those, turned into "ham" by the attack within the budget');
    for (const r of runs) files.push(r.resultsFile);
  }
  await reportCommand({ files, out: path.join(o.out, 'report'), title: o.text === false ? 'Parry demo: MNIST CNN under FGSM and PGD' : 'Parry demo: MNIST CNN and a spam filter under attack', quiet: o.quiet });
  out(`demo finished in ${seconds(start)}`);
}

/** The `parry demo` subcommand and its flags. */
export function registerDemoCommand(program: Command, argv: string[]): void {
  program
    .command('demo')
    .description('train the small CNN on the embedded digits and attack it with FGSM and PGD; train a small spam filter on the embedded SpamAssassin corpus and attack it with DeepWordBug and PWWS, plain and with FGM; write one report')
    .option('-o, --out <dir>', 'where to write the models and results', 'runs/demo')
    .option('-n, --n <count>', 'held-out digits to attack', wrap('--n', (f, v) => parseInteger(f, v)), 500)
    .option('--text-n <count>', `held-out spam messages to attack (default ${SPAM_DEMO.spamAttacked})`, wrap('--text-n', (f, v) => parseInteger(f, v)))
    .option('--no-text', 'the MNIST half only')
    .addOption(backendOption())
    .option('-q, --quiet', 'no progress output')
    .action(async (o) => {
      await demoCommand({ out: o.out, n: o.n, textN: o.textN, text: o.text, backend: o.backend, quiet: o.quiet, argv });
    });
}
