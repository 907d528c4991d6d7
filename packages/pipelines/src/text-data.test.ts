import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError, UsageError, writeOutputManifest } from '@parry/core';
import { afterAll, describe, expect, it } from 'vitest';
import { isEmbeddedTextData, loadTextSplit, type TextDataSpec } from './text-data.js';
import { readTrainingInfo, TRAINING_FILE, trainingInfoJson } from './training-info.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-text-data-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function files(train: string, dev: string): TextDataSpec {
  const dir = path.join(tmp, `d${n++}`);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'train.csv'), train);
  fs.writeFileSync(path.join(dir, 'dev.csv'), dev);
  return { data: path.join(dir, 'train.csv'), dev: path.join(dir, 'dev.csv'), textColumn: 'text', labelColumn: 'label' };
}
async function errorOf(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('expected an InputError, none was thrown');
}

describe('loadTextSplit: dev and test labels are the training labels, by name (issue 14)', () => {
  it('train labels neg/pos with dev labels negative/positive are refused with dev file:line naming the label and the known ones', async () => {
    const spec = files('text,label\nbad,neg\ngood,pos\n', 'text,label\nfine,positive\nawful,negative\n');
    expect((await loadTextSplit(spec, 'train')).labelNames).toEqual(['neg', 'pos']);
    const msg = await errorOf(() => loadTextSplit(spec, 'dev'));
    expect(msg).toMatch(/dev\.csv:2: label "positive" is not a label of the training data .*train\.csv \(known: neg, pos\)/);
  });
  it('dev labels that are a subset of the training labels, in another order, keep the training ids', async () => {
    const spec = files('text,label\na,cat\nb,dog\nc,emu\n', 'text,label\nx,emu\ny,cat\n');
    const dev = await loadTextSplit(spec, 'dev');
    expect(dev.labelNames).toEqual(['cat', 'dog', 'emu']);
    expect(dev.examples.map((e) => e.label)).toEqual([2, 0]);
  });
  it('dev integer labels beyond the training range are refused with dev file:line', async () => {
    const spec = files('text,label\na,0\nb,1\n', 'text,label\nx,1\ny,2\n');
    expect(await errorOf(() => loadTextSplit(spec, 'dev'))).toMatch(/dev\.csv:3: label id 2 is out of range 0\.\.1 \(the labels of the training data/);
  });
  it('--label-names fixes the order for train and dev alike', async () => {
    const spec = { ...files('text,label\nbad,neg\ngood,pos\n', 'text,label\nfine,pos\n'), labelNames: 'pos,neg' };
    expect((await loadTextSplit(spec, 'train')).examples.map((e) => e.label)).toEqual([1, 0]);
    const dev = await loadTextSplit(spec, 'dev');
    expect(dev.labelNames).toEqual(['pos', 'neg']);
    expect(dev.examples.map((e) => e.label)).toEqual([0]);
  });
  it('dev labels matched against a trained model\'s label names, without reading the training file', async () => {
    const spec = files('text,label\nbad,neg\ngood,pos\n', 'text,label\nfine,positive\nawful,negative\n');
    fs.writeFileSync(spec.data, Buffer.from([0xff, 0xfe, 0x00])); // reading it would fail
    const known = { labelNames: ['negative', 'positive'], from: 'the model m' };
    expect((await loadTextSplit(spec, 'dev', known)).examples.map((e) => e.label)).toEqual([1, 0]);
    const other = { labelNames: ['neg', 'pos'], from: 'the model m' };
    expect(await errorOf(() => loadTextSplit(spec, 'dev', other))).toMatch(/dev\.csv:2: label "positive" is not a label of the model m \(known: neg, pos\)/);
  });
  it('dev labels read by name when training used ids are refused (no match by position)', async () => {
    const spec = files('text,label\na,0\nb,1\n', 'text,label\nx,neg\ny,pos\n');
    expect(await errorOf(() => loadTextSplit(spec, 'dev'))).toMatch(/dev\.csv:2: label "neg" is not a label of the training data/);
  });
});

describe('loadTextSplit: messages name CLI flags, not loader option keys (issue 14)', () => {
  const catchAny = async (fn: () => Promise<unknown>): Promise<string> => {
    try {
      await fn();
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('expected an error');
  };
  it('a label column that is not in the header names --label-column', async () => {
    const spec = { ...files('text,label\na,0\n', 'text,label\nb,0\n'), labelColumn: 'y' };
    expect(await catchAny(() => loadTextSplit(spec, 'train'))).toMatch(/^--label-column "y" is not a column of .*train\.csv/);
  });
  it('a CSV label 100000000 does not suggest labelBase, which the CLI has no flag for', async () => {
    const msg = await errorOf(() => loadTextSplit(files('text,label\na,0\nb,100000000\n', 'text,label\nb,0\n'), 'train'));
    expect(msg).toMatch(/train\.csv:3: label id 100000000 is out of range 0\.\.99999/);
    expect(msg).not.toMatch(/labelBase|labelMap|labelNames/);
  });
  it('a mixed integer/name label column suggests --label-names, not labelMap', async () => {
    const msg = await errorOf(() => loadTextSplit(files('text,label\na,0\nb,pos\n', 'text,label\nb,0\n'), 'train'));
    expect(msg).toMatch(/train\.csv:3: label "pos" is not an integer id \(check the label cell, or pass --label-names <names> to read labels by name\)/);
  });
});

describe('--data spam: the embedded SpamAssassin corpus (issue 19)', () => {
  const cache = path.join(tmp, 'data-cache');
  const before = process.env.PARRY_DATA_CACHE_DIR;
  afterAll(() => {
    if (before === undefined) delete process.env.PARRY_DATA_CACHE_DIR;
    else process.env.PARRY_DATA_CACHE_DIR = before;
  });

  it('loads the fixed split by name (spam or spamassassin), labels ham/spam, counts as in packages/datasets/README.md', async () => {
    process.env.PARRY_DATA_CACHE_DIR = cache; // a test never writes the user's cache
    const test = await loadTextSplit({ data: 'spam' }, 'test');
    expect(test.labelNames).toEqual(['ham', 'spam']);
    expect(test.examples.filter((e) => e.label === 1)).toHaveLength(270);
    expect(test.examples.filter((e) => e.label === 0)).toHaveLength(616);
    const dev = await loadTextSplit({ data: 'spamassassin' }, 'dev');
    expect(dev.examples).toHaveLength(886);
    expect(fs.readdirSync(cache)).toEqual(['spamassassin-0.2.3.json']);
    expect(isEmbeddedTextData('spam')).toBe(true);
    expect(isEmbeddedTextData('./spam')).toBe(false);
  });

  it('refuses --dev/--test with one line, and a ./spam folder that would be ambiguous', async () => {
    await expect(loadTextSplit({ data: 'spam', dev: 'dev.csv' }, 'dev')).rejects.toThrow(/^--dev dev\.csv: --data spam is the embedded SpamAssassin corpus with its own dev split; drop --dev/);
    const cwd = process.cwd();
    const dir = fs.mkdtempSync(path.join(tmp, 'cwd-'));
    fs.mkdirSync(path.join(dir, 'spam'));
    process.chdir(dir);
    try {
      const e = await loadTextSplit({ data: 'spam' }, 'train').catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UsageError);
      expect((e as Error).message).toBe('--data spam names the embedded SpamAssassin corpus, but ./spam exists too; write --data ./spam to read that instead, or run from another folder');
    } finally {
      process.chdir(cwd);
    }
  });

  it('a model trained on --data spam records the name, not a path, and evaluation reads it back', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'model-'));
    const json = trainingInfoJson({ data: 'spam' }, 128);
    expect(JSON.parse(json).data).toEqual({ data: 'spam' });
    fs.writeFileSync(path.join(dir, TRAINING_FILE), json);
    writeOutputManifest(dir, 'text-model', [TRAINING_FILE]);
    expect(readTrainingInfo(dir).data).toEqual({ data: 'spam' });
    // an ordinary relative path is still made absolute
    expect(JSON.parse(trainingInfoJson({ data: 'rel/train.csv' }, 128)).data.data).toBe(path.resolve('rel/train.csv'));
  });
});
