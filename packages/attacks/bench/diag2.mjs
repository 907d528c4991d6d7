import * as tf from '@tensorflow/tfjs-core';
import { initBackend, runAttack, untargeted, createRng } from '@parry/core';
import { tinyBatch, tinyClassifier } from '@parry/core/testing';
import * as A from '../dist/index.js';
await initBackend();
const model = tinyClassifier({ seed: 21, inputShape: [6, 6, 1], hidden: 16, numClasses: 4 });
const { x, labels } = tinyBatch(model, 40, 3);
for (const eps of [0.05, 0.08]) {
  for (const a of [A.fgsm(), A.pgd({ steps: 10 }), A.bim({ steps: 1, relStepSize: 0.5 }), A.apgd({steps: 20})]) {
    const r = await runAttack(a, model, x, untargeted(labels), { epsilons: [eps], seed: 1 });
    console.log(eps, a.name, Array.from(await r.perEpsilon[0].success.data()).join(''));
  }
  const r = await A.runSequence(model, x, untargeted(labels), [A.bim({ steps: 1, relStepSize: 0.5 }), A.pgd({ steps: 10 })], { epsilon: eps, rng: createRng(1) });
  console.log(eps, r.stages.map((s) => `${s.attack} ${s.robustAccuracy} ${s.attacked}`).join(', '));
}
