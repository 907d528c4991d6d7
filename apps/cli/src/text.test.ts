import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parry } from './test-support.js';



/** Toy reviews: positive ones contain "great" or "fun", negative ones "awful" or "boring"; multi-label tags the topic too. */
function writeToyData(dir: string): void {
  const filler = ['the', 'movie', 'plot', 'was', 'really', 'quite', 'a', 'story', 'film', 'and', 'cast', 'so'];
  const pos = ['great', 'fun'];
  const neg = ['awful', 'boring'];
  let s = 1;
  const rand = (n: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
  const rows = (n: number) =>
    Array.from({ length: n }, () => {
      const label = rand(2);
      const words = Array.from({ length: 4 + rand(6) }, () => filler[rand(filler.length)]);
      words.splice(rand(words.length), 0, (label ? pos : neg)[rand(2)]);
      const music = rand(2) === 1;
      if (music) words.splice(rand(words.length), 0, 'soundtrack');
      return { text: words.join(' '), label, tags: [label ? 'positive' : 'negative', ...(music ? ['music'] : [])] };
    });
  for (const [split, n] of [['train', 400], ['dev', 120]] as const) {
    const r = rows(n);
    fs.writeFileSync(path.join(dir, `${split}.csv`), `review,sentiment\n${r.map((x) => `"${x.text}",${x.label}`).join('\n')}\n`);
    fs.writeFileSync(path.join(dir, `${split}.jsonl`), r.map((x) => JSON.stringify({ text: x.text, tags: x.tags })).join('\n'));
  }
}

describe('parry train / eval on text models', () => {
  let work: string;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-cli-text-'));
    writeToyData(work);
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  const small = ['--model', 'bert', '--hidden', '32', '--layers', '1', '--heads', '2', '--max-length', '24', '--vocab-size', '200', '--lr', '3e-3', '--quiet'];

  it('trains a single-label model from scratch on a CSV, saves a Hugging Face folder, and evaluates it', () => {
    const out = path.join(work, 'sentiment');
    const r = parry(['train', ...small, '--data', 'train.csv', '--dev', 'dev.csv', '--text-column', 'review', '--label-column', 'sentiment', '--label-names', 'neg,pos', '--epochs', '4', '--out', out], work);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(['.parry-output.json', 'config.json', 'model.safetensors', 'parry_training.json', 'tokenizer.json', 'tokenizer_config.json', 'train-results.json', 'vocab.txt']);
    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(config.architectures).toEqual(['BertForSequenceClassification']);
    expect(config.id2label).toEqual({ 0: 'neg', 1: 'pos' });
    const train = JSON.parse(fs.readFileSync(path.join(out, 'train-results.json'), 'utf8'));
    expect(train.clean.accuracy).toBeGreaterThanOrEqual(0.9);
    // issue 17: no --threads, so the thread count is chosen for the model: hidden 32 is below 512, 1 thread
    const reason = process.env.PARRY_THREADS?.trim() ? 'PARRY_THREADS' : 'auto: hidden size 32 < 512';
    if (train.environment.backend.name === 'wasm') expect(train.environment.backend).toMatchObject({ threads: process.env.PARRY_THREADS?.trim() ? Number(process.env.PARRY_THREADS) : 1, threadsReason: reason });

    const res = path.join(work, 'eval.json');
    const e = parry(['eval', '--model', out, '-o', res, '--quiet'], work);
    expect(e.stderr).toBe('');
    expect(e.code).toBe(0);
    const results = JSON.parse(fs.readFileSync(res, 'utf8'));
    expect(results.kind).toBe('eval');
    expect(results.clean.n).toBe(120);
    expect(results.clean.accuracy).toBeCloseTo(train.clean.accuracy, 10);
    if (results.environment.backend.name === 'wasm') expect(results.environment.backend.threadsReason).toBe(reason);
    // the backend line says it too (without --quiet), and --threads is refused outside 1 and 2 with one line
    const loud = parry(['eval', '--model', out, '-n', '8', '-o', path.join(work, 'eval-loud.json')], work);
    expect(loud.code).toBe(0);
    if (results.environment.backend.name === 'wasm') expect(loud.stderr + loud.stdout).toContain(`backend wasm, ${results.environment.backend.threads} thread`);
    expect(loud.stderr + loud.stdout).toContain(`(${reason})`);
    const bad = parry(['eval', '--model', out, '--threads', '3', '-o', path.join(work, 'eval-bad.json')], work);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^.*--threads must be 1 or 2, got "3"$/);
  });

  it('attacks a text model with a recipe (white-box) and the ONNX fixture through transformers.js (black-box)', () => {
    const model = path.join(work, 'sentiment');
    const out = path.join(work, 'attack.json');
    const r = parry(['eval', '--model', model, '--attack', 'deepwordbug', '--limit', '20', '-o', out, '--quiet'], work);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const res = JSON.parse(fs.readFileSync(out, 'utf8'));
    const a = res.attacks[0];
    expect(a).toMatchObject({ modality: 'text', attack: 'parry/deepwordbug', n: 20 });
    expect(a.successful + a.failed + a.skipped).toBe(20);
    expect(a.totalQueries).toBeGreaterThanOrEqual(20);
    // the clean metrics are measured on the same 20 examples, by the same model
    expect(res.clean.n).toBe(20);
    expect(a.cleanAccuracy).toBeCloseTo(res.clean.accuracy, 10);
    const fixture = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../packages/attacks/test/fixtures/onnx-tiny-bert');
    const bb = path.join(work, 'blackbox.json');
    const b = parry(['eval', '--model', fixture, '--attack', 'deepwordbug', '--black-box', '--data', 'train.csv', '--dev', 'dev.csv', '--text-column', 'review', '--label-column', 'sentiment', '--label-names', 'negative,positive', '--limit', '5', '-o', bb, '--quiet'], work);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(bb, 'utf8')).attacks[0].totalQueries).toBeGreaterThanOrEqual(5);
  });

  it('fine-tunes a saved folder (new head for a new label set) and resumes from checkpoints', () => {
    const base = path.join(work, 'sentiment');
    const out = path.join(work, 'finetuned');
    const args = ['train', '--model', base, '--data', 'train.jsonl', '--dev', 'dev.jsonl', '--text-column', 'text', '--label-column', 'tags', '--multi-label', '--epochs', '2', '--lr', '3e-3', '--quiet', '--out', out, '--checkpoint-dir', `${out}.ck`];
    const r = parry(args, work);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const results = JSON.parse(fs.readFileSync(path.join(out, 'train-results.json'), 'utf8'));
    expect(results.training.hyperparameters.from).toBe(`fine-tuned from ${base}`);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).id2label).toEqual({ 0: 'music', 1: 'negative', 2: 'positive' });
    // the tokenizer (and encoder) came from the base folder
    expect(fs.readFileSync(path.join(out, 'vocab.txt'), 'utf8')).toBe(fs.readFileSync(path.join(base, 'vocab.txt'), 'utf8'));
    // a resumed run with the same flags continues from the last checkpoint and ends with the same results
    const again = parry([...args, '--resume'], work);
    expect(again.code).toBe(0);
    const resumed = JSON.parse(fs.readFileSync(path.join(out, 'train-results.json'), 'utf8'));
    expect(resumed.training.epochs).toEqual(results.training.epochs.map((e: Record<string, unknown>) => ({ ...e, seconds: expect.any(Number), trainSeconds: expect.any(Number) })));
    expect(resumed.clean).toEqual(results.clean);
  });

  it('trains a multi-label model on JSONL with per-label thresholds and reports per-label metrics', () => {
    const out = path.join(work, 'tags');
    const r = parry(['train', ...small, '--data', 'train.jsonl', '--dev', 'dev.jsonl', '--text-column', 'text', '--label-column', 'tags', '--multi-label', '--pos-weight', 'auto', '--epochs', '6', '--out', out], work);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(config.problem_type).toBe('multi_label_classification'); // Hugging Face's spelling in config.json
    const results = JSON.parse(fs.readFileSync(path.join(out, 'train-results.json'), 'utf8'));
    expect(results.perLabel.map((l: { label: string }) => l.label)).toEqual(['music', 'negative', 'positive']);
    for (const l of results.perLabel) expect(l.threshold).toBeGreaterThan(0);
    expect(results.clean.macroF1).toBeGreaterThanOrEqual(0.8);
    const info = JSON.parse(fs.readFileSync(path.join(out, 'parry_training.json'), 'utf8'));
    expect(info.thresholds).toHaveLength(3);
    // negatives / positives per label on the training set, at least 1
    const rows = fs.readFileSync(path.join(work, 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).tags as string[]);
    const expected = ['music', 'negative', 'positive'].map((t) => {
      const pos = rows.filter((r) => r.includes(t)).length;
      return Number(Math.max(1, (rows.length - pos) / pos).toFixed(4));
    });
    expect(results.training.hyperparameters.positiveWeights).toEqual(expected);
  });

  it('composes text defenses and augmentation from the command line and records them', () => {
    const out = path.join(work, 'hardened');
    const args = ['--data', 'train.csv', '--dev', 'dev.csv', '--text-column', 'review', '--label-column', 'sentiment', '--epochs', '1', '--limit', '100'];
    const r = parry(['train', ...small, ...args, '--defense', 'fgm,r-drop', '--def-opt', 'fgm.eps=0.05', '--augment', 'eda', '--num-aug', '1', '--out', out], work);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const h = JSON.parse(fs.readFileSync(path.join(out, 'train-results.json'), 'utf8')).training.hyperparameters;
    expect(h.defenses).toMatchObject([{ name: 'parry/fgm', options: { eps: 0.05 }, effective: { relative: true, startEpoch: 2 } }, { name: 'parry/r-drop', options: { alpha: 1 }, effective: { startEpoch: 2 } }]);
    expect(h.augment).toEqual({ method: 'eda', numAug: 1, rate: 0.1, trainExamples: 200 });
    expect(h.nTrain).toBe(200);
  });

  it('refuses bad input with one line and exit code 2, writing nothing', () => {
    const before = fs.readdirSync(work).sort();
    const fixture = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../packages/attacks/test/fixtures/onnx-tiny-bert');
    const cases: Array<[string[], RegExp]> = [
      [['train', ...small, '--data', 'missing.csv', '--out', 'x'], /missing\.csv not found/],
      [['train', ...small, '--data', 'train.csv', '--dev', 'dev.csv', '--text-column', 'review', '--out', 'x'], /--label-column is needed/],
      [['train', ...small, '--data', 'train.csv', '--dev', 'dev.csv', '--text-column', 'review', '--label-column', 'sentiment', '--defense', 'trades', '--out', 'x'], /trains image models/],
      [['train', ...small, '--data', 'train.csv', '--dev', 'dev.csv', '--text-column', 'review', '--label-column', 'sentiment', '--pos-weight', 'auto', '--out', 'x'], /--pos-weight is for multi-label/],
      [['train', '--model', 'someone/missing', '--offline', '--data', 'train.csv', '--dev', 'dev.csv', '--text-column', 'review', '--label-column', 'sentiment', '--out', 'x'], /offline/i],
      [['eval', '--model', path.join(work, 'nowhere', 'org'), '--out', 'x.json'], /.+/],
      // the masked-LM recipes without a masked language model, refused before the model or data are read
      [['eval', '--model', fixture, '--attack', 'bae', '--data', 'train.csv', '--out', 'x.json'], /^parry: --attack parry\/bae needs a masked language model: pass --masked-lm <folder>/],
      [['eval', '--model', fixture, '--attack', 'bert-attack', '--black-box', '--data', 'train.csv', '--out', 'x.json'], /^parry: --attack parry\/bert-attack needs a masked language model: pass --masked-lm <folder>/],
      [['eval', '--model', fixture, '--masked-lm', 'mlm', '--data', 'train.csv', '--out', 'x.json'], /^parry: --masked-lm applies to attacks/],
    ];
    for (const [args, message] of cases) {
      const r = parry(args, work);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    expect(fs.readdirSync(work).sort()).toEqual(before);
  });
});
