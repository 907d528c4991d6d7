#!/usr/bin/env bash
# Publishability smoke test: pack @parry/core, -text, -metrics, -defenses, -attacks and the example plugin with pnpm, install the tarballs
# into a scratch project outside the workspace with npm (registry only for tfjs), and run an attack from a short script.
# Needs `pnpm build` first.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/parry-pack-smoke-XXXXXX")"
trap '[ -n "${KEEP:-}" ] || rm -rf "$scratch"' EXIT
pnpm_cmd=(pnpm)
command -v pnpm >/dev/null || pnpm_cmd=(npx -y pnpm@12.21.0)   # a clean CI machine has only node and npm
for pkg in packages/core packages/text packages/metrics packages/datasets packages/defenses packages/attacks packages/pipelines examples/parry-plugin-example; do
  (cd "$root/$pkg" && "${pnpm_cmd[@]}" pack --pack-destination "$scratch" >/dev/null)
done
cd "$scratch"
core=$(ls parry-core-*.tgz) text=$(ls parry-text-*.tgz) metrics=$(ls parry-metrics-*.tgz) datasets=$(ls parry-datasets-*.tgz) pipelines=$(ls parry-pipelines-*.tgz) defenses=$(ls parry-defenses-*.tgz) attacks=$(ls parry-attacks-*.tgz) plugin=$(ls parry-plugin-example-*.tgz)
cat > package.json <<JSON
{ "name": "parry-pack-smoke", "private": true, "type": "module",
  "dependencies": { "@parry/core": "file:./$core", "@parry/text": "file:./$text", "@parry/metrics": "file:./$metrics", "@parry/datasets": "file:./$datasets", "@parry/pipelines": "file:./$pipelines", "@parry/defenses": "file:./$defenses",
                    "@parry/attacks": "file:./$attacks", "parry-plugin-example": "file:./$plugin",
                    "@tensorflow/tfjs-core": "4.22.0", "@tensorflow/tfjs-layers": "4.22.0" } }
JSON
npm install --no-audit --no-fund --loglevel=error >/dev/null
cat > smoke.mjs <<'JS'
import * as tf from '@tensorflow/tfjs-core';
import { createRegistry, initBackend, runAttack, untargeted, fromFunction } from '@parry/core';
import { registerBuiltinAttacks } from '@parry/attacks';
import examplePlugins from 'parry-plugin-example';
const info = await initBackend();
const registry = registerBuiltinAttacks(createRegistry());
for (const f of examplePlugins) registry.register(f, 'parry-plugin-example');
const w = tf.randomNormal([16, 3], 0, 1, 'float32', 1);
const model = fromFunction((x) => tf.matMul(tf.reshape(x, [x.shape[0], 16]), w), { inputShape: [4, 4, 1], numClasses: 3 });
const x = tf.randomUniform([8, 4, 4, 1], 0, 1, 'float32', 2), y = tf.argMax(model.logits(x), 1);
for (const name of ['parry/pgd', 'example/noise']) {
  const r = await runAttack(registry.create(name, {}), model, x, untargeted(y), { epsilons: [0.3], seed: 0 });
  console.log(`${name} on ${info.name}: success ${(await r.perEpsilon[0].success.data()).filter(Boolean).length}/8`);
}
// text: the packed @parry/text tokenizer (bert-base-uncased vocabulary from its npm dependency), encoder and the defenses' trainer
const { bertBaseUncasedTokenizer, createTransformerClassifier, smallConfig } = await import('@parry/text');
const { trainText } = await import('@parry/defenses');
const tok = bertBaseUncasedTokenizer();
const enc = ['a fine film', 'an awful film'].map((t) => tok.encode(t));
const m = createTransformerClassifier(smallConfig('bert', { vocabSize: tok.vocabSize, hiddenSize: 16, numHeads: 2, intermediateSize: 32, numLayers: 1 }));
const r = await trainText(m, { encodings: enc, labels: Int32Array.from([1, 0]) }, { epochs: 1, batchSize: 2, learningRate: 1e-3, seed: 0, padId: tok.padId });
console.log(`text: "a fine film" -> ${enc[0].ids.join(',')}; one BERT training step, loss ${r.epochs[0].loss.toFixed(3)}`);
// the library API of the packed @parry/pipelines: clean + attacked evaluation in one call
const { robustness } = await import('@parry/pipelines');
const res = await robustness(model, { x, y }, { attacks: ['fgsm', 'pgd'], epsilons: [0.3] });
console.log(`pipelines: robustness() results v${res.version}: clean ${res.clean.accuracy}, ${res.attacks.map((a) => `${a.attack} robust ${a.perEpsilon[0].robustAccuracy}`).join(', ')}`);
JS
node smoke.mjs
