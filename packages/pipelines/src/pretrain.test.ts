/**
 * `pretrainMaskedLm` (issue 15): the loss reads masked positions only, it falls on a tiny repetitive corpus with the
 * masked-token accuracy above chance, an interrupted run resumed from its checkpoint ends with the weights of an
 * uninterrupted one, the folder loads as a masked LM and fine-tunes as a classifier, --init continues a masked LM (its
 * weights, tokenizer and held-out score), every family pre-trains, and an output folder that holds
 * something else is refused with nothing touched. No tensor outlives a run.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, UsageError } from '@parry/core';
import { loadMaskedLm, createMaskedLm, IGNORE_INDEX, padBatch, smallConfig } from '@parry/text';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskedCrossEntropy, maskedLmTerms, PRETRAINING_FILE, type PretrainOptions, pretrainMaskedLm } from './pretrain.js';
import { trainTextModel } from './text.js';

const DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/index.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-pretrain-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A tiny repetitive corpus: four sentence patterns, so masked words are predictable from their context. */
const SENTENCES = ['the cat sat on the mat', 'the dog ran to the park', 'a bird flew over the tree', 'my fish swam in the bowl'];
const corpus = path.join(dir, 'corpus.txt');
const tiny = (o: Partial<PretrainOptions> = {}): PretrainOptions => ({
  sources: [corpus], hidden: 32, layers: 1, heads: 2, intermediate: 64, maxLength: 16, vocabSize: 200, epochs: 3, batchSize: 16, lr: 3e-3,
  checkpointEvery: 10, backend: 'cpu', out: path.join(dir, 'out'), ...o,
});

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  fs.writeFileSync(corpus, `${Array.from({ length: 240 }, (_, i) => SENTENCES[(i * 7) % 4]).join('\n')}\n`);
});

