import { type ModelFamily, UsageError } from '@parry/core';
import { pretrainMaskedLm } from '@parry/pipelines';
import { type Command, Option } from 'commander';
import { hooks, out } from '../context.js';
import { backendOption, threadsOption, wrap } from '../options.js';
import { parseInteger, parsePositive, parseRate } from '../parse.js';

const opening = (f: string, v: string) => {
  const x = Number(v);
  if (!(Number.isFinite(x) && x > 0 && x < 1)) throw new UsageError(`${f} must be a number in (0, 1), got "${v}"`);
  return x;
};

/** The `parry pretrain` subcommand: masked-LM pre-training from scratch (`pretrainMaskedLm`). */
export function registerPretrainCommand(program: Command, argv: string[]): void {
  program
    .command('pretrain')
    .description('pre-train a masked language model (BERT MLM objective) from scratch, or continue pre-training one (--init), on text files or SST-2 / GoEmotions / AG News folders (their training split), writing a Hugging Face *ForMaskedLM folder that `parry train --model <folder>` fine-tunes')
    .argument('[sources...]', 'text files (one document per line), csv/tsv/jsonl files (see --text-column), or SST-2 / GoEmotions / AG News folders (training split only)')
    .option('-o, --out <dir>', 'masked-LM folder to write', 'runs/mlm')
    .option('--init <model>', 'continue pre-training this masked LM (a folder parry pretrain wrote, a Hugging Face *ForMaskedLM folder, or a Hub id such as bert-base-uncased) on the corpus: its architecture, weights and tokenizer are kept, so leave out --model/--vocab-size/--hidden/--layers/--heads/--intermediate (domain- or task-adaptive pre-training)')
    .addOption(new Option('--model <family>', 'model family (with --init: the checkpoint\'s)').choices(['bert', 'electra', 'distilbert', 'roberta']).default('bert'))
    .option('--dev <file>', 'held-out text (same layouts as a source); default: the last --dev-fraction of each source')
    .option('--dev-fraction <x>', 'share of each source\'s documents held out for the masked-token accuracy (default 0.05)', wrap('--dev-fraction', opening))
    .option('--text-column <col>', 'csv/tsv/jsonl sources: column (header name or 0-based index) or JSON key of the text (default text)')
    .option('--vocab-size <n>', 'most WordPiece entries, built from the training text', wrap('--vocab-size', (f, v) => parseInteger(f, v, 6)), 8000)
    .option('--hidden <n>', 'hidden size', wrap('--hidden', (f, v) => parseInteger(f, v)), 128)
    .option('--layers <n>', 'encoder layers', wrap('--layers', (f, v) => parseInteger(f, v)), 2)
    .option('--heads <n>', 'attention heads', wrap('--heads', (f, v) => parseInteger(f, v)), 2)
    .option('--intermediate <n>', 'feed-forward size (default 4 x hidden)', wrap('--intermediate', (f, v) => parseInteger(f, v)))
    .option('--dropout <rate>', 'every dropout of the encoder (with --init: the checkpoint\'s unless given)', wrap('--dropout', parseRate), 0.1)
    .option('--max-length <n>', 'tokens per row incl. [CLS] and [SEP]; longer documents are cut into several rows (with --init: at most its positions)', wrap('--max-length', (f, v) => parseInteger(f, v, 8)), 128)
    .option('--epochs <n>', 'passes over the corpus', wrap('--epochs', (f, v) => parseInteger(f, v)), 1)
    .option('--max-steps <n>', 'stop after n optimizer steps (the learning-rate schedule spans them; default: all steps of --epochs)', wrap('--max-steps', (f, v) => parseInteger(f, v)))
    .option('--batch-size <n>', 'rows per optimizer step', wrap('--batch-size', (f, v) => parseInteger(f, v)), 32)
    .option('--grad-accum <n>', 'split each batch into n micro-batches and take one step on their summed gradients (same step, less memory)', wrap('--grad-accum', (f, v) => parseInteger(f, v)), 1)
    .option('--lr <x>', 'peak learning rate (AdamW)', wrap('--lr', parsePositive), 5e-4)
    .option('--warmup <ratio>', 'fraction of the steps of linear warm-up, then linear decay to 0', wrap('--warmup', parseRate), 0.06)
    .option('--weight-decay <x>', 'AdamW decoupled weight decay, not on biases and LayerNorm', wrap('--weight-decay', parseRate), 0.01)
    .option('--max-grad-norm <x>', 'clip the global gradient norm, 0 = off', wrap('--max-grad-norm', (f, v) => {
      const x = Number(v);
      if (!(Number.isFinite(x) && x >= 0)) throw new UsageError(`${f} must be a number >= 0, got "${v}"`);
      return x;
    }), 1)
    .option('--mask-prob <x>', 'share of tokens selected for prediction (80% [MASK], 10% random, 10% kept), drawn afresh for every batch of every epoch', wrap('--mask-prob', opening), 0.15)
    .option('--whole-word-masking', 'select whole words (all their WordPiece pieces together)')
    .option('--seed <n>', 'seed of the initialisation, batch order, masks and dropout', wrap('--seed', (f, v) => parseInteger(f, v, 0)), 0)
    .option('--checkpoint-dir <dir>', 'where checkpoints go (default <out>.checkpoints)')
    .option('--checkpoint-every <n>', 'checkpoint and score the held-out text every n steps, besides each epoch\'s end (0 = epochs only)', wrap('--checkpoint-every', (f, v) => parseInteger(f, v, 0)), 1000)
    .option('--keep-checkpoints <n>', 'keep the newest n checkpoints (0 = all)', wrap('--keep-checkpoints', (f, v) => parseInteger(f, v, 0)), 2)
    .option('--resume', 'continue from the newest checkpoint (same sources and flags as the interrupted run)')
    .option('--force', 'replace --out even when it is not a folder parry pretrain wrote')
    .option('--offline', '--init given as a Hub id: never download; use the Hub cache only (also PARRY_OFFLINE=1)')
    .option('--force-download', '--init given as a Hub id: download it again even when it is cached')
    .addOption(backendOption())
    .addOption(threadsOption())
    .option('--json', 'print the outcome as JSON on stdout')
    .option('-q, --quiet', 'no progress output')
    .action(async (sources: string[], o: Record<string, any>, cmd: Command) => {
      if (!sources.length) throw new UsageError('parry pretrain needs a corpus: name text files (one document per line), csv/tsv/jsonl files or SST-2 / GoEmotions / AG News folders');
      // with --init the checkpoint decides what these flags would: only values the user typed reach the pipeline
      const given = <T>(key: string): T | undefined => (o.init && cmd.getOptionValueSource(key) === 'default' ? undefined : o[key]);
      const r = await pretrainMaskedLm({
        sources,
        out: o.out,
        init: o.init,
        offline: o.offline,
        forceDownload: o.forceDownload,
        model: given<ModelFamily>('model'),
        dev: o.dev,
        devFraction: o.devFraction,
        textColumn: o.textColumn,
        vocabSize: given<number>('vocabSize'),
        hidden: given<number>('hidden'),
        layers: given<number>('layers'),
        heads: given<number>('heads'),
        intermediate: given<number>('intermediate'),
        dropout: given<number>('dropout'),
        maxLength: given<number>('maxLength'),
        epochs: o.epochs,
        maxSteps: o.maxSteps,
        batchSize: o.batchSize,
        gradAccum: o.gradAccum,
        lr: o.lr,
        warmup: o.warmup,
        weightDecay: o.weightDecay,
        maxGradNorm: o.maxGradNorm,
        maskProbability: o.maskProb,
        wholeWordMasking: o.wholeWordMasking,
        seed: o.seed,
        checkpointDir: o.checkpointDir,
        checkpointEvery: o.checkpointEvery,
        keepCheckpoints: o.keepCheckpoints,
        resume: o.resume,
        force: o.force,
        backend: o.backend,
        threads: o.threads,
        command: argv.slice(2),
        ...hooks(o.quiet),
      });
      if (o.json) out(JSON.stringify(r, null, 2));
      else {
        out(`${r.steps} steps, ${r.tokensSeen} tokens seen (${r.maskedSeen} masked), ${r.trainSeconds.toFixed(1)} s of training`);
        out(`held-out masked-token accuracy ${(100 * r.dev.accuracy).toFixed(2)}% (loss ${r.dev.loss.toFixed(4)}, ${r.dev.masked} masked tokens of ${r.devRows} rows)`);
        out(`masked LM saved to ${o.out} (fine-tune it: parry train --model ${o.out} --data <data>)`);
      }
    });
}
