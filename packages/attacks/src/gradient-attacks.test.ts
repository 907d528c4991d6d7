import * as tf from '@tensorflow/tfjs-core';
import {
  criterionLoss,
  disposeAttackResult,
  fromLayersModel,
  initBackend,
  mnistCnn,
  runAttack,
  untargeted,
  type Classifier,
} from '@parry/core';
import { tinyBatch, tinyClassifier } from '@parry/core/testing';
import { loadEmbeddedMnist, toTensors } from '@parry/datasets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fgsm } from './fgsm.js';
import { pgd } from './pgd.js';
import { fitClassifier, trainableVariables } from './test-utils/train.js';

await initBackend();

async function meanLoss(model: Classifier, adv: tf.Tensor, labels: tf.Tensor1D): Promise<number> {
  const l = tf.tidy(() => tf.mean(criterionLoss(untargeted(labels), model.logits(adv))));
  const v = (await l.data())[0];
  l.dispose();
  return v;
}

describe('FGSM and PGD on a small model', () => {
  // From x (no random start) 40 steps of eps/30 can reach every corner FGSM reaches, so PGD's loss is at least FGSM's.
  it('PGD (no random start) reaches at least the loss of FGSM on the same batch', async () => {
    const model = tinyClassifier({ seed: 21, inputShape: [6, 6, 1], hidden: 16, numClasses: 4 });
    const { x, labels } = tinyBatch(model, 32, 3);
    const c = untargeted(labels);
    const rf = await runAttack(fgsm(), model, x, c, { epsilons: [0.1], seed: 1 });
    const rp = await runAttack(pgd({ randomStart: false }), model, x, c, { epsilons: [0.1], seed: 1 });
    const lf = await meanLoss(model, rf.perEpsilon[0].adversarial, labels);
    const lp = await meanLoss(model, rp.perEpsilon[0].adversarial, labels);
    const clean = await meanLoss(model, x, labels);
    expect(lf).toBeGreaterThan(clean);
    expect(lp).toBeGreaterThanOrEqual(lf);
    disposeAttackResult(rf);
    disposeAttackResult(rp);
    tf.dispose([x, labels]);
    model.dispose();
  });

  it('PGD with a seed is deterministic, and another seed changes the random start', async () => {
    const model = tinyClassifier({ seed: 2 });
    const { x, labels } = tinyBatch(model, 8, 1);
    const run = (seed: number) => runAttack(pgd({ steps: 3 }), model, x, untargeted(labels), { epsilons: [0.2], seed });
    const [a, b, c] = [await run(5), await run(5), await run(6)];
    const va = Array.from(await a.perEpsilon[0].adversarial.data());
    expect(Array.from(await b.perEpsilon[0].adversarial.data())).toEqual(va);
    expect(Array.from(await c.perEpsilon[0].adversarial.data())).not.toEqual(va);
    [a, b, c].forEach(disposeAttackResult);
    tf.dispose([x, labels]);
    model.dispose();
  });

  it('counts gradient evaluations: steps x restarts x examples per epsilon', async () => {
    const model = tinyClassifier({ seed: 2 });
    const { x, labels } = tinyBatch(model, 10, 1);
    const r = await runAttack(pgd({ steps: 4, restarts: 2 }), model, x, untargeted(labels), { epsilons: [0.1, 0.2], batchSize: 4 });
    expect(r.counters.gradientEvaluations).toBe(4 * 2 * 10 * 2);
    disposeAttackResult(r);
    tf.dispose([x, labels]);
    model.dispose();
  });
});

// the recipe of `parry train` / `parry demo` (Wong et al. CNN, dropout 0.3, Adam 2e-3 cosine, 8 epochs), trained by the
// tests' own small Adam loop (test-utils/train.ts) so that @parry/attacks does not depend on @parry/defenses
describe('on a CNN trained on the embedded MNIST digits', () => {
  const data = loadEmbeddedMnist({ seed: 0 });
  const layers = mnistCnn({ seed: 0, dropout: 0.3 });
  const model = fromLayersModel(layers);
  const train = toTensors(data.train);
  const n = 300;
  const test = toTensors(data.test, 0, n);
  let cleanAcc = 0;

  const robustAccuracy = async (attack: ReturnType<typeof pgd> | ReturnType<typeof fgsm>, eps: number) => {
    const r = await runAttack(attack, model, test.x, untargeted(test.y), { epsilons: [eps], seed: 0 });
    const ok = Array.from(await r.perEpsilon[0].success.data());
    disposeAttackResult(r);
    return ok.filter((v) => !v).length / n;
  };

  beforeAll(async () => {
    const full = toTensors(data.test);
    const epochs = await fitClassifier(model, train, { epochs: 8, batchSize: 64, learningRate: 2e-3, schedule: 'cosine', seed: 0, evalSet: full, weights: trainableVariables(layers) });
    tf.dispose([full.x, full.y]);
    cleanAcc = epochs[epochs.length - 1].testAccuracy;
  });
  afterAll(() => {
    tf.dispose([train.x, train.y, test.x, test.y]);
    layers.dispose();
  });

  it('reaches >= 97% clean accuracy on the 2,000 held-out digits', () => {
    expect(cleanAcc).toBeGreaterThanOrEqual(0.97);
  });

  it('FGSM at eps 0.1 lowers accuracy; PGD-40 at eps 0.3 brings it below 5%', async () => {
    const before = tf.memory().numTensors;
    const cleanT = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(model.logits(test.x), 1), test.y), 'float32')));
    const clean = (await cleanT.data())[0];
    cleanT.dispose();
    const f = await robustAccuracy(fgsm(), 0.1);
    const p = await robustAccuracy(pgd(), 0.3);
    expect(f).toBeLessThan(clean - 0.05);
    expect(p).toBeLessThan(0.05);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('PGD-40 with random start reaches a higher loss than FGSM on the same digits', async () => {
    for (const eps of [0.1, 0.3]) {
      const rf = await runAttack(fgsm(), model, test.x, untargeted(test.y), { epsilons: [eps] });
      const rp = await runAttack(pgd(), model, test.x, untargeted(test.y), { epsilons: [eps], seed: 0 });
      const lf = await meanLoss(model, rf.perEpsilon[0].adversarial, test.y);
      const lp = await meanLoss(model, rp.perEpsilon[0].adversarial, test.y);
      expect(lp).toBeGreaterThan(lf);
      disposeAttackResult(rf);
      disposeAttackResult(rp);
    }
  });

  it('keeps the adversarial digits inside the eps-ball and [0, 1]', async () => {
    const r = await runAttack(pgd({ steps: 10 }), model, test.x, untargeted(test.y), { epsilons: [0.3], seed: 1, batchSize: 128 });
    const adv = await r.perEpsilon[0].adversarial.data();
    const x = await test.x.data();
    let maxDelta = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < x.length; i++) {
      maxDelta = Math.max(maxDelta, Math.abs(adv[i] - x[i]));
      lo = Math.min(lo, adv[i]);
      hi = Math.max(hi, adv[i]);
    }
    expect(maxDelta).toBeLessThanOrEqual(0.3 + 1e-6);
    expect(maxDelta).toBeGreaterThan(0.29);
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(1);
    disposeAttackResult(r);
  });
});