describe('masked cross-entropy', () => {
  it('averages over the labelled rows only (hand-computed)', () => {
    const logits = tf.tensor2d([[0, Math.log(2), 0], [5, -3, 9], [1, 0, 0]]);
    const loss = maskedCrossEntropy(logits, [1, IGNORE_INDEX, 0]);
    // row 0: -log(2 / (1 + 2 + 1)) = log 2; row 2: -log(e / (e + 2)); row 1 is ignored whatever its logits
    const expected = (Math.log(2) + Math.log((Math.E + 2) / Math.E)) / 2;
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 6);
    const other = tf.tensor2d([[0, Math.log(2), 0], [-40, 70, 1], [1, 0, 0]]);
    const loss2 = maskedCrossEntropy(other, [1, IGNORE_INDEX, 0]);
    expect(loss2.dataSync()[0]).toBeCloseTo(expected, 6);
    const none = maskedCrossEntropy(logits, [IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX]);
    expect(none.dataSync()[0]).toBe(0);
    tf.dispose([logits, loss, other, loss2, none]);
  });

  it("the training step's loss is the cross-entropy of the masked positions of the model's logits, nothing else", () => {
    const config = smallConfig('bert', { vocabSize: 12, hiddenSize: 16, numHeads: 2, intermediateSize: 32, maxPositions: 16 });
    const model = createMaskedLm(config, { seed: 3 });
    const before = tf.memory().numTensors;
    const batch = padBatch([{ ids: [2, 5, 4, 7, 3], typeIds: [0, 0, 0, 0, 0] }, { ids: [2, 4, 9, 3], typeIds: [0, 0, 0, 0] }], [0, 1], 0);
    const T = batch.inputIds.shape[1];
    const labels = new Array<number>(2 * T).fill(IGNORE_INDEX);
    labels[2] = 6; // row 0, position 2
    labels[T + 1] = 8; // row 1, position 1
    const terms = maskedLmTerms(model, batch, labels);
    const full = model.mlmLogits(batch);
    const rows = full.arraySync() as number[][][];
    const ce = (r: number[], y: number) => {
      const m = Math.max(...r);
      return Math.log(r.reduce((a, v) => a + Math.exp(v - m), 0)) + m - r[y];
    };
    const expected = ce(rows[0][2], 6) + ce(rows[1][1], 8);
    expect(terms.count).toBe(2);
    expect(terms.lossSum.dataSync()[0]).toBeCloseTo(expected, 4);
    const argmax = (r: number[]) => r.indexOf(Math.max(...r));
    expect(terms.correct.dataSync()[0]).toBe(Number(argmax(rows[0][2]) === 6) + Number(argmax(rows[1][1]) === 8));
    tf.dispose([terms.lossSum, terms.correct, full, batch.inputIds, batch.attentionMask, batch.tokenTypeIds!]);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe('pretrainMaskedLm', () => {
  it('on a tiny repetitive corpus the loss falls and the masked-token accuracy beats chance; no tensor is left; the folder loads as a masked LM', async () => {
    const before = tf.memory().numTensors;
    const steps: Array<{ loss: number; accuracy: number }> = [];
    const out = path.join(dir, 'learns');
    const r = await pretrainMaskedLm(tiny({ out, hidden: 64, heads: 4, intermediate: 128, dropout: 0, epochs: 6, lr: 1e-2, devFraction: 0.2, onStep: (s) => steps.push(s) }));
    expect(tf.memory().numTensors).toBe(before);
    expect(r.steps).toBe(6 * Math.ceil(192 / 16));
    expect(steps).toHaveLength(r.steps);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(steps.slice(0, 5).map((s) => s.loss));
    const lastLoss = mean(steps.slice(-5).map((s) => s.loss));
    expect(lastLoss).toBeLessThan(first * 0.6);
    // chance: always answering the most frequent word ("the", 6 of the 24 words) scores 25%; context does far better
    expect(r.dev.accuracy).toBeGreaterThan(0.45);
    expect(r.history.at(-1)!.accuracy).toBeGreaterThan(r.history[0].accuracy);
    expect(r.tokensSeen).toBe(6 * 192 * 8); // 192 sentences of 6 words + [CLS] and [SEP], once per epoch
    const loaded = await loadMaskedLm(out);
    expect(loaded.config.family).toBe('bert');
    expect(loaded.tokenizer?.vocabSize).toBe(r.vocabSize);
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(cfg.architectures).toEqual(['BertForMaskedLM']);
    const info = JSON.parse(fs.readFileSync(path.join(out, PRETRAINING_FILE), 'utf8'));
    expect(info.heldOut.accuracy).toBe(r.dev.accuracy);
    expect(info.tokensSeen).toBe(r.tokensSeen);
    loaded.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('counts every token of every row it trained on', async () => {
    const out = path.join(dir, 'count');
    const r = await pretrainMaskedLm(tiny({ out, epochs: 1, checkpointEvery: 0 }));
    // 228 training sentences of 6 words each plus [CLS] and [SEP]
    expect(r.tokensSeen).toBe(228 * 8);
    expect(r.documents).toEqual({ train: 228, dev: 12 });
  });

  it('an interrupted run resumed from its checkpoint ends with the weights of an uninterrupted run (bit-exact)', async () => {
    const ref = path.join(dir, 'ref');
    await pretrainMaskedLm(tiny({ out: ref, gradAccum: 2, checkpointEvery: 7 }));
    const out = path.join(dir, 'resumed');
    const stop = new Error('interrupted');
    const e = await pretrainMaskedLm(tiny({ out, gradAccum: 2, checkpointEvery: 7, onStep: (s) => { if (s.step === 25) throw stop; } })).catch((x) => x);
    expect(e).toBe(stop);
    expect(fs.existsSync(out)).toBe(false);
    // starting afresh over the checkpoints of the interrupted run is refused; --resume continues it
    await expect(pretrainMaskedLm(tiny({ out, gradAccum: 2, checkpointEvery: 7 }))).rejects.toThrow(/holds checkpoints of an earlier run .*pass --resume/);
    await expect(pretrainMaskedLm(tiny({ out, gradAccum: 2, checkpointEvery: 7, lr: 1e-3, resume: true }))).rejects.toThrow(/written with other settings/);
    const logs: string[] = [];
    const before = tf.memory().numTensors;
    const r = await pretrainMaskedLm(tiny({ out, gradAccum: 2, checkpointEvery: 7, resume: true, log: (l) => logs.push(l) }));
    expect(tf.memory().numTensors).toBe(before);
    expect(r.resumedFrom).toBe(21);
    expect(logs.some((l) => /^resuming from .*step-00000021: 21 of 45 steps done$/.test(l))).toBe(true);
    expect(fs.readFileSync(path.join(out, 'model.safetensors')).equals(fs.readFileSync(path.join(ref, 'model.safetensors')))).toBe(true);
  });

  it('killed with SIGKILL mid-run and resumed: the weights of an uninterrupted run', async () => {
    const ref = path.join(dir, 'ref');
    const out = path.join(dir, 'killed');
    const opts = { ...tiny({ out, gradAccum: 2, checkpointEvery: 7 }), onStep: undefined };
    const script = path.join(dir, 'child.mjs');
    fs.writeFileSync(
      script,
      `const p = await import(${JSON.stringify(DIST)});
const pause = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 40);
await p.pretrainMaskedLm({ ...${JSON.stringify(opts)}, onStep: pause });
`,
    );
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const ckpt = `${out}.checkpoints`;
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && !(fs.existsSync(ckpt) && fs.readdirSync(ckpt).includes('step-00000014'))) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    expect(await exited, stderr).toEqual({ code: null, signal: 'SIGKILL' });
    expect(fs.existsSync(out)).toBe(false);
    const r = await pretrainMaskedLm({ ...opts, resume: true });
    expect(r.resumedFrom).toBeGreaterThanOrEqual(14);
    expect(r.resumedFrom).toBeLessThan(45);
    expect(fs.readFileSync(path.join(out, 'model.safetensors')).equals(fs.readFileSync(path.join(ref, 'model.safetensors')))).toBe(true);
  }, 240_000);

  it('the folder fine-tunes as a classifier (parry train --model <folder>), starting from its encoder', async () => {
    const mlm = path.join(dir, 'learns');
    const data = path.join(dir, 'reviews.csv');
    const rows = Array.from({ length: 64 }, (_, i) => `"${SENTENCES[i % 4]}",${i % 4 < 2 ? 1 : 0}`);
    fs.writeFileSync(data, `text,label\n${rows.join('\n')}\n`);
    const logs: string[] = [];
    const r = await trainTextModel({ model: mlm, data, dev: data, textColumn: 'text', labelColumn: 'label', maxLength: 16, epochs: 2, batchSize: 16, lr: 1e-3, seed: 0, out: path.join(dir, 'clf'), log: (l: string) => logs.push(l), backend: 'cpu' } as never);
    expect(r.results.training!.hyperparameters.from).toBe(`fine-tuned from ${mlm}`);
    expect(logs.join('\n')).toMatch(/masked-LM|masked LM/);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'clf', 'config.json'), 'utf8')).architectures).toEqual(['BertForSequenceClassification']);
  });

  it('refuses an output folder that holds something parry pretrain did not write, touching nothing', async () => {
    const user = path.join(dir, 'user');
    fs.mkdirSync(user);
    fs.writeFileSync(path.join(user, 'notes.txt'), 'mine');
    await expect(pretrainMaskedLm(tiny({ out: user }))).rejects.toThrow(UsageError);
    expect(fs.readdirSync(user)).toEqual(['notes.txt']);
    expect(fs.existsSync(`${user}.checkpoints`)).toBe(false);
    // a classifier folder Parry wrote is not a pretrain run either
    const clf = path.join(dir, 'clf');
    const files = fs.readdirSync(clf).sort();
    const e = await pretrainMaskedLm(tiny({ out: clf })).catch((x) => x);
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toBe(`--out ${clf} holds a model that parry pretrain did not write; choose another path, or pass --force to replace it`);
    expect(fs.readdirSync(clf).sort()).toEqual(files);
    // an earlier pretrain output is replaced
    const again = await pretrainMaskedLm(tiny({ out: path.join(dir, 'count'), epochs: 1, checkpointEvery: 0, checkpointDir: path.join(dir, 'count-2.checkpoints') }));
    expect(again.steps).toBe(15);
  });

  it('refuses bad settings in one line before reading anything', async () => {
    await expect(pretrainMaskedLm(tiny({ sources: [] }))).rejects.toThrow(/no corpus given/);
    await expect(pretrainMaskedLm(tiny({ sources: [path.join(dir, 'missing.txt')] }))).rejects.toThrow(/missing\.txt not found/);
    await expect(pretrainMaskedLm(tiny({ maskProbability: 1.5 }))).rejects.toThrow(/--mask-prob must be in \(0, 1\)/);
    await expect(pretrainMaskedLm(tiny({ gradAccum: 32 }))).rejects.toThrow(/--grad-accum 32 is more micro-batches than --batch-size 16/);
  });
});

