/**
 * `pnpm bench`: FGSM and PGD-40 (Linf, eps 0.3, step 0.01, random start) on the Wong et al. 2020 MNIST CNN at batch
 * 256 — images per second, peak tensors, leaks and a kernel profile — for several backend variants, each in its own
 * child process so kernel registrations never bleed. Writes docs/benchmarks.md and prints a summary.
 *
 *   node dist/bench.js [--quick] [--variants a,b] [--out docs/benchmarks.md] [--data <mnist dir>]
 *   PARRY_BENCH_QUICK=1 pnpm bench                (the same as --quick)
 *   node dist/bench.js --variant <name> --model <dir> ...   (child mode, used by the parent)
 *
 * A quick run (fewer images, PGD-5, one repetition, a model trained on 2,000 images) only checks that the bench works:
 * it prints the summary and leaves docs/benchmarks.md alone unless `--out` names a file.
 *
 * An optional `docs/bench-torch.json` written by `scripts/bench-torch.py` adds measured PyTorch numbers; without it
 * the report cites the research note's figures as not re-measured. Python is never needed.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '@parry/core';
import { emit, runTrain, runVariant } from './bench-child.js';
import { type Machine, renderMarkdown, renderSummary } from './bench-report.js';
import {
  type ChildResult,
  type TorchResult,
  type TrainResult,
  type VariantName,
  type VariantResult,
  RESULT_PREFIX,
  VARIANTS,
} from './bench-types.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

interface Args {
  variant?: string;
  variants: VariantName[];
  model?: string;
  out: string;
  /** Whether `--out` was given (a quick run writes only then). */
  outGiven: boolean;
  data: string;
  torch: string;
  quick: boolean;
  trainExamples: number;
  epochs: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    variants: [...VARIANTS],
    out: path.join(ROOT, 'docs', 'benchmarks.md'),
    outGiven: false,
    data: process.env.PARRY_DATA_DIR ?? path.resolve(ROOT, '..', 'shared', 'data', 'mnist'),
    torch: path.join(ROOT, 'docs', 'bench-torch.json'),
    quick: ['1', 'true'].includes(process.env.PARRY_BENCH_QUICK ?? ''),
    trainExamples: 10_000,
    epochs: 1,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--variant':
        args.variant = value();
        break;
      case '--variants':
        args.variants = value().split(',').map((s) => s.trim()) as VariantName[];
        for (const v of args.variants) if (!(VARIANTS as readonly string[]).includes(v)) throw new Error(`unknown variant ${v}; use ${VARIANTS.join(', ')}`);
        break;
      case '--model':
        args.model = value();
        break;
      case '--out':
        args.out = path.resolve(value());
        args.outGiven = true;
        break;
      case '--data':
        args.data = path.resolve(value());
        break;
      case '--torch':
        args.torch = path.resolve(value());
        break;
      case '--train-examples':
        args.trainExamples = Number(value());
        break;
      case '--epochs':
        args.epochs = Number(value());
        break;
      case '--quick':
        args.quick = true;
        break;
      case '-h':
      case '--help':
        process.stdout.write(`usage: node dist/bench.js [--quick] [--variants ${VARIANTS.join(',')}] [--out file] [--data dir] [--torch file]\n(PARRY_BENCH_QUICK=1 is --quick; a quick run writes --out only when it is given)\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${a}`);
    }
  }
  return args;
}

/** Runs `node bench.js --variant ...` and returns its result line, or the reason it failed. */
function child(extra: string[]): ChildResult | { error: string } {
  const r = spawnSync(process.execPath, [process.argv[1], ...extra], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
    env: process.env,
  });
  const line = r.stdout
    ?.split('\n')
    .reverse()
    .find((l) => l.startsWith(RESULT_PREFIX));
  if (r.status === 0 && line) return JSON.parse(line.slice(RESULT_PREFIX.length)) as ChildResult;
  return { error: r.error ? r.error.message : `exit code ${r.status ?? r.signal}${line ? '' : ', no result line'}` };
}

function readTorch(file: string): TorchResult | undefined {
  try {
    const t = JSON.parse(fs.readFileSync(file, 'utf8')) as TorchResult;
    return Array.isArray(t.results) && typeof t.torch === 'string' ? t : undefined;
  } catch {
    return undefined;
  }
}

function machine(loadavgStart: number[]): Machine {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
    cores: os.availableParallelism?.() ?? cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadavgStart,
    loadavgEnd: os.loadavg(),
  };
}

async function parent(args: Args): Promise<void> {
  const t0 = performance.now();
  const loadavgStart = os.loadavg();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-bench-'));
  const modelDir = path.join(tmp, 'model');
  const common = ['--data', args.data, ...(args.quick ? ['--quick'] : [])];
  try {
    process.stderr.write(`[bench] load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}; data ${args.data}\n`);
    const train = child(['--variant', 'train', '--model', modelDir, '--train-examples', String(args.quick ? 2000 : args.trainExamples), '--epochs', String(args.epochs), ...common]);
    if ('error' in train || train.kind !== 'train') throw new Error(`training the bench model failed: ${'error' in train ? train.error : 'unexpected result'}`);
    const variants: VariantResult[] = [];
    const failures: Array<{ variant: string; error: string }> = [];
    for (const v of args.variants) {
      const r = child(['--variant', v, '--model', modelDir, ...common]);
      if ('error' in r) failures.push({ variant: v, error: r.error });
      else if (r.kind === 'variant') variants.push(r);
    }
    const torch = readTorch(args.torch);
    const input = {
      date: new Date().toISOString(),
      command: `pnpm bench (node apps/bench/dist/bench.js${args.quick ? ' --quick' : ''})`,
      machine: machine(loadavgStart),
      train: train as TrainResult,
      variants,
      failures,
      torch,
      torchFile: path.relative(ROOT, args.torch) || args.torch,
      totalSeconds: (performance.now() - t0) / 1000,
      quick: args.quick,
    };
    if (args.quick && !args.outGiven) {
      process.stdout.write(`${renderSummary(input)}\nquick run: ${path.relative(process.cwd(), args.out) || args.out} not written (pass --out to write one)\n`);
    } else {
      // keep the sections other benchmarks own (<!-- name:start --> ... <!-- name:end -->)
      const prev = fs.existsSync(args.out) ? fs.readFileSync(args.out, 'utf8') : '';
      const kept = [...prev.matchAll(/<!-- ([\w-]+):start -->[\s\S]*?<!-- \1:end -->/g)].map((m) => m[0]);
      await writeFileAtomic(args.out, [renderMarkdown(input), ...kept].join('\n\n') + '\n');
      process.stdout.write(`${renderSummary(input)}\nwrote ${path.relative(process.cwd(), args.out) || args.out}\n`);
    }
    if (failures.length) process.exitCode = 1;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.variant === undefined) return parent(args);
  if (!args.model) throw new Error('--variant needs --model <dir>');
  if (args.variant === 'train') {
    emit(await runTrain({ dataDir: args.data, modelDir: args.model, trainExamples: args.trainExamples, epochs: args.epochs }));
    return;
  }
  if (!(VARIANTS as readonly string[]).includes(args.variant)) throw new Error(`unknown variant ${args.variant}; use ${VARIANTS.join(', ')}`);
  emit(await runVariant({ variant: args.variant as VariantName, dataDir: args.data, modelDir: args.model, quick: args.quick }));
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
