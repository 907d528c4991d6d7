/**
 * Reliability suite, saved models, training checkpoints and the report: a tiny image model trained once, then corrupted
 * copies of its folder (parry.json, model.json), of its checkpoints (`parry train --resume --checkpoint-dir`) and of
 * its results file (`parry report`). Each refusal: exit 2, one stderr line naming the file and the fix, nothing
 * written, bounded peak RSS and time. Bidi controls in a results file reach the report only as visible code points.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InputError, initBackend } from '@parry/core';
import { readCheckpoint, writeCheckpoint } from '@parry/defenses';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diff, expectBounded, expectOneLine, expectUnchanged, runParry, sandbox, snapshot } from './harness.js';

const BOUNDS = { maxRssMb: 1024, maxMs: 30_000 };
const TRAIN = ['train', '--epochs', '1', '--limit', '256', '-q'];
const BIDI = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/u;

type Json = any;
const readJson = (file: string): Json => JSON.parse(fs.readFileSync(file, 'utf8'));
const writeJson = (file: string, j: unknown) => fs.writeFileSync(file, typeof j === 'string' ? j : JSON.stringify(j));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('reliability: models, checkpoints and the report', () => {
  let work: string;

  beforeAll(async () => {
    work = sandbox('models');
    const t = await runParry([...TRAIN, '--out', 'm', '--checkpoint-dir', 'ck'], { cwd: work });
    expect(t.code, t.stderr).toBe(0);
    const e = await runParry(['eval', '--model', 'm', '--attack', 'fgsm', '--eps', '0.1', '--out', 'results.json', '-q'], { cwd: work });
    expect(e.code, e.stderr).toBe(0);
    expect(readJson(path.join(work, 'results.json')).attacks[0].examples.length).toBeGreaterThan(0);
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  /** A fresh sandbox holding copies of the trained model, its checkpoints and its results, with `edit` applied. */
  const setup = (name: string, edit: (dir: string) => void): string => {
    const dir = sandbox(`models-${name}`);
    for (const f of ['m', 'ck', 'results.json']) fs.cpSync(path.join(work, f), path.join(dir, f), { recursive: true });
    edit(dir);
    return dir;
  };
  const editModel = (file: 'parry.json' | 'model.json', change: (j: Json) => Json | void) => (dir: string) => {
    const p = path.join(dir, 'm', file);
    const j = readJson(p);
    writeJson(p, change(j) ?? j);
  };
  const CKPT = path.join('ck', 'epoch-0001');
  /** Rewrite checkpoint.json (and tensors.bin), recomputing the checksum as a forger would. */
  const forgeCheckpoint = (change: (meta: Json, bin: Buffer) => Buffer | void) => (dir: string) => {
    const metaFile = path.join(dir, CKPT, 'checkpoint.json');
    const binFile = path.join(dir, CKPT, 'tensors.bin');
    const meta = readJson(metaFile);
    const original = fs.readFileSync(binFile);
    const bin = change(meta, original) ?? original;
    fs.writeFileSync(binFile, bin);
    meta.sha256 = sha(bin);
    writeJson(metaFile, meta);
  };

  const EVAL = ['eval', '--model', 'm', '--attack', 'fgsm', '--eps', '0.1', '--out', 'r.json', '-q'];
  const RESUME = [...TRAIN, '--out', 'm2', '--resume', '--checkpoint-dir', 'ck'];
  const REPORT = ['report', 'results.json', '-o', 'report'];

  const cases: Array<{ name: string; edit: (dir: string) => void; args: string[]; match: RegExp }> = [
    { name: 'parry.json bounds ["a","b"]', edit: editModel('parry.json', (j) => void (j.bounds = ['a', 'b'])), args: EVAL, match: /parry\.json is invalid: bounds\[0\]/ },
    { name: 'model.json with shape: null', edit: editModel('model.json', (j) => void (j.weightsManifest[0].weights[0].shape = null)), args: EVAL, match: /model\.json is invalid: weightsManifest\[0\]\.weights\[0\]\.shape/ },
    { name: 'parry.json inputShape that contradicts model.json', edit: editModel('parry.json', (j) => void (j.inputShape = [32, 32, 3])), args: EVAL, match: /parry\.json is invalid: inputShape \[32,32,3\] contradicts model\.json/ },
    { name: 'parry.json numClasses that contradicts model.json', edit: editModel('parry.json', (j) => void (j.numClasses = 7)), args: EVAL, match: /parry\.json is invalid: numClasses 7 contradicts model\.json \(10\)/ },
    { name: 'parry.json that is not an object', edit: editModel('parry.json', () => [1, 2]), args: EVAL, match: /parry\.json is not an object/ },
    { name: 'model.json that is not an object', edit: editModel('model.json', () => 42), args: EVAL, match: /model\.json is not an object/ },
    { name: 'weightsManifest entry with a negative shape', edit: editModel('model.json', (j) => void (j.weightsManifest[0].weights[0].shape[0] = -3)), args: EVAL, match: /model\.json is invalid: weightsManifest\[0\]\.weights\[0\]\.shape\[0\]/ },
    { name: 'weightsManifest entry with a huge shape', edit: editModel('model.json', (j) => void (j.weightsManifest[0].weights[0].shape = [2 ** 30, 2 ** 30])), args: EVAL, match: /model\.json is invalid: weightsManifest\[0\]\.weights\[0\]\.shape/ },
    { name: 'weightsManifest entry with an unknown dtype', edit: editModel('model.json', (j) => void (j.weightsManifest[0].weights[0].dtype = 'float64')), args: EVAL, match: /model\.json is invalid: weightsManifest\[0\]\.weights\[0\]\.dtype/ },
    { name: 'model.json topology with units 4,000,000 (1.6 GB before the mismatch)', edit: editModel('model.json', (j) => void (j.modelTopology.config.layers.filter((l: Json) => l.class_name === 'Dense').at(-1).config.units = 4_000_000)), args: EVAL, match: /model\.json is invalid: .*larger than any weight in weightsManifest/ },
    { name: '--resume --checkpoint-dir <a file>', edit: (dir) => fs.writeFileSync(path.join(dir, 'notes.txt'), 'keep'), args: [...TRAIN, '--out', 'm2', '--resume', '--checkpoint-dir', 'notes.txt'], match: /--checkpoint-dir notes\.txt is a file/ },
    { name: 'a checkpoint missing tensors.bin', edit: (dir) => fs.rmSync(path.join(dir, CKPT, 'tensors.bin')), args: RESUME, match: /checkpoint ck\/epoch-0001 is corrupt: tensors\.bin not found.*; .*--checkpoint-dir/ },
    { name: 'a forged checkpoint whose sizes do not match', edit: forgeCheckpoint((m) => void (m.tensors[0].bytes += 4)), args: RESUME, match: /checkpoint ck\/epoch-0001 is corrupt: .*tensors\[0\].*--checkpoint-dir/ },
    { name: 'a forged checkpoint whose offsets do not match', edit: forgeCheckpoint((m) => void (m.tensors[1].offset = 0)), args: RESUME, match: /checkpoint ck\/epoch-0001 is corrupt: .*tensors\[1\].*starts at byte 0/ },
    { name: 'a forged checkpoint whose checksum does not match', edit: (dir) => { const f = path.join(dir, CKPT, 'checkpoint.json'); const m = readJson(f); m.sha256 = '0'.repeat(64); writeJson(f, m); }, args: RESUME, match: /checkpoint ck\/epoch-0001 is corrupt: .*checksum/ },
    { name: 'a forged checkpoint with non-finite weights', edit: forgeCheckpoint((_, bin) => void bin.writeFloatLE(Number.POSITIVE_INFINITY, 0)), args: RESUME, match: /checkpoint ck\/epoch-0001 is corrupt: .*not finite/ },
    { name: 'a forged checkpoint with a non-finite number in its state', edit: (dir) => { const f = path.join(dir, CKPT, 'checkpoint.json'); writeJson(f, fs.readFileSync(f, 'utf8').replace(/"optimizerStep":\d+/, '"optimizerStep":1e999')); }, args: RESUME, match: /checkpoint ck\/epoch-0001 is corrupt: .*optimizerStep is not finite/ },
    { name: 'a checkpoint with wrong variable names for the model being trained', edit: (dir) => { const f = path.join(dir, CKPT, 'checkpoint.json'); const m = readJson(f); for (const t of m.tensors) t.name = t.name.replace(/^weights\//, 'w/'); writeJson(f, m); }, args: RESUME, match: /checkpoint ck\/epoch-0001 does not fit this model/ },
    { name: 'report with example bytes that do not match their shape', edit: (dir) => { const f = path.join(dir, 'results.json'); const r = readJson(f); r.attacks[0].examples[1].original = Buffer.alloc(10).toString('base64'); writeJson(f, r); }, args: REPORT, match: /results\.json.*examples\.1\.original: 10 bytes, but shape \[28, 28, 1\] needs 784/ },
  ];

  it.each(cases)('$name: exit 2, one line naming the file, nothing written, bounded', async ({ name, edit, args, match }) => {
    const dir = setup(name, edit);
    const before = snapshot(dir);
    const r = await runParry(args, { cwd: dir, timeoutMs: 60_000 });
    expectOneLine(r, 2, match);
    expectBounded(r, BOUNDS);
    expectUnchanged(diff(before, snapshot(dir)));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('report with bidi controls in model, dataset, label, attack names and text: exit 0, the controls shown as code points', async () => {
    const dir = setup('bidi', (d) => {
      const f = path.join(d, 'results.json');
      const r = readJson(f);
      r.model.name = '\u202Eledom\u202C';
      r.model.labelNames = Array.from({ length: 10 }, (_, k) => `\u2067${k}\u2069`);
      r.dataset.name = 'digits\u200F\u061C';
      r.attacks[0].attack = 'fgsm\u202D\u200E';
      writeJson(f, r);
    });
    const r = await runParry(REPORT, { cwd: dir, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expectBounded(r, BOUNDS);
    for (const file of ['report.html', 'report.md']) {
      const text = fs.readFileSync(path.join(dir, 'report', file), 'utf8');
      expect(text, file).not.toMatch(BIDI);
      expect(text, file).toContain('U+202E');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

/** Text training writes its checkpoints with the same `writeCheckpoint` and reads them through the same validator. */
describe('reliability: text training checkpoints', () => {
  let work: string;
  const SIZES = ['--model', 'bert', '--hidden', '16', '--layers', '1', '--heads', '2', '--intermediate', '32', '--max-length', '16', '--vocab-size', '100'];
  const DATA = ['--data', 'train.csv', '--dev', 'dev.csv', '--text-column', 'text', '--label-column', 'label'];
  const TEXT = ['train', ...SIZES, '--epochs', '1', ...DATA, '--quiet'];

  beforeAll(async () => {
    work = sandbox('models-text');
    const rows = (n: number, off: number) => Array.from({ length: n }, (_, i) => `"the film was ${(i + off) % 2 ? 'great' : 'awful'}",${(i + off) % 2}`).join('\n');
    fs.writeFileSync(path.join(work, 'train.csv'), `text,label\n${rows(20, 0)}\n`);
    fs.writeFileSync(path.join(work, 'dev.csv'), `text,label\n${rows(6, 1)}\n`);
    const r = await runParry([...TEXT, '--out', 'tm', '--checkpoint-dir', 'ck'], { cwd: work });
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  const CKPT = path.join('ck', 'epoch-0001');
  const metaOf = (dir: string) => path.join(dir, CKPT, 'checkpoint.json');
  const RESUME = [...TEXT, '--out', 'tm2', '--resume', '--checkpoint-dir', 'ck'];
  const cases: Array<{ name: string; edit: (dir: string) => void; args: string[]; match: RegExp }> = [
    { name: 'text: --resume --checkpoint-dir <a file>', edit: (dir) => fs.writeFileSync(path.join(dir, 'notes.txt'), 'keep'), args: [...TEXT, '--out', 'tm2', '--resume', '--checkpoint-dir', 'notes.txt'], match: /--checkpoint-dir notes\.txt is a file/ },
    { name: 'text: a checkpoint missing tensors.bin', edit: (dir) => fs.rmSync(path.join(dir, CKPT, 'tensors.bin')), args: RESUME, match: /checkpoint ck\/epoch-0001 is corrupt: tensors\.bin not found.*; .*--checkpoint-dir/ },
    { name: 'text: a forged checkpoint whose sizes do not match', edit: (dir) => { const m = readJson(metaOf(dir)); m.tensors[2].bytes *= 2; writeJson(metaOf(dir), m); }, args: RESUME, match: /checkpoint ck\/epoch-0001 is corrupt: .*tensors\[2\]/ },
    { name: 'text: a forged checkpoint with a non-finite epoch', edit: (dir) => writeJson(metaOf(dir), fs.readFileSync(metaOf(dir), 'utf8').replace(/"epoch":1,/, '"epoch":1e999,')), args: RESUME, match: /checkpoint ck\/epoch-0001 is corrupt: .*epoch is not finite/ },
  ];

  it.each(cases)('$name: exit 2, one line naming the checkpoint, nothing written, bounded', async ({ name, edit, args, match }) => {
    const dir = sandbox(`models-${name}`);
    for (const f of ['train.csv', 'dev.csv', 'ck']) fs.cpSync(path.join(work, f), path.join(dir, f), { recursive: true });
    edit(dir);
    const before = snapshot(dir);
    const r = await runParry(args, { cwd: dir, timeoutMs: 60_000 });
    expectOneLine(r, 2, match);
    expectBounded(r, BOUNDS);
    expectUnchanged(diff(before, snapshot(dir)));
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

/**
 * Property-based fuzzer for the checkpoint validator (in process; fast-check is a dev dependency of the CLI, not of
 * defenses): mutations of a real checkpoint — a field of checkpoint.json replaced by any JSON value or a hostile
 * number, a field deleted, the text cut, tensors.bin resized or a byte flipped, the checksum recomputed as a forger
 * would. Property: `readCheckpoint` returns tensors that match the table it validated, or throws one `InputError`
 * line naming the checkpoint and `--checkpoint-dir`; never another error, and no tensor is left behind.
 */
describe('reliability: checkpoint fuzzer', () => {
  let base: string;
  let json: Json;
  let bin: Buffer;
  beforeAll(async () => {
    await initBackend();
    base = sandbox('ckpt-fuzz');
    const tensors = { 'weights/0': tf.tensor2d([[1, 2, 3], [4, 5, 6]]), 'weights/1': tf.tensor1d([0.5, -0.5]), 'opt/step': tf.tensor1d([7], 'int32') };
    const dir = await writeCheckpoint(path.join(base, 'src'), 1, { configKey: 'k', records: [{ epoch: 1, loss: 0.5 }], optimizerStep: 3 }, tensors);
    tf.dispose(Object.values(tensors));
    json = readJson(path.join(dir, 'checkpoint.json'));
    bin = fs.readFileSync(path.join(dir, 'tensors.bin'));
  });
  afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

  const PATHS: (string | number)[][] = [
    ['format'], ['version'], ['epoch'], ['sha256'], ['tensors'], ['state'], ['state', 'records'], ['state', 'optimizerStep'],
    ...[0, 1, 2].flatMap((i) => [['tensors', i], ['tensors', i, 'name'], ['tensors', i, 'shape'], ['tensors', i, 'shape', 0], ['tensors', i, 'dtype'], ['tensors', i, 'offset'], ['tensors', i, 'bytes']]),
  ];
  const HOSTILE = fc.constantFrom<unknown>(-1, 0, 0.5, 1, 2, 3, 4, 8, 24, 2 ** 31, 2 ** 53, 1e308, '', 'weights/0', 'float64', 'int32', null, [], {}, [2, 3], [3, 2], [2 ** 31, 2 ** 31]);
  type Mutation =
    | { kind: 'set'; at: number; value: unknown }
    | { kind: 'delete'; at: number }
    | { kind: 'cut'; at: number }
    | { kind: 'resize'; bytes: number }
    | { kind: 'flip'; at: number; value: number }
    | { kind: 'infinity' };
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.oneof(HOSTILE, fc.jsonValue({ maxDepth: 2 })) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('resize' as const), bytes: fc.integer({ min: -8, max: 8 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'infinity' as const }) },
  );

  it('3,000 mutated checkpoints: each reads consistently or is refused with one InputError line naming it', async () => {
    const before = tf.memory().numTensors;
    let n = 0;
    let loaded = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.boolean(), (muts, reseal) => {
        const dir = path.join(base, `epoch-${String(1).padStart(4, '0')}`);
        fs.rmSync(dir, { recursive: true, force: true });
        fs.mkdirSync(dir);
        const j = structuredClone(json);
        let b = Buffer.from(bin);
        let text: string | undefined;
        for (const m of muts) {
          if (m.kind === 'resize') b = m.bytes < 0 ? b.subarray(0, Math.max(0, b.length + m.bytes)) : Buffer.concat([b, Buffer.alloc(m.bytes)]);
          else if (m.kind === 'flip') {
            if (b.length) b[m.at % b.length] = m.value;
          } else if (m.kind === 'infinity') b.writeFloatLE(Number.POSITIVE_INFINITY, 4);
          else if (m.kind === 'cut') text = JSON.stringify(j).slice(0, m.at % JSON.stringify(j).length);
          else {
            const p = PATHS[m.at % PATHS.length];
            let o: Json = j;
            for (const k of p.slice(0, -1)) o = o && typeof o === 'object' ? o[k] : undefined;
            if (o && typeof o === 'object') {
              if (m.kind === 'delete') delete o[p[p.length - 1]];
              else o[p[p.length - 1]] = m.value;
            }
          }
        }
        if (reseal) j.sha256 = sha(b);
        fs.writeFileSync(path.join(dir, 'checkpoint.json'), text ?? JSON.stringify(j));
        fs.writeFileSync(path.join(dir, 'tensors.bin'), b);
        n++;
        try {
          const { meta, tensors } = readCheckpoint<Json>(dir);
          loaded++;
          for (const e of meta.tensors) expect(tensors[e.name].shape).toEqual(e.shape);
          expect(Object.keys(tensors)).toHaveLength(meta.tensors.length);
          tf.dispose(Object.values(tensors));
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          expect(e.message).not.toContain('\n');
          expect(e.message).toContain(dir);
          expect(e.message).toMatch(/--checkpoint-dir|upgrade Parry/);
        }
        expect(tf.memory().numTensors).toBe(before);
      }),
      { numRuns: 3000, seed: 14 },
    );
    expect(n).toBe(3000);
    expect(loaded).toBeGreaterThan(0);
  });
});
