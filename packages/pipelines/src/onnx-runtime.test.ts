/**
 * `runtime: 'onnx'` (issue 17): the clean metrics and every attack query of a Parry model run on ONNX Runtime (the
 * model exported in-process), and give what tfjs gives: the same clean predictions, and attack outcomes that differ
 * only where float rounding (~1e-6) breaks a near-tie the other way.
 */
import { registerBuiltinAttacks } from '@parry/attacks';
import { createRegistry, createRng, initBackend, type TextTokenizer } from '@parry/core';
import { trainText } from '@parry/defenses';
import { type TextDataset } from '@parry/datasets';
import { perturbedText } from '@parry/metrics';
import { createTransformerClassifier, onnxClassifier, predictText, smallConfig, type TransformerClassifier, wordPieceTokenizer } from '@parry/text';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textRobustness } from './text.js';

const FILLER = ['the', 'movie', 'film', 'plot', 'was', 'and', 'acting', 'story', 'cast', 'music', 'scenes', 'ending'];
const POSITIVE = ['good', 'great', 'fine'];
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'awful', 'well', 'beneficial', 'dear', 'respectable', ...POSITIVE, ...FILLER];

function toy(n: number, seed: number): TextDataset {
  const rng = createRng(seed);
  const examples = Array.from({ length: n }, () => {
    const words = Array.from({ length: 5 + rng.int(4) }, () => FILLER[rng.int(FILLER.length)]);
    const pos = rng.float() < 0.5;
    if (pos) for (let k = 0; k < 2; k++) words[rng.int(words.length)] = POSITIVE[rng.int(POSITIVE.length)];
    return { text: words.join(' '), label: pos ? 1 : 0 };
  });
  return { name: 'toy', source: 'test', labelNames: ['neg', 'pos'], multiLabel: false, examples } as unknown as TextDataset;
}

let tok: TextTokenizer;
let model: TransformerClassifier;
const registry = registerBuiltinAttacks(createRegistry());

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  tok = wordPieceTokenizer(VOCAB);
  model = createTransformerClassifier(smallConfig('bert', { vocabSize: VOCAB.length, hiddenSize: 32, numHeads: 2, numLayers: 1, intermediateSize: 64, hiddenDropout: 0, labelNames: ['neg', 'pos'] }), { seed: 0 });
  const set = toy(200, 1);
  await trainText(model, { encodings: set.examples.map((e) => tok.encode(e.text)), labels: Int32Array.from(set.examples, (e) => e.label!) }, { epochs: 5, batchSize: 16, learningRate: 3e-3, seed: 0, padId: tok.padId });
}, 120_000);
afterAll(() => model?.dispose());

describe('textRobustness on ONNX Runtime', () => {
  it('clean metrics equal the tfjs run; attacks agree up to near-ties that float rounding breaks the other way', async () => {
    const ds = toy(24, 7);
    const run = (runtime: 'tfjs' | 'onnx') => textRobustness({ model, tokenizer: tok }, ds, { registry, attacks: ['pwws', 'deepwordbug'], maxLength: 32, seed: 0, runtime, quiet: true } as never);
    const a = await run('tfjs');
    const b = await run('onnx');
    expect(b.clean!.single!.accuracy).toBe(a.clean!.single!.accuracy);
    expect(b.clean!.single!.macroF1).toBeCloseTo(a.clean!.single!.macroF1, 6);
    expect(a.attacks[0].summary.successful).toBeGreaterThan(3);
    // both runtimes score the attack's texts alike: the originals and every adversarial text of the tfjs run
    const texts = [...ds.examples.map((e) => e.text), ...a.attacks.flatMap((x) => (x.entry.examples ?? []).map((e) => perturbedText(e)))];
    const enc = texts.map((t) => tok.encode(t, { maxLength: 32 }));
    const scorer = await onnxClassifier(model);
    const [pa, pb] = [await predictText(model, enc, tok.padId), await scorer.predict(enc, tok.padId)];
    await scorer.dispose();
    let worst = 0;
    for (let i = 0; i < pa.length; i++) worst = Math.max(worst, Math.abs(pa[i] - pb[i]));
    expect(worst).toBeLessThan(1e-5);
    for (let k = 0; k < a.attacks.length; k++) {
      const [x, y] = [a.attacks[k].summary, b.attacks[k].summary];
      // the scores differ by ~1e-6 (ONNX Runtime vs XNNPACK): a greedy search may break an exact-looking tie the
      // other way on an example, never more than that on this set
      expect(Math.abs(x.successful - y.successful)).toBeLessThanOrEqual(1);
      expect(Math.abs(x.totalQueries - y.totalQueries) / x.totalQueries).toBeLessThan(0.1);
    }
  }, 120_000);

  it('a black-box victim with runtime onnx is refused in one line', async () => {
    const victim = { name: 'bb', labelNames: ['neg', 'pos'], outputKind: 'single-label' as const, queries: 0, predict: async () => new Float32Array(0) };
    await expect(textRobustness(undefined, toy(2, 1), { registry, attacks: [], victim, runtime: 'onnx' } as never)).rejects.toThrow(/--runtime onnx scores a Parry model/);
  });
});
