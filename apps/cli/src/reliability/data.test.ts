/**
 * Reliability suite, data and results inputs (issue 14): hostile IDX directories and CSV files through `parry train`,
 * hostile results files through `parry report`. Each row: exit 2, one stderr line naming the file (and line), nothing
 * written anywhere in the sandbox, bounded memory and time.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { diff, expectBounded, expectOneLine, expectUnchanged, runParry, sandbox, snapshot } from './harness.js';

/** A hand-made IDX file (big-endian header, uint8 data). */
function idx(shape: number[], fill = 0): Buffer {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header[2] = 0x08;
  header[3] = shape.length;
  shape.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.alloc(shape.reduce((p, d) => p * d, 1), fill)]);
}

interface Case {
  name: string;
  /** Builds the hostile input in `dir`; returns the extra CLI arguments. */
  setup: (dir: string) => string[];
  match: RegExp;
  maxRssMb?: number;
}

let work: string;
beforeAll(() => {
  work = sandbox('data');
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

async function refused(c: Case, command: string[]): Promise<void> {
  const dir = fs.mkdtempSync(path.join(work, 'case-'));
  const args = c.setup(dir);
  const before = snapshot(dir);
  const r = await runParry([...command, ...args], { cwd: dir, timeoutMs: 60_000 });
  expectOneLine(r, 2, c.match);
  expectBounded(r, { maxRssMb: c.maxRssMb ?? 1024, maxMs: 60_000 });
  expectUnchanged(diff(before, snapshot(dir)));
}

describe('reliability: hostile IDX data through parry train', () => {
  const mnist = (dir: string, files: Partial<Record<'trainImages' | 'trainLabels' | 'testImages' | 'testLabels', Buffer | string>>): string[] => {
    const d = path.join(dir, 'mnist');
    fs.mkdirSync(d);
    const all = { trainImages: idx([4, 28, 28], 9), trainLabels: idx([4], 1), testImages: idx([2, 28, 28], 9), testLabels: idx([2], 1), ...files };
    const names = { trainImages: 'train-images-idx3-ubyte', trainLabels: 'train-labels-idx1-ubyte', testImages: 't10k-images-idx3-ubyte', testLabels: 't10k-labels-idx1-ubyte' };
    for (const [k, v] of Object.entries(all)) {
      const p = path.join(d, names[k as keyof typeof names]);
      if (typeof v === 'string') fs.symlinkSync(v, p);
      else fs.writeFileSync(p, v);
    }
    return ['--data', 'mnist', '--epochs', '1', '--out', 'model', '--quiet'];
  };
  const cases: Case[] = [
    { name: 'IDX files with 0 training images', setup: (d) => mnist(d, { trainImages: idx([0, 28, 28]), trainLabels: idx([0]) }), match: /IDX file .*train-images-idx3-ubyte has 0 images/ },
    { name: 'an IDX label file whose count differs from the images', setup: (d) => mnist(d, { trainLabels: idx([3], 1) }), match: /train-labels-idx1-ubyte has 3 labels but .*train-images-idx3-ubyte has 4 images/ },
    { name: 'a truncated IDX image file', setup: (d) => mnist(d, { testImages: idx([2, 28, 28]).subarray(0, 900) }), match: /t10k-images-idx3-ubyte is truncated or corrupt/ },
    {
      name: '--data naming a file instead of the IDX directory',
      setup: (d) => (fs.writeFileSync(path.join(d, 'train-images-idx3-ubyte'), idx([1, 28, 28])), ['--data', 'train-images-idx3-ubyte', '--epochs', '1', '--out', 'model', '--quiet']),
      match: /^parry: --data .*train-images-idx3-ubyte is a file, not a directory; pass the directory that holds the MNIST IDX files$/,
    },
    { name: 'an IDX file that is a link to /dev/zero', setup: (d) => mnist(d, { trainImages: '/dev/zero' }), match: /train-images-idx3-ubyte is not a regular file/, maxRssMb: 600 },
  ];
  for (const c of cases) it(`${c.name}: exit 2, one line, nothing written`, () => refused(c, ['train']));
});

describe('reliability: hostile text data through parry train', () => {
  const TEXT = ['train', '--model', 'bert', '--layers', '1', '--hidden', '16', '--heads', '2', '--intermediate', '32', '--max-length', '16', '--vocab-size', '100', '--epochs', '1', '--text-column', 'text', '--label-column', 'label', '--out', 'model', '--quiet'];
  const rows = 'text,label\n"a great film",1\n"an awful film",0\n';
  const csv = (train: string | Buffer, dev: string | Buffer = rows) => (dir: string): string[] => {
    fs.writeFileSync(path.join(dir, 'train.csv'), train);
    fs.writeFileSync(path.join(dir, 'dev.csv'), dev);
    return ['--data', 'train.csv', '--dev', 'dev.csv'];
  };
  const cases: Case[] = [
    { name: 'a CSV label 100000000', setup: csv(`${rows}"a third film",100000000\n`), match: /train\.csv:4: label id 100000000 is out of range 0\.\.99999/, maxRssMb: 700 },
    { name: 'a CSV label 99999999999999999999', setup: csv(`${rows}"a third film",99999999999999999999\n`), match: /train\.csv:4: label id 99999999999999999999 is out of range/, maxRssMb: 700 },
    {
      name: 'train labels neg/pos with dev labels negative/positive',
      setup: csv('text,label\n"a great film",pos\n"an awful film",neg\n', 'text,label\n"fine",positive\n"bad",negative\n'),
      match: /dev\.csv:2: label "positive" is not a label of the training data train\.csv \(known: neg, pos\)/,
    },
    {
      name: 'invalid UTF-8 in the training data',
      setup: csv(Buffer.concat([Buffer.from(`${rows}"caf`), Buffer.from([0xe9]), Buffer.from('",1\n')])),
      match: /train\.csv:4: invalid UTF-8 .*re-save the file as UTF-8/,
    },
    {
      name: 'invalid UTF-8 in the dev data',
      setup: csv(rows, Buffer.concat([Buffer.from('text,label\n"ok",1\n'), Buffer.from([0xc3, 0x28]), Buffer.from(',0\n')])),
      match: /dev\.csv:3: invalid UTF-8/,
    },
  ];
  for (const c of cases) it(`${c.name}: exit 2, one line, nothing written`, () => refused(c, TEXT));
});

describe('reliability: hostile results files through parry report', () => {
  const good = {
    schema: 'parry-results',
    version: 2,
    kind: 'eval',
    createdAt: '2026-11-22T00:00:00.000Z',
    command: ['parry', 'eval'],
    seed: 0,
    environment: {},
    dataset: { name: 'mnist', source: 'test', split: 'test', n: 2 },
    model: { modality: 'image', name: 'm', inputShape: [2, 2, 1], numClasses: 10, bounds: [0, 1] },
    clean: { accuracy: 1, n: 2 },
    attacks: [
      {
        modality: 'image', attack: 'parry/fgsm', norm: 'linf', options: {}, cleanAccuracy: 1, n: 2, wallTimeMs: 1, gradientEvaluations: 2, forwardEvaluations: 2,
        perEpsilon: [{ epsilon: 0.1, robustAccuracy: 0.5, attackSuccessRate: 0.5, linf: null, l2: null }],
        examples: [{ index: 0, shape: [2, 2, 1], label: 1, prediction: 1, original: 'AAAAAA==', perEpsilon: [{ epsilon: 0.1, adversarial: 'AAAAAA==', prediction: 2, success: true }] }],
      },
    ],
  };
  const file = (name: string, content: string | Buffer) => (dir: string): string[] => {
    fs.writeFileSync(path.join(dir, name), content);
    return [name];
  };
  const whole = JSON.stringify(good, null, 2);
  const cases: Case[] = [
    {
      name: 'a directory given as a results file',
      setup: (d) => {
        fs.mkdirSync(path.join(d, 'run'));
        fs.writeFileSync(path.join(d, 'run', 'results.json'), whole);
        return ['run'];
      },
      match: /results file run is a directory; pass run\/results\.json/,
    },
    { name: 'a missing results file', setup: () => ['nope.json'], match: /results file nope\.json not found/ },
    { name: 'a truncated results file', setup: file('cut.json', whole.slice(0, 200)), match: /results file cut\.json is truncated/ },
    { name: 'a non-JSON results file', setup: file('page.json', '<html>captive portal</html>'), match: /results file page\.json is not JSON/ },
    { name: 'a results file of a newer schema version', setup: file('v9.json', JSON.stringify({ ...good, version: 9 })), match: /v9\.json was written by a newer Parry .*upgrade Parry/ },
    {
      name: 'example bytes that do not match their declared shape',
      setup: file('pixels.json', whole.replaceAll('AAAAAA==', 'AAA=')),
      match: /pixels\.json is not a valid Parry results file: attacks\.0\.examples\.0\.original: 2 bytes, but shape \[2, 2, 1\] needs 4/,
    },
    { name: 'a results file that is a link to /dev/zero', setup: (d) => (fs.symlinkSync('/dev/zero', path.join(d, 'zero.json')), ['zero.json']), match: /zero\.json is not a regular file/, maxRssMb: 600 },
  ];
  for (const c of cases) it(`${c.name}: exit 2, one line, nothing written`, () => refused(c, ['report', '-o', 'report', '--quiet']));
});
