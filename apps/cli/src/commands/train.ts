import { UsageError } from '@parry/core';
import { createDefenses, type TrainImageOptions, type TrainImageOutcome, trainImageModel, trainTextModel, truncationLine } from '@parry/pipelines';
import Table from 'cli-table3';
import { type Command, Option } from 'commander';
import { cliRegistry, hooks, log, out, refuseFlags } from '../context.js';
import { backendOption, threadsOption, wrap } from '../options.js';
import { parseInteger, parsePositive, parseRate } from '../parse.js';
import { pct, printMultiLabel } from './text.js';

/** The image training flags: the options of `trainImageModel`, with defenses named on the command line. */
export interface TrainCommandOptions extends Omit<TrainImageOptions, 'defenses' | 'command' | 'onEpoch' | 'log' | 'progress'> {
  /** Comma-separated defense names (`fgsm-rs`, `pgd-at`, `trades`, `weight-decay`, `label-smoothing`, `gaussian-noise`). */
  defense?: string;
  /** `--def-opt <defense>.<key>=<value>`, repeatable. */
  defOpt?: string[];
  plugin?: string[];
  json?: boolean;
  quiet?: boolean;
  argv?: string[];
}

export type TrainOutcome = TrainImageOutcome;

const names = (s: string | undefined) => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);

/** `parry train` (image): the small MNIST CNN, optionally with defenses; prints the epoch table. */
export async function trainCommand(o: TrainCommandOptions): Promise<TrainOutcome> {
  const { registry, defaults } = await cliRegistry(o.plugin);
  const eps = o.eps ?? 0.3;
  if (!(eps >= 0)) throw new UsageError(`--eps must be >= 0, got ${eps}`);
  const defenses = createDefenses(registry, names(o.defense), eps, o.defOpt ?? [], defaults);
  const r = await trainImageModel({ ...o, defenses, eps, command: o.argv, ...hooks(o.quiet) });
  if (o.json) out(JSON.stringify(r.results, null, 2));
  else {
    const robust = r.evalPgdSteps > 0;
    const head = ['epoch', 'loss', 'train acc', 'held-out acc', ...(robust ? [`PGD-${r.evalPgdSteps} acc`] : []), 'seconds'];
    const table = new Table({ head, style: { head: [], border: [] } });
    for (const e of r.epochs) {
      table.push([e.epoch, e.loss.toFixed(4), pct(e.trainAccuracy), pct(e.testAccuracy), ...(robust ? [e.robustAccuracy != null ? pct(e.robustAccuracy) : '-'] : []), e.seconds.toFixed(1)]);
    }
    out(table.toString());
    out(`model saved to ${o.out} (held-out accuracy ${pct(r.testAccuracy)} on ${r.testN} digits)`);
  }
  return r;
}

/** Image-only flags of `parry train`, refused for text models. */
const IMAGE_ONLY = ['--optimizer', '--init', '--schedule', '--eval-pgd-steps', '--eval-pgd-n'];
/** Text-only flags of `parry train`, refused without --model. */
const TEXT_ONLY = [
  '--data-format', '--dev', '--test', '--text-column', '--pair-column', '--label-column', '--label-names', '--multi-label', '--max-length', '--truncation', '--vocab',
  '--vocab-size', '--hidden', '--layers', '--heads', '--intermediate', '--warmup', '--weight-decay', '--layer-lr-decay', '--max-grad-norm', '--grad-accum', '--label-smoothing', '--offline',
  '--force-download', '--pos-weight', '--augment', '--num-aug', '--aug-rate',
];