describe('pretrainMaskedLm with init (continued pre-training)', () => {
  const base = path.join(dir, 'init-base');
  /** Text the base never saw, made of its words in new orders. */
  const shifted = path.join(dir, 'shifted.txt');
  const initOpts = (o: Partial<PretrainOptions> = {}): PretrainOptions => ({
    sources: [shifted], init: base, epochs: 1, batchSize: 16, lr: 3e-3, checkpointEvery: 0, backend: 'cpu', out: path.join(dir, 'continued'), ...o,
  });
  const maxDiff = (a: Record<string, { data: ArrayLike<number | bigint> }>, b: Record<string, { data: ArrayLike<number | bigint> }>) => {
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    let d = 0;
    for (const k of Object.keys(a)) for (let i = 0; i < a[k].data.length; i++) d = Math.max(d, Math.abs(Number(a[k].data[i]) - Number(b[k].data[i])));
    return d;
  };

  beforeAll(async () => {
    await pretrainMaskedLm(tiny({ out: base, hidden: 64, heads: 4, intermediate: 128, dropout: 0, epochs: 6, lr: 1e-2, devFraction: 0.2, checkpointDir: `${base}.ckpt` }));
    const SHIFTED = ['the bird sat in the park', 'my cat ran over the bowl', 'a dog swam to the tree', 'the fish flew on the mat'];
    fs.writeFileSync(shifted, `${Array.from({ length: 240 }, (_, i) => SHIFTED[(i * 5) % 4]).join('\n')}\n`);
  }, 120_000);

  it("starts from the checkpoint's weights and tokenizer and scores it on the held-out text first; no tensor is left", async () => {
    const out = path.join(dir, 'continued-still');
    const logs: string[] = [];
    const before = tf.memory().numTensors;
    // one step at a vanishing learning rate: the written weights are the loaded ones (a fresh initialisation would differ by ~0.02)
    const r = await pretrainMaskedLm(initOpts({ sources: [corpus], out, maxSteps: 1, lr: 1e-12, warmup: 0, log: (l) => logs.push(l) }));
    expect(tf.memory().numTensors).toBe(before);
    const a = await loadMaskedLm(base);
    const b = await loadMaskedLm(out);
    expect(maxDiff(a.model.stateDict(), b.model.stateDict())).toBeLessThan(1e-6);
    const fresh = createMaskedLm(a.config, { seed: 0 });
    expect(maxDiff(a.model.stateDict(), fresh.stateDict())).toBeGreaterThan(1e-2);
    expect(b.config).toEqual(a.config);
    expect(b.tokenizer!.vocabSize).toBe(a.tokenizer!.vocabSize);
    expect(b.tokenizer!.encode('the cat flew over the park').ids).toEqual(a.tokenizer!.encode('the cat flew over the park').ids);
    // the base learned this corpus (> 45% held-out accuracy): the score before training shows its weights were loaded,
    // and one step at lr 1e-12 leaves the score as it was, on the same masked tokens
    expect(r.init!.heldOutBefore.accuracy).toBeGreaterThan(0.45);
    expect(r.dev.accuracy).toBe(r.init!.heldOutBefore.accuracy);
    expect(r.dev.loss).toBeCloseTo(r.init!.heldOutBefore.loss, 5);
    expect(r.init!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(logs.some((l) => l.startsWith(`bert masked LM continued from --init ${base}`))).toBe(true);
    expect(logs.some((l) => /^--init .* before this run: held-out masked-token accuracy \d+\.\d\d%/.test(l))).toBe(true);
    const info = JSON.parse(fs.readFileSync(path.join(out, PRETRAINING_FILE), 'utf8'));
    expect(info.init.source).toBe(base);
    expect(info.hyperparameters.init).toBe(base);
    for (const m of [a.model, b.model, fresh]) m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('continuing on new text raises its held-out masked-token accuracy above what the checkpoint scored', async () => {
    const r = await pretrainMaskedLm(initOpts({ epochs: 4, devFraction: 0.2 }));
    expect(r.steps).toBe(4 * Math.ceil(192 / 16));
    expect(r.dev.accuracy).toBeGreaterThan(r.init!.heldOutBefore.accuracy + 0.05);
    expect(r.hyperparameters.dropout).toBe(0);
  });

  it('an interrupted continued run resumes to the weights of an uninterrupted one (bit-exact)', async () => {
    const ref = path.join(dir, 'continued-ref');
    await pretrainMaskedLm(initOpts({ out: ref, epochs: 2, checkpointEvery: 5 }));
    const out = path.join(dir, 'continued-resumed');
    const stop = new Error('interrupted');
    await expect(pretrainMaskedLm(initOpts({ out, epochs: 2, checkpointEvery: 5, onStep: (s) => { if (s.step === 12) throw stop; } }))).rejects.toBe(stop);
    const r = await pretrainMaskedLm(initOpts({ out, epochs: 2, checkpointEvery: 5, resume: true }));
    expect(r.resumedFrom).toBe(10);
    expect(r.init!.heldOutBefore.accuracy).toBeGreaterThan(0);
    expect(fs.readFileSync(path.join(out, 'model.safetensors')).equals(fs.readFileSync(path.join(ref, 'model.safetensors')))).toBe(true);
  });

  it('refuses architecture flags, a family or length the checkpoint cannot take, a classifier, and writing over --init', async () => {
    const bad = (o: Partial<PretrainOptions>) => pretrainMaskedLm(initOpts({ out: path.join(dir, 'continued-bad'), ...o }));
    await expect(bad({ hidden: 32 })).rejects.toThrow(/^--hidden comes from --init .*; drop --hidden/);
    await expect(bad({ vocabSize: 100 })).rejects.toThrow(/^--vocab-size comes from --init/);
    await expect(bad({ model: 'roberta' })).rejects.toThrow(/^--model roberta does not match --init .*, a bert masked LM; drop --model$/);
    await expect(bad({ maxLength: 64 })).rejects.toThrow(/^--max-length 64 is longer than --init .* can read \(16 positions\); use --max-length 16 or less$/);
    await expect(bad({ out: base })).rejects.toThrow(/is also --init/);
    await expect(bad({ init: path.join(dir, 'clf') })).rejects.toThrow(/has no masked-LM head/);
    const before = tf.memory().numTensors;
    await expect(bad({ maxLength: 64 })).rejects.toThrow(UsageError);
    expect(tf.memory().numTensors).toBe(before);
    expect(fs.existsSync(path.join(dir, 'continued-bad'))).toBe(false);
  });
});

// BERT is covered above; the other three families' heads (parity-tested against torch in @parry/text) pre-train too
describe('pretrainMaskedLm for the other families', () => {
  const ARCH = { electra: 'ElectraForMaskedLM', distilbert: 'DistilBertForMaskedLM', roberta: 'RobertaForMaskedLM' } as const;
  for (const family of ['electra', 'distilbert', 'roberta'] as const) {
    it(`${family}: learns the tiny corpus, writes a ${ARCH[family]} folder, and --init continues it with its own head`, async () => {
      const out = path.join(dir, `family-${family}`);
      const before = tf.memory().numTensors;
      const r = await pretrainMaskedLm(tiny({ model: family, out, hidden: 64, heads: 4, intermediate: 128, dropout: 0, epochs: 6, lr: 1e-2, devFraction: 0.2, checkpointDir: `${out}.ckpt` }));
      expect(tf.memory().numTensors).toBe(before);
      expect(r.dev.accuracy).toBeGreaterThan(0.45);
      expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).architectures).toEqual([ARCH[family]]);
      const loaded = await loadMaskedLm(out);
      expect(loaded.config.family).toBe(family);
      loaded.model.dispose();
      const more = await pretrainMaskedLm({ sources: [corpus], init: out, epochs: 1, maxSteps: 2, batchSize: 16, backend: 'cpu', devFraction: 0.2, out: path.join(dir, `family-${family}-more`), checkpointEvery: 0 });
      expect(more.hyperparameters.family).toBe(family);
      // the same held-out masks as the first run's (same corpus, same seed): the score it starts from is the one it ended with
      expect(more.init!.heldOutBefore.accuracy).toBe(r.dev.accuracy);
      expect(tf.memory().numTensors).toBe(before);
    }, 60_000);
  }
});
