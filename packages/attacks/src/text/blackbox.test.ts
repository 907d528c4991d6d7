import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { InputError, type TruncationStrategy, UsageError, initBackend } from '@parry/core';
import { loadPretrained } from '@parry/text';
import { predictText } from '@parry/text';
import { afterAll, describe, expect, it } from 'vitest';
import { transformersJsVictim } from './blackbox.js';
import { visibleWordsFor } from './white-box.js';

await initBackend();

/** Whether onnxruntime's native library is mapped into this process. */
function onnxruntimeLoaded(): boolean {
  const report = process.report.getReport() as unknown as { sharedObjects?: string[] };
  return (report.sharedObjects ?? []).some((s) => /onnxruntime/i.test(s));
}
/** Recorded after importing blackbox.js (a static import above) and before any victim exists. */
const ORT_AT_IMPORT = onnxruntimeLoaded();

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.resolve(here, '../../test/fixtures/onnx-tiny-bert');

/** Different lengths, unknown words, mixed sentiment, and one text longer than the model's 64 positions. */
const TEXTS = [
  'the movie was great.',
  'awful',
  'i thought the plot was really boring!',
  'the acting is wonderful and dull',
  'honestly, every scene felt charming but the ending was tedious and messy',
  'zebra quantum xylophone',
  'good , just bad',
  'the cast',
  Array.from({ length: 40 }, (_, i) => (i % 3 ? 'lovely story' : 'weak')).join(' '),
];

