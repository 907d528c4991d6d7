// Hand-made results for the report's tests (not exported by the package).
import { type Results, type ResultsInput, validateResults } from '@parry/metrics';

export const HOSTILE = {
  script: '<script>alert(1)</script>',
  attr: '" onerror="alert(1)',
  img: '<img src=x onerror=alert(1)>',
  single: "' onmouseover='alert(1)",
  md: '| **bold** [link](javascript:alert(1)) `code`',
};

const b64 = (bytes: number[]) => Buffer.from(Uint8Array.from(bytes)).toString('base64');

/** An 8x8 grey-scale "digit" and a perturbed copy. */
function pixels(seed: number, shift: number): number[] {
  return Array.from({ length: 64 }, (_, i) => {
    const r = Math.floor(i / 8);
    const c = i % 8;
    const on = (c === 2 || c === 5 || r === 1 || r === 6) && seed % 2 === 0 ? 230 : (r + c + seed) % 5 === 0 ? 200 : 10;
    return Math.max(0, Math.min(255, on + ((i * 7 + seed) % 3 === 0 ? shift : -shift)));
  });
}

export function evalResults(o: { modelName?: string; modelPath?: string; labelNames?: string[]; datasetName?: string; attackName?: string; robust?: number[]; clean?: number } = {}): Results {
  const clean = o.clean ?? 0.95;
  const robust = o.robust ?? [0.6, 0.2];
  const attack = (name: string, factor: number) => ({
    attack: name,
    norm: 'linf',
    options: { steps: 10, note: HOSTILE.script },
    cleanAccuracy: clean,
    n: 20,
    perEpsilon: [0.1, 0.3].map((epsilon, k) => ({
      epsilon,
      robustAccuracy: Math.min(clean, robust[k] * factor),
      attackSuccessRate: 1 - Math.min(clean, robust[k] * factor) / clean,
      linf: { mean: epsilon, max: epsilon, count: 5 },
      l2: { mean: 2 * epsilon + 0.123, max: 3 * epsilon, count: 5 },
      sizes: { linf: [epsilon, epsilon, epsilon], l2: [epsilon, 2 * epsilon, 2.5 * epsilon] },
    })),
    wallTimeMs: 1234,
    gradientEvaluations: 200,
    forwardEvaluations: 220,
    examples: [0, 1, 2].map((index) => ({
      index,
      shape: [8, 8, 1],
      label: index,
      prediction: index === 2 ? 1 : index,
      original: b64(pixels(index, 0)),
      perEpsilon: [0.1, 0.3].map((epsilon, k) => ({ epsilon, adversarial: b64(pixels(index, 20 * (k + 1))), prediction: k === 1 ? 2 : index === 2 ? 1 : index, success: k === 1 || index === 2 })),
    })),
  });
  const input: ResultsInput = {
    schema: 'parry-results',
    version: 1,
    kind: 'eval',
    createdAt: '2026-11-22T00:00:00.000Z',
    command: ['/usr/bin/node', '/x/apps/cli/dist/bin.js', 'eval', HOSTILE.attr],
    seed: 0,
    environment: { backend: { name: 'wasm', threads: 1 }, node: 'v20.20.2', cpuModel: HOSTILE.img, cpuCount: 2 },
    dataset: { name: o.datasetName ?? 'digits', source: 'hand-made', split: 'test', n: 20 },
    model: { path: o.modelPath, name: o.modelName ?? 'tiny', inputShape: [8, 8, 1], numClasses: 3, bounds: [0, 1], labelNames: o.labelNames },
    clean: { accuracy: clean, n: 20 },
    attacks: [attack(o.attackName ?? 'parry/fgsm', 1.2), attack('parry/pgd', 1)],
  };
  return validateResults(input);
}

export function trainResults(o: { modelName?: string; modelPath?: string; robust?: boolean } = {}): Results {
  return validateResults({
    schema: 'parry-results',
    version: 1,
    kind: 'train',
    createdAt: '2026-11-22T00:00:00.000Z',
    command: [],
    seed: 0,
    environment: {},
    dataset: { name: 'digits', source: 'hand-made', split: 'test', n: 20 },
    model: { path: o.modelPath, name: o.modelName ?? 'tiny', inputShape: [8, 8, 1], numClasses: 3, bounds: [0, 1] },
    clean: { accuracy: 0.95, n: 20 },
    training: {
      hyperparameters: { epochs: 3, optimizer: HOSTILE.script },
      epochs: [1, 2, 3].map((epoch) => ({ epoch, loss: 1 / epoch, trainAccuracy: 0.8 + epoch * 0.05, testAccuracy: 0.78 + epoch * 0.05, seconds: 1.5, ...(o.robust ? { robustAccuracy: 0.1 * epoch } : {}) })),
    },
  });
}

/** A multi-label text model: per-label tables and text examples with hostile strings. */
export function textResults(): Results {
  return validateResults({
    schema: 'parry-results',
    version: 1,
    kind: 'eval',
    createdAt: '2026-11-22T00:00:00.000Z',
    command: [],
    seed: 1,
    environment: {},
    dataset: { name: `emotions ${HOSTILE.script}`, source: 'hand-made', split: 'test', n: 4 },
    model: { name: `text ${HOSTILE.attr}`, inputShape: [16], numClasses: 2, bounds: [0, 1], outputKind: 'multi-label' },
    clean: { accuracy: 0.75, n: 4 },
    perLabel: [
      { label: 'joy', support: 3, accuracy: 0.75, precision: 0.5, recall: 1, f1: 0.6667 },
      { label: HOSTILE.img, support: 1, accuracy: 1 },
    ],
    attacks: [
      {
        attack: `text/swap ${HOSTILE.single}`,
        norm: 'words',
        options: {},
        cleanAccuracy: 0.75,
        n: 4,
        perEpsilon: [
          { epsilon: 2, robustAccuracy: 0.25, attackSuccessRate: 2 / 3, linf: null, l2: null, perLabel: [{ label: 'joy', robustAccuracy: 0.5, flipRate: 0.25 }, { label: HOSTILE.img, robustAccuracy: 0.75, flipRate: 0.125, f1: 0.5 }] },
        ],
        wallTimeMs: 10,
        gradientEvaluations: 0,
        forwardEvaluations: 40,
        textSummary: {
          successful: 2, failed: 1, skipped: 1, budgetExhausted: 0, originalAccuracy: 0.75, accuracyUnderAttack: 0.25, attackSuccessRate: 2 / 3,
          avgPerturbedWordPct: 12.5, avgWordsPerInput: 4, avgQueries: 10, totalQueries: 40, queriesPerSecond: 4000, notes: [],
        },
        textExamples: [
          { index: 0, label: 'positive', prediction: 'positive', original: 'a truly wonderful film', perEpsilon: [{ epsilon: 2, adversarial: 'a truly wondreful movie', prediction: 'negative', success: true }] },
          { index: 1, label: HOSTILE.attr, prediction: HOSTILE.attr, original: `fine ${HOSTILE.script} here`, perEpsilon: [{ epsilon: 2, adversarial: `fine ${HOSTILE.img} here`, prediction: 'x', success: true }] },
        ],
      },
    ],
  });
}
