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
    modality: 'image' as const,
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
    version: 2,
    kind: 'eval',
    createdAt: '2026-11-22T00:00:00.000Z',
    command: ['/usr/bin/node', '/x/apps/cli/dist/bin.js', 'eval', HOSTILE.attr],
    seed: 0,
    environment: { backend: { name: 'wasm', threads: 1 }, node: 'v20.20.2', cpuModel: HOSTILE.img, cpuCount: 2 },
    dataset: { name: o.datasetName ?? 'digits', source: 'hand-made', split: 'test', n: 20 },
    model: { modality: 'image', path: o.modelPath, name: o.modelName ?? 'tiny', inputShape: [8, 8, 1], numClasses: 3, bounds: [0, 1], labelNames: o.labelNames },
    clean: { accuracy: clean, n: 20 },
    attacks: [attack(o.attackName ?? 'parry/fgsm', 1.2), attack('parry/pgd', 1)],
  };
  return validateResults(input);
}

export function trainResults(o: { modelName?: string; modelPath?: string; robust?: boolean } = {}): Results {
  return validateResults({
    schema: 'parry-results',
    version: 2,
    kind: 'train',
    createdAt: '2026-11-22T00:00:00.000Z',
    command: [],
    seed: 0,
    environment: {},
    dataset: { name: 'digits', source: 'hand-made', split: 'test', n: 20 },
    model: { modality: 'image', path: o.modelPath, name: o.modelName ?? 'tiny', inputShape: [8, 8, 1], numClasses: 3, bounds: [0, 1] },
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
    version: 2,
    kind: 'eval',
    createdAt: '2026-11-22T00:00:00.000Z',
    command: [],
    seed: 1,
    environment: {},
    dataset: { name: `emotions ${HOSTILE.script}`, source: 'hand-made', split: 'test', n: 4 },
    model: { modality: 'text', name: `text ${HOSTILE.attr}`, numLabels: 2, labelNames: ['joy', HOSTILE.img], outputKind: 'multi-label', maxLength: 16 },
    clean: { accuracy: 0.75, n: 4 },
    perLabel: [
      { label: 'joy', support: 3, accuracy: 0.75, precision: 0.5, recall: 1, f1: 0.6667 },
      { label: HOSTILE.img, support: 1, accuracy: 1 },
    ],
    attacks: [
      {
        modality: 'text',
        attack: `text/swap ${HOSTILE.single}`,
        goal: { kind: 'flip-any-gold' },
        options: { note: HOSTILE.script },
        n: 4,
        cleanAccuracy: 0.75,
        robustAccuracy: 0.25,
        attackSuccessRate: 2 / 3,
        successful: 2,
        failed: 1,
        skipped: 1,
        budgetExhausted: 0,
        queryBudget: null,
        avgPerturbedWordPct: 12.5,
        avgWordsPerInput: 4,
        avgQueries: 10,
        totalQueries: 40,
        queriesPerSecond: 4000,
        gradientCalls: 0,
        wallTimeMs: 10,
        notes: [`stand-in ${HOSTILE.md}`],
        perLabel: [{ label: 'joy', flipRate: 0.25 }, { label: HOSTILE.img, flipRate: 0.125 }],
        microF1Before: 0.8,
        microF1After: 0.4,
        successBits: '0110',
        examples: [
          { index: 1, label: 'positive', prediction: 'positive', original: 'a truly wonderful film', perturbed: 'a truly wondreful movie', perturbedPrediction: 'negative', status: 'successful', changed: [{ start: 9, end: 18, before: 'wonderful', after: 'wondreful' }, { start: 19, end: 23, before: 'film', after: 'movie' }] },
          { index: 2, label: HOSTILE.attr, prediction: HOSTILE.attr, original: `fine ${HOSTILE.script} here`, perturbed: `fine ${HOSTILE.img} here`, perturbedPrediction: 'x', status: 'successful', changed: [] },
          { index: 3, label: 'joy', prediction: 'joy', original: 'so happy', perturbed: 'so happy', perturbedPrediction: 'joy', status: 'failed', changed: [] },
        ],
      },
    ],
  });
}

/**
 * A version 1 results file as `parry text-attack` wrote it before issue 13 (not validated: the raw JSON): dummy image
 * fields (`inputShape: []`, `bounds: [0, 0]`, `norm: 'words'`, `epsilon: null`), `outputKind: 'sigmoid'`, the
 * TextAttack summary in `textSummary` and the examples in `textExamples`. `summary: false` leaves the summary out (a
 * v1 text attack that cannot be migrated).
 */
export function v1TextFile(o: { summary?: boolean } = {}): Record<string, unknown> {
  return {
    schema: 'parry-results',
    version: 1,
    kind: 'eval',
    createdAt: '2026-11-22T00:00:00.000Z',
    command: ['parry', 'text-attack'],
    seed: 0,
    environment: {},
    dataset: { name: 'goemotions', source: 'test.tsv', split: 'test', n: 3 },
    model: { path: 'runs/emo', name: 'runs/emo', inputShape: [], numClasses: 2, bounds: [0, 0], labelNames: ['joy', 'anger'], outputKind: 'sigmoid' },
    attacks: [
      {
        attack: 'parry/pwws',
        norm: 'words',
        options: { queryBudget: null, wordVectors: null },
        cleanAccuracy: 2 / 3,
        n: 3,
        perEpsilon: [{ epsilon: null, robustAccuracy: 1 / 3, attackSuccessRate: 0.5, linf: null, l2: null, perLabel: [{ label: 'joy', flipRate: 0.5, robustAccuracy: 0.5 }, { label: 'anger', flipRate: 0, robustAccuracy: 1 }] }],
        wallTimeMs: 2500,
        gradientEvaluations: 0,
        forwardEvaluations: 60,
        successBits: ['010'],
        textExamples: [
          { index: 1, label: 'joy', prediction: 'joy', original: 'what a happy day', perEpsilon: [{ epsilon: null, adversarial: 'what a glad day', prediction: '(none)', success: true }] },
          { index: 2, label: 'anger', prediction: 'anger', original: 'so mad', perEpsilon: [{ epsilon: null, adversarial: 'so mad', prediction: 'anger', success: false }] },
        ],
        ...(o.summary === false
          ? {}
          : {
              textSummary: {
                successful: 1, failed: 1, skipped: 1, budgetExhausted: 0, originalAccuracy: 2 / 3, accuracyUnderAttack: 1 / 3, attackSuccessRate: 0.5,
                avgPerturbedWordPct: 25, avgWordsPerInput: 3, avgQueries: 30, totalQueries: 60, queriesPerSecond: 24, notes: [], microF1Before: 0.9, microF1After: 0.5,
              },
            }),
      },
    ],
  };
}