/** The `parry train` subcommand and its flags. */
export function registerTrainCommand(program: Command, argv: string[]): void {
  program
    .command('train')
    .description('train the small MNIST CNN (Wong et al. 2020), optionally with adversarial training; or, with --model, a Transformer text classifier')
    .option('--data <path>', 'MNIST IDX directory (default: the 10,000 embedded digits); with --model: SST-2 / GoEmotions directory or a csv/tsv/jsonl file')
    .option('--epochs <n>', 'training epochs (default 8; text 5)', wrap('--epochs', (f, v) => parseInteger(f, v)))
    .option('--batch-size <n>', 'examples per step (default 64; text 32)', wrap('--batch-size', (f, v) => parseInteger(f, v)))
    .option('--lr <x>', 'base (peak) learning rate (default 2e-3; text from scratch 5e-4, fine-tuning 5e-5)', wrap('--lr', parsePositive))
    .addOption(new Option('--optimizer <kind>', 'image: optimizer').choices(['adam', 'sgd']).default('adam'))
    .addOption(new Option('--init <scheme>', 'image: weight initialisation: he (He-normal) or torch (PyTorch default, as in Wong et al. 2020)').choices(['he', 'torch']).default('he'))
    .option('--dropout <rate>', 'dropout before the last layer (default 0.3; text: every dropout of the encoder, default 0.1; with a pretrained --model it replaces the checkpoint rates, which stay when it is not given)', wrap('--dropout', parseRate))
    .addOption(new Option('--schedule <kind>', 'image: learning-rate schedule (cyclic: 0 -> lr at 40% -> 0; piecewise: x0.1 at 50% and 75%)').choices(['cosine', 'constant', 'cyclic', 'piecewise']).default('cosine'))
    .option('--defense <names>', 'comma-separated defenses: fgsm-rs, pgd-at, trades, weight-decay, label-smoothing, gaussian-noise; text: fgm, pgd-embed, freelb, smart, r-drop, a2t (see `parry list`)')
    .option('--eps <x>', 'image: linf epsilon for the defenses and the per-epoch PGD evaluation (default 0.3); text: eps of fgm / pgd-embed / smart, absolute for a pretrained model (fgm and pgd-embed default 1), a fraction of the mean token-embedding norm from scratch (default 0.1, after one clean epoch; see `parry list`)', wrap('--eps', (f, v) => {
      const x = Number(v);
      if (!(Number.isFinite(x) && x >= 0)) throw new UsageError(`${f} must be a number >= 0, got "${v}"`);
      return x;
    }))
    .option('--def-opt <defense.key=value>', 'defense option, repeatable (e.g. --def-opt trades.beta=6, --def-opt pgd-at.attack=pgd --def-opt pgd-at.attack.steps=7)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--eval-pgd-steps <n>', 'image: PGD steps of the per-epoch robust evaluation, 0 = none (default 10 with --defense)', wrap('--eval-pgd-steps', (f, v) => parseInteger(f, v, 0)))
    .option('--eval-pgd-n <n>', 'image: held-out examples (the last n of the test split) for the per-epoch PGD evaluation (default 1000)', wrap('--eval-pgd-n', (f, v) => parseInteger(f, v)))
    .option('--early-stop <patience>', 'stop after this many epochs without improvement (robust accuracy when evaluated; text: dev accuracy or macro-F1) and keep the best weights', wrap('--early-stop', (f, v) => parseInteger(f, v)))
    .option('--checkpoint-dir <dir>', 'write a checkpoint after every epoch here (default <out>.checkpoints with --defense or --resume)')
    .option('--plugin <module>', 'load plugins from a module (package name or path), repeatable', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--resume', 'continue from the newest checkpoint (same flags as the interrupted run)')
    .option('--force', 'replace --out even when it exists and is not a Parry model folder holding only Parry\'s files')
    .option('--seed <n>', 'seed for the split, initialisation, shuffling and random starts', wrap('--seed', (f, v) => parseInteger(f, v, 0)), 0)
    .option('--limit <n>', 'use at most n training examples', wrap('--limit', (f, v) => parseInteger(f, v)))
    .option('-o, --out <dir>', 'model directory to write (default runs/mnist-cnn; text runs/text-model)')
    .addOption(backendOption())
    .addOption(threadsOption())
    .option('--json', 'print the results object as JSON on stdout')
    .option('-q, --quiet', 'no progress output')
    .option('--model <model>', 'text: bert | electra | distilbert | roberta (small, from scratch), a config.json, a Hugging Face model folder, or a Hub id (fine-tune)')
    .addOption(new Option('--data-format <format>', 'text data format (default: detected)').choices(['auto', 'sst2', 'goemotions', 'csv', 'tsv', 'jsonl']))
    .option('--dev <file>', 'text: dev file for csv/tsv/jsonl data (same columns as --data)')
    .option('--test <file>', 'text: test file for csv/tsv/jsonl data (same columns; recorded for `parry eval --split test`)')
    .option('--text-column <col>', 'text: column (header name or 0-based index) or JSON key of the text')
    .option('--pair-column <col>', 'text: column of the second text of a pair')
    .option('--label-column <col>', 'text: column of the label(s)')
    .option('--label-names <names>', 'text: comma-separated label names in id order')
    .option('--multi-label', 'text: label cells hold several comma-separated labels (sigmoid/BCE head)')
    .option('--max-length <n>', 'text: tokens per example incl. special tokens (default 128)', wrap('--max-length', (f, v) => parseInteger(f, v)))
    .addOption(new Option('--truncation <strategy>', 'text: which tokens of a text over --max-length the model sees: head (the first), tail (the last) or head+tail (a quarter of the budget from the start, the rest from the end; Sun et al. 2019); saved with the model for eval (default head)').choices(['head', 'tail', 'head+tail']))
    .option('--vocab <kind>', 'text from scratch: corpus (WordPiece built from the training texts) or bert-base-uncased (default corpus)')
    .option('--vocab-size <n>', 'text from scratch: size of the corpus vocabulary (default 8000)', wrap('--vocab-size', (f, v) => parseInteger(f, v)))
    .option('--hidden <n>', 'text from scratch: hidden size (default 128)', wrap('--hidden', (f, v) => parseInteger(f, v)))
    .option('--layers <n>', 'text from scratch: encoder layers (default 2)', wrap('--layers', (f, v) => parseInteger(f, v)))
    .option('--heads <n>', 'text from scratch: attention heads (default 2)', wrap('--heads', (f, v) => parseInteger(f, v)))
    .option('--intermediate <n>', 'text from scratch: feed-forward size (default 4 x hidden)', wrap('--intermediate', (f, v) => parseInteger(f, v)))
    .option('--warmup <ratio>', 'text: fraction of steps of linear warm-up (default 0.1)', wrap('--warmup', parseRate))
    .option('--weight-decay <x>', 'text: AdamW decoupled weight decay, not on biases and LayerNorm (default 0.01)', wrap('--weight-decay', (f, v) => parseRate(f, v)))
    .option('--layer-lr-decay <x>', 'text: multiply the learning rate by x per layer from the top down (layer-wise learning-rate decay, for fine-tuning a pre-trained encoder; default 1 = off)', wrap('--layer-lr-decay', (f, v) => {
      const x = Number(v);
      if (!(Number.isFinite(x) && x > 0 && x <= 1)) throw new UsageError(`${f} must be a number in (0, 1] (1 = off; e.g. 0.9), got "${v}"`);
      return x;
    }))
    .option('--max-grad-norm <x>', 'text: clip the global gradient norm, 0 = off (default 1)', wrap('--max-grad-norm', (f, v) => {
      const x = Number(v);
      if (!(Number.isFinite(x) && x >= 0)) throw new UsageError(`${f} must be a number >= 0, got "${v}"`);
      return x;
    }))
    .option('--grad-accum <n>', 'text: split each batch into n micro-batches and take one optimizer step on their summed gradients (same step, less memory; default 1)', wrap('--grad-accum', (f, v) => parseInteger(f, v)))
    .option('--label-smoothing <x>', 'text: label smoothing (multi-label: targets pulled toward 1/2)', wrap('--label-smoothing', parseRate))
    .option('--offline', 'text: never download; use the Hub cache only (also PARRY_OFFLINE=1)')
    .option('--force-download', 'text: download a Hub model again even when it is cached (the cached files are replaced once the new ones are checked)')
    .option('--pos-weight <auto|x>', 'text, multi-label: weight of each label\'s positive BCE term; auto = negatives / positives per label (capped at 20)')
    .addOption(new Option('--augment <method>', 'text: augment the training set first (EDA or character noise; originals kept)').choices(['eda', 'char']))
    .option('--num-aug <n>', 'text: augmented copies per training example (default 4)', wrap('--num-aug', (f, v) => parseInteger(f, v)))
    .option('--aug-rate <x>', 'text: EDA alpha for all four operations, or the character-noise probability per word (default 0.1)', wrap('--aug-rate', parseRate))
    .action(async (o, command: Command) => {
      if (o.model) {
        refuseFlags(command, IMAGE_ONLY, 'applies to the image CNN; drop it when training a text model (--model)');
        if (!o.data) throw new UsageError('--data is needed with --model (an SST-2 / GoEmotions directory, or a csv/tsv/jsonl file)');
        await trainTextCommand(o, command, argv);
        return;
      }
      refuseFlags(command, TEXT_ONLY, 'applies to text models; add --model <family|folder> or drop it');
      await trainCommand({ ...o, dropout: o.dropout ?? 0.3, epochs: o.epochs ?? 8, batchSize: o.batchSize ?? 64, lr: o.lr ?? 2e-3, evalPgdN: o.evalPgdN ?? 1000, out: o.out ?? 'runs/mnist-cnn', argv });
    });
}

/**
 * `--eps` for text models as `--def-opt <defense>.eps=<x>` for every listed defense that has an `eps` option and no
 * `--def-opt <defense>.eps` of its own (the text defenses' eps has no fixed default: it depends on whether the model is
 * pretrained, so createDefenses' image rule, which fills in eps where the defaults have one, does not apply).
 */
function textEpsOptions(registry: Awaited<ReturnType<typeof cliRegistry>>['registry'], listed: string[], eps: number | undefined, defOpt: string[]): string[] {
  if (eps === undefined) return [];
  const full = (n: string) => {
    try {
      return registry.resolve(n, 'defense');
    } catch {
      return undefined; // createDefenses reports unknown names
    }
  };
  const own = new Set(defOpt.filter((p) => /^[^=]*\.eps=/.test(p)).map((p) => full(p.slice(0, p.indexOf('.eps=')))));
  const takers = listed.filter((n) => full(n) && registry.optionNames(full(n)!, 'defense')?.includes('eps'));
  if (!takers.length) throw new UsageError(`--eps sets the eps of the text defenses fgm, pgd-embed and smart; ${listed.length ? `${listed.join(', ')} has none` : 'add --defense'} (use --def-opt <defense>.<key>=<value>)`);
  return takers.filter((n) => !own.has(full(n))).map((n) => `${n}.eps=${eps}`);
}

/** `parry train --model ...`: train or fine-tune a text classifier; prints the dev metrics. */
async function trainTextCommand(o: Record<string, any>, command: Command, argv: string[]): Promise<void> {
  const fromScratch = /^(bert|electra|distilbert|roberta)$/.test(o.model) || String(o.model).endsWith('.json');
  const { registry, defaults } = await cliRegistry(o.plugin);
  const defenses = createDefenses(registry, names(o.defense), undefined, [...textEpsOptions(registry, names(o.defense), o.eps, o.defOpt ?? []), ...(o.defOpt ?? [])], defaults);
  const outDir = o.out ?? 'runs/text-model';
  const r = await trainTextModel({
    ...o,
    model: o.model,
    data: o.data,
    format: o.dataFormat,
    epochs: o.epochs ?? 5,
    batchSize: o.batchSize ?? 32,
    lr: o.lr ?? (fromScratch ? 5e-4 : 5e-5),
    maxLength: o.maxLength ?? 128,
    maxLengthGiven: command.getOptionValueSource('maxLength') === 'cli',
    out: outDir,
    seed: o.seed,
    defenses,
    registry,
    defaults,
    command: argv,
    ...hooks(o.quiet),
  });
  if (o.json) out(JSON.stringify(r.results, null, 2));
  else {
    out(truncationLine(r.truncation));
    if (r.dev.multi) {
      printMultiLabel(r.dev.multi, `dev (thresholds tuned on dev; at 0.5: macro-F1 ${r.devAt05!.multi!.macroF1.toFixed(3)}, micro-F1 ${r.devAt05!.multi!.microF1.toFixed(3)})`);
      out(`model saved to ${outDir} (best epoch ${r.bestEpoch})`);
    } else {
      out(`model saved to ${outDir} (dev accuracy ${pct(r.dev.single!.accuracy)} on ${r.devN} examples, best epoch ${r.bestEpoch})`);
    }
  }
  if (!o.quiet && o.test) log(`test file recorded: parry eval --model ${outDir} --split test evaluates ${o.test}`);
}