const tmpDirs: string[] = [];
function copyFixture(edit?: (dir: string) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-onnx-'));
  tmpDirs.push(dir);
  fs.cpSync(FIXTURE, dir, { recursive: true });
  edit?.(dir);
  return dir;
}
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Parry's tfjs model from the same folder: probabilities through `predictText` (tensors checked for leaks). */
async function whiteBoxProbs(dir: string, maxLength: number, truncation: TruncationStrategy = 'head'): Promise<{ probs: Float32Array; multiLabel: boolean }> {
  const before = tf.memory().numTensors;
  const { model, tokenizer } = await loadPretrained(dir);
  if (!tokenizer) throw new Error(`${dir} has no tokenizer`);
  const encodings = TEXTS.map((t) => tokenizer.encode(t, { maxLength, truncation }));
  const probs = await predictText(model, encodings, tokenizer.padId, 32);
  const multiLabel = model.outputKind === 'multi-label';
  model.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return { probs, multiLabel };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('transformersJsVictim (ONNX through transformers.js)', () => {
  it('gives the same probabilities as the white-box tfjs model loaded from the same folder', async () => {
    const victim = await transformersJsVictim(FIXTURE);
    try {
      expect(victim.labelNames).toEqual(['negative', 'positive']);
      expect(victim.outputKind).toBe('single-label');
      expect(victim.whiteBox).toBeUndefined();
      expect(victim.maxLength).toBe(64); // max_position_embeddings, below the tokenizer's 512
      const black = await victim.predict(TEXTS);
      const { probs: white, multiLabel } = await whiteBoxProbs(FIXTURE, victim.maxLength);
      expect(multiLabel).toBe(false);
      expect(maxAbsDiff(black, white)).toBeLessThan(1e-4);
      for (let i = 0; i < TEXTS.length; i++) expect(black[2 * i] + black[2 * i + 1]).toBeCloseTo(1, 5);
      // The comparison is sensitive only if the model is not saturated: some rows must be away from 0/1,
      // and the fixture's predictions must not all be the same class.
      const pos = Array.from({ length: TEXTS.length }, (_, i) => black[2 * i + 1]);
      expect(pos.some((p) => p > 0.02 && p < 0.98)).toBe(true);
      expect(pos.some((p) => p > 0.5)).toBe(true);
      expect(pos.some((p) => p < 0.5)).toBe(true);
    } finally {
      await victim.dispose();
    }
  });

  it('counts one query per text, exactly, across batches; results do not depend on the batch size', async () => {
    const small = await transformersJsVictim(FIXTURE, { batchSize: 2 });
    const big = await transformersJsVictim(FIXTURE, { batchSize: 32 });
    try {
      expect(small.queries).toBe(0);
      const a = await small.predict(TEXTS.slice(0, 7));
      expect(small.queries).toBe(7);
      expect(await small.predict([])).toHaveLength(0);
      expect(small.queries).toBe(7);
      const b = await small.predict(TEXTS.slice(7));
      expect(small.queries).toBe(TEXTS.length);
      const all = await big.predict(TEXTS);
      expect(big.queries).toBe(TEXTS.length);
      const joined = new Float32Array(all.length);
      joined.set(a);
      joined.set(b, a.length);
      expect(maxAbsDiff(joined, all)).toBeLessThan(1e-5);
    } finally {
      await small.dispose();
      await big.dispose();
    }
  });

  it('uses per-label sigmoids when config.json says multi_label_classification, matching the tfjs model', async () => {
    const dir = copyFixture((d) => {
      const cfg = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
      cfg.problem_type = 'multi_label_classification';
      fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(cfg));
    });
    const victim = await transformersJsVictim(dir);
    const single = await transformersJsVictim(FIXTURE);
    try {
      expect(victim.outputKind).toBe('multi-label');
      const probs = await victim.predict(TEXTS);
      const soft = await single.predict(TEXTS);
      const { probs: white, multiLabel } = await whiteBoxProbs(dir, victim.maxLength);
      expect(multiLabel).toBe(true);
      expect(maxAbsDiff(probs, white)).toBeLessThan(1e-4);
      // sigmoid(a) / (sigmoid(a) + sigmoid(b)) is not softmax: rows need not sum to 1, and they do not here.
      const sums = Array.from({ length: TEXTS.length }, (_, i) => probs[2 * i] + probs[2 * i + 1]);
      expect(sums.some((s) => Math.abs(s - 1) > 1e-2)).toBe(true);
      // Same logits underneath: softmax of the single-label victim equals sigmoid(l1 - l0) from the logit gap.
      for (let i = 0; i < TEXTS.length; i++) {
        // float32 logit() is too coarse near 0 and 1
        if (Math.min(probs[2 * i], probs[2 * i + 1], 1 - probs[2 * i], 1 - probs[2 * i + 1]) < 1e-3) continue;
        const gap = Math.log(probs[2 * i + 1] / (1 - probs[2 * i + 1])) - Math.log(probs[2 * i] / (1 - probs[2 * i]));
        expect(1 / (1 + Math.exp(-gap))).toBeCloseTo(soft[2 * i + 1], 4);
      }
    } finally {
      await victim.dispose();
      await single.dispose();
    }
    const forced = await transformersJsVictim(FIXTURE, { outputKind: 'multi-label' });
    try {
      expect(forced.outputKind).toBe('multi-label');
      const { probs: white } = await whiteBoxProbs(dir, forced.maxLength);
      expect(maxAbsDiff(await forced.predict(TEXTS), white)).toBeLessThan(1e-4);
    } finally {
      await forced.dispose();
    }
  });

  it('truncates to maxLength like the white-box tokenizer does', async () => {
    const victim = await transformersJsVictim(FIXTURE, { maxLength: 8 });
    try {
      expect(victim.maxLength).toBe(8);
      const { probs: white } = await whiteBoxProbs(FIXTURE, 8);
      expect(maxAbsDiff(await victim.predict(TEXTS), white)).toBeLessThan(1e-4);
    } finally {
      await victim.dispose();
    }
  });

  it('tail and head+tail truncation keep the same tokens as the white-box tokenizer, and visibleWords agrees with it', async () => {
    const { tokenizer } = await loadPretrained(FIXTURE);
    for (const truncation of ['tail', 'head+tail'] as const) {
      const victim = await transformersJsVictim(FIXTURE, { maxLength: 8, truncation });
      try {
        expect(victim.truncation).toBe(truncation);
        const { probs: white } = await whiteBoxProbs(FIXTURE, 8, truncation);
        const { probs: head } = await whiteBoxProbs(FIXTURE, 8, 'head');
        const got = await victim.predict(TEXTS);
        expect(maxAbsDiff(got, white)).toBeLessThan(1e-4);
        expect(maxAbsDiff(got, head)).toBeGreaterThan(1e-3); // the strategy changed what the model saw
        for (const text of TEXTS) expect(victim.visibleWords(text), `${truncation}: ${text}`).toEqual(visibleWordsFor(tokenizer!, text, 8, truncation));
        // a long text is cut: its first words are invisible with tail, its middle ones with head+tail
        const seen = victim.visibleWords(TEXTS[TEXTS.length - 1]);
        expect(seen.head + seen.tail).toBeLessThan(60);
        expect(seen.head).toBe(truncation === 'tail' ? 0 : 2); // head+tail: ceil(6 / 4) = 2 tokens, "weak lovely"
        expect(seen.tail).toBeGreaterThan(0);
      } finally {
        await victim.dispose();
      }
    }
    await expect(transformersJsVictim(FIXTURE, { truncation: 'left' as never })).rejects.toThrow(/truncation must be one of head, tail, head\+tail/);
  });

  it('cuts a long text at a space before tokenizing it (issue 16): the same probabilities as tokenizing it whole, for every strategy', async () => {
    // long e-mail-like texts (about 450 words: punctuation, unknown words, accents, runs of spaces and line breaks),
    // mixed in one batch with short ones and one long text without spaces (tokenized whole)
    const vocab = ['the', 'movie', 'was', 'great', 'awful', 'boring', 'lovely', 'story', 'zebra', 'café', 'naïve', 'plot,', 'really!', 'don\'t', '(dull)', 'x-ray', '42'];
    let seed = 7;
    const pick = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return vocab[(seed >>> 8) % vocab.length];
    };
    const seps = [' ', ' ', ' ', '  ', '\n', ' \n\n '];
    const longText = (n: number) => Array.from({ length: n }, (_, i) => pick() + seps[i % seps.length]).join('').trim();
    const texts = [longText(450), 'the movie was great.', longText(600), 'awful', 'x'.repeat(3000), longText(120)];
    for (const truncation of ['head', 'tail', 'head+tail'] as const) {
      for (const maxLength of [64, 16]) {
        const cutting = await transformersJsVictim(FIXTURE, { truncation, maxLength, batchSize: 4 });
        const whole = await transformersJsVictim(FIXTURE, { truncation, maxLength, batchSize: 4, preCut: false });
        try {
          expect(cutting.preCut).toBe(true); // BertNormalizer + BertPreTokenizer: cut at spaces exactly
          expect(whole.preCut).toBe(false);
          // record the longest string each victim's tokenizer sees
          const longest = { cutting: 0, whole: 0 };
          for (const [key, v] of [['cutting', cutting], ['whole', whole]] as const) {
            const inner = (v as unknown as { tokenizer: (t: string[], o: unknown) => unknown }).tokenizer;
            const spy = Object.assign((t: string[], o: unknown) => {
              for (const s of t) longest[key] = Math.max(longest[key], s.length);
              return inner(t, o);
            }, inner);
            (v as unknown as { tokenizer: unknown }).tokenizer = spy;
          }
          const a = await cutting.predict(texts);
          const b = await whole.predict(texts);
          expect(Array.from(a), `${truncation}, maxLength ${maxLength}`).toEqual(Array.from(b)); // bit for bit
          expect(longest.whole).toBe(Math.max(...texts.map((t) => t.length))); // everything tokenized whole
          expect(longest.cutting).toBe(3000); // the text without a space could not be cut
          // the word lists are not: their tokenizer sees less than half of the shortest of them
          longest.cutting = 0;
          await cutting.predict([texts[0], texts[2]]);
          expect(longest.cutting).toBeGreaterThan(0);
          expect(longest.cutting).toBeLessThan(texts[0].length / 2);
          expect(cutting.queries).toBe(texts.length + 2);
          // visibleWords cuts alike: the same words as from the whole text, without tokenizing the long ones whole
          for (const t of texts) expect(cutting.visibleWords(t), `${truncation}, ${maxLength}: ${t.slice(0, 30)}`).toEqual(whole.visibleWords(t));
          longest.cutting = 0;
          const seen = cutting.visibleWords(texts[2]);
          expect(seen.head + seen.tail).toBeLessThan(maxLength);
          expect(longest.cutting).toBeLessThan(texts[0].length / 2);
        } finally {
          await cutting.dispose();
          await whole.dispose();
        }
      }
    }
  });

  it('names the missing folder or file in one line (InputError), and bad options (UsageError)', async () => {
    const oneLine = async (p: Promise<unknown>, type: typeof InputError | typeof UsageError, pattern: RegExp) => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(type);
      const message = (err as Error).message;
      expect(message).toMatch(pattern);
      expect(message).not.toContain('\n');
    };
    const nowhere = path.join(os.tmpdir(), 'parry-no-such-model-folder');
    await oneLine(transformersJsVictim(nowhere), InputError, /parry-no-such-model-folder not found/);
    const noOnnx = copyFixture((d) => fs.rmSync(path.join(d, 'onnx'), { recursive: true }));
    await oneLine(transformersJsVictim(noOnnx), InputError, /onnx[/\\]model\.onnx not found; export it/);
    const noConfig = copyFixture((d) => fs.rmSync(path.join(d, 'config.json')));
    await oneLine(transformersJsVictim(noConfig), InputError, /config\.json not found/);
    const noTokenizer = copyFixture((d) => {
      for (const f of ['tokenizer.json', 'vocab.txt', 'tokenizer_config.json']) fs.rmSync(path.join(d, f));
    });
    await oneLine(transformersJsVictim(noTokenizer), InputError, /tokenizer\.json not found; transformers\.js needs/);
    const noTokConfig = copyFixture((d) => fs.rmSync(path.join(d, 'tokenizer_config.json')));
    await oneLine(transformersJsVictim(noTokConfig), InputError, /tokenizer_config\.json not found/);
    const badConfig = copyFixture((d) => fs.writeFileSync(path.join(d, 'config.json'), '{"id2label": '));
    await oneLine(transformersJsVictim(badConfig), InputError, /config\.json is not readable JSON/);
    const badOnnx = copyFixture((d) => fs.writeFileSync(path.join(d, 'onnx', 'model.onnx'), 'not a model'));
    await oneLine(transformersJsVictim(badOnnx), InputError, /model\.onnx could not be loaded/);
    await oneLine(transformersJsVictim(FIXTURE, { batchSize: 0 }), UsageError, /batchSize must be a positive integer/);
    await oneLine(transformersJsVictim(FIXTURE, { maxLength: 1.5 }), UsageError, /maxLength must be an integer/);
    await oneLine(transformersJsVictim(FIXTURE, { maxLength: 65 }), UsageError, /maxLength 65 exceeds the 64 positions/);
  });

  it('does not load transformers.js / onnxruntime until a victim is created', async () => {
    const source = fs.readFileSync(path.join(here, 'blackbox.ts'), 'utf8');
    const staticImports = source.match(/^import\s+(?!type\b)[^;]*from\s+'([^']+)'/gm) ?? [];
    expect(staticImports.some((s) => /@huggingface|onnxruntime/.test(s))).toBe(false);
    expect(source).toMatch(/await import\('@huggingface\/transformers'\)/);
    if (ORT_AT_IMPORT) {
      // Only possible when another test file in this worker process loaded onnxruntime first.
      console.log('blackbox.test: onnxruntime was already loaded in this worker; only the source check applied');
      return;
    }
    const victim = await transformersJsVictim(FIXTURE);
    await victim.dispose();
    expect(onnxruntimeLoaded()).toBe(true); // the probe detects the library once it is loaded
  });
});
