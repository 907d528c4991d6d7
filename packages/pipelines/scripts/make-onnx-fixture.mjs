#!/usr/bin/env node
/**
 * Regenerates packages/attacks/test/fixtures/onnx-tiny-bert/: a tiny BERT sentiment classifier made and trained by
 * Parry (vocabulary built from a toy corpus, hidden 32, 2 layers, 2 heads, 64 positions), saved with
 * `savePretrained` (config.json, model.safetensors, tokenizer files), then exported to onnx/model.onnx by
 * scripts/export-onnx.py (Debian /usr/bin/python3 with python3-torch). The black-box victim test compares the ONNX
 * path with Parry's tfjs model loaded from the same folder.
 *
 *   pnpm build && node packages/pipelines/scripts/make-onnx-fixture.mjs
 *
 * Deterministic for a given tfjs backend (seeded initialisation, data order and dropout).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '@parry/core';
import { buildWordPieceVocab, createTransformerClassifier, savePretrained, smallConfig, wordPieceTokenizer } from '@parry/text';
import { predictText, trainText } from '@parry/defenses';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const out = path.resolve(here, '../../attacks/test/fixtures/onnx-tiny-bert');

const positive = ['good', 'great', 'wonderful', 'fun', 'lovely', 'brilliant', 'moving', 'charming'];
const negative = ['bad', 'awful', 'boring', 'dull', 'terrible', 'weak', 'messy', 'tedious'];
const subjects = ['the movie', 'this film', 'the plot', 'the acting', 'the story', 'every scene', 'the ending', 'the cast'];
const frames = ['{s} was {w}.', 'i thought {s} was really {w}!', '{s} is {w} and {w2}', 'honestly, {s} felt {w}', '{w} , just {w2}'];

/** Toy sentences: label 1 uses positive words, 0 negative ones. */
function corpus() {
  const texts = [];
  const labels = [];
  let k = 0;
  for (const [label, words] of [[0, negative], [1, positive]]) {
    for (let i = 0; i < 96; i++, k++) {
      const frame = frames[k % frames.length];
      const s = subjects[(k * 7) % subjects.length];
      const w = words[(k * 3) % words.length];
      const w2 = words[(k * 5 + 1) % words.length];
      texts.push(frame.replace('{s}', s).replace('{w}', w).replace('{w2}', w2));
      labels.push(label);
    }
  }
  return { texts, labels };
}

await initBackend();
const { texts, labels } = corpus();
const vocab = buildWordPieceVocab(texts, { vocabSize: 300, minFrequency: 1 });
const tokenizer = wordPieceTokenizer(vocab);
const config = smallConfig('bert', {
  vocabSize: vocab.length,
  hiddenSize: 32,
  numLayers: 2,
  numHeads: 2,
  intermediateSize: 64,
  maxPositions: 64,
  labelNames: ['negative', 'positive'],
});
const model = createTransformerClassifier(config, { seed: 7 });
const encodings = texts.map((t) => tokenizer.encode(t, { maxLength: 64 }));
const train = { epochs: 8, batchSize: 16, learningRate: 2e-3, seed: 1, padId: tokenizer.padId };
await trainText(model, { encodings, labels: Int32Array.from(labels) }, train);
const probs = await predictText(model, encodings, tokenizer.padId);
let correct = 0;
for (let i = 0; i < labels.length; i++) if ((probs[2 * i + 1] > probs[2 * i] ? 1 : 0) === labels[i]) correct++;
console.log(`vocab ${vocab.length}, train accuracy ${(correct / labels.length).toFixed(3)}`);
await savePretrained(out, model, tokenizer);
model.dispose();
const py = spawnSync('/usr/bin/python3', [path.join(root, 'scripts/export-onnx.py'), out], { stdio: 'inherit' });
if (py.status !== 0) process.exit(py.status ?? 1);
console.log(`wrote ${path.relative(root, out)}`);
