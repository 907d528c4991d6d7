// Issue 13: results version 2, image and text as discriminated unions; version 1 files migrated; textAttackEntry.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError, type TextAttackRecord, type TextAttackSummary } from '@parry/core';
import { describe, expect, it } from 'vitest';
import { perturbedText, readResults, resultsJsonSchema, validateResults, writeResults, type ResultsInput, type TextAttackEntry } from './results.js';
import { textAttackEntry } from './text-entry.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-results-v2-'));
const header = { schema: 'parry-results' as const, version: 2 as const, kind: 'eval' as const, createdAt: '2026-11-22T00:00:00.000Z', command: ['parry', 'eval'], seed: 0, environment: {} };
const px = (n: number) => Buffer.alloc(n, 7).toString('base64');

const image: ResultsInput = {
  ...header,
  dataset: { name: 'mnist', source: 'embedded', split: 'test', n: 2 },
  model: { modality: 'image', path: 'runs/cnn', name: 'cnn', inputShape: [2, 2, 1], numClasses: 3, bounds: [0, 1], labelNames: ['a', 'b', 'c'] },
  clean: { accuracy: 1, n: 2 },
  attacks: [
    {
      modality: 'image', attack: 'parry/pgd', norm: 'linf', options: { steps: 3 }, cleanAccuracy: 1, n: 2,
      perEpsilon: [{ epsilon: 0.1, robustAccuracy: 0.5, attackSuccessRate: 0.5, linf: { mean: 0.1, max: 0.1, count: 1 }, l2: null }],
      wallTimeMs: 3, gradientEvaluations: 6, forwardEvaluations: 8, successBits: ['01'],
      examples: [{ index: 0, shape: [2, 2, 1], label: 1, prediction: 1, original: px(4), perEpsilon: [{ epsilon: 0.1, adversarial: px(4), prediction: 2, success: true }] }],
    },
  ],
};

const textAttack: TextAttackEntry = {
  modality: 'text', attack: 'parry/textfooler', goal: { kind: 'untargeted' }, options: { maxCandidates: 50 }, n: 3,
  cleanAccuracy: 2 / 3, robustAccuracy: 1 / 3, attackSuccessRate: 0.5, successful: 1, failed: 1, skipped: 1, budgetExhausted: 0, queryBudget: null,
  avgPerturbedWordPct: 25, avgWordsPerInput: 4, avgQueries: 30, totalQueries: 61, queriesPerSecond: 600, gradientCalls: 0, wallTimeMs: 100, notes: ['USE stand-in'],
  successBits: '100',
  examples: [
    { index: 0, label: 'pos', prediction: 'pos', original: 'a good film', perturbed: 'a decent film', perturbedPrediction: 'neg', status: 'successful', changed: [{ start: 2, end: 6, before: 'good', after: 'decent' }] },
    { index: 1, label: 'neg', prediction: 'neg', original: 'a dull plot', perturbed: 'a dull plot', perturbedPrediction: 'neg', status: 'failed', changed: [] },
  ],
};

const text: ResultsInput = {
  ...header,
  dataset: { name: 'sst2', source: 'dev.tsv', split: 'dev', n: 3 },
  model: { modality: 'text', path: 'runs/bert', name: 'bert-tiny', numLabels: 2, labelNames: ['neg', 'pos'], outputKind: 'single-label', maxLength: 64, family: 'bert' },
  clean: { accuracy: 2 / 3, n: 3 },
  attacks: [textAttack],
};

/** The one-line InputError message of `fn`. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('results version 2: round trip', () => {
  it('an image file is written and read back unchanged', () => {
    const file = path.join(dir, 'image.json');
    const written = writeResults(file, image);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(written);
    const back = readResults(file);
    expect(back).toEqual(written);
    expect(back).toMatchObject({ version: 2, model: { modality: 'image', bounds: [0, 1] }, attacks: [{ modality: 'image', norm: 'linf' }] });
  });

  it('a text file is written and read back unchanged, with no image fields', () => {
    const file = path.join(dir, 'text.json');
    const written = writeResults(file, text);
    const back = readResults(file);
    expect(back).toEqual(written);
    expect(back.model).toEqual(text.model);
    expect(back.attacks[0]).toEqual(textAttack);
    const raw = fs.readFileSync(file, 'utf8');
    for (const dummy of ['"bounds"', '"inputShape"', '"norm"', '"epsilon"', '"perEpsilon"', '"textSummary"', '"textExamples"', 'sigmoid', 'softmax']) expect(raw).not.toContain(dummy);
  });

  it('the JSON Schema discriminates model and attacks by modality', () => {
    const s = JSON.stringify(resultsJsonSchema());
    expect(s).toContain('"const":"image"');
    expect(s).toContain('"const":"text"');
    expect(s).toContain('"successBits"');
  });
});

describe('results version 2: discriminated validation', () => {
  const edit = (base: ResultsInput, f: (r: any) => void) => {
    const r = structuredClone(base) as any;
    f(r);
    return r;
  };

  it('a text attack with image fields is refused, naming the field', () => {
    expect(refusal(() => validateResults(edit(text, (r) => (r.attacks[0].norm = 'words')), 't.json'))).toMatch(/^t\.json is not a valid Parry results file: attacks\.0: Unrecognized key: "norm"/);
    expect(refusal(() => validateResults(edit(text, (r) => (r.attacks[0].perEpsilon = [])), 't.json'))).toMatch(/attacks\.0: Unrecognized key: "perEpsilon"/);
  });

  it('a text model with the old dummy image fields or spellings is refused', () => {
    expect(refusal(() => validateResults(edit(text, (r) => (r.model.bounds = [0, 0])), 't.json'))).toMatch(/model: Unrecognized key: "bounds"/);
    expect(refusal(() => validateResults(edit(text, (r) => (r.model.outputKind = 'sigmoid')), 't.json'))).toMatch(/model\.outputKind: .*"single-label"\|"multi-label"/);
    expect(refusal(() => validateResults(edit(text, (r) => delete r.model.labelNames), 't.json'))).toMatch(/model\.labelNames/);
    expect(refusal(() => validateResults(edit(text, (r) => (r.model.labelNames = ['neg'])), 't.json'))).toMatch(/model\.labelNames: 1 names, but numLabels is 2/);
  });

  it('an image attack with text fields, or an image model without a pixel range, is refused', () => {
    expect(refusal(() => validateResults(edit(image, (r) => (r.attacks[0].textSummary = {})), 'i.json'))).toMatch(/attacks\.0: Unrecognized key: "textSummary"/);
    expect(refusal(() => validateResults(edit(image, (r) => (r.model.bounds = [0, 0])), 'i.json'))).toMatch(/model\.bounds: \[0, 0\] is not a pixel range/);
    expect(refusal(() => validateResults(edit(image, (r) => (r.model.inputShape = [])), 'i.json'))).toMatch(/model\.inputShape/);
  });

  it('a missing or unknown modality names the discriminator', () => {
    expect(refusal(() => validateResults(edit(image, (r) => delete r.attacks[0].modality), 'i.json'))).toMatch(/attacks\.0\.modality: must be "image" or "text"/);
    expect(refusal(() => validateResults(edit(image, (r) => (r.model.modality = 'audio')), 'i.json'))).toMatch(/model\.modality: must be "image" or "text"/);
  });

  it('an attack of the other modality than the model is refused', () => {
    const mixed = edit(image, (r) => r.attacks.push(textAttack));
    expect(refusal(() => validateResults(mixed, 'm.json'))).toMatch(/attacks\.1\.modality: a text attack on an image model/);
  });

  it('text attack counts must agree with n and the success bits', () => {
    expect(refusal(() => validateResults(edit(text, (r) => (r.attacks[0].skipped = 2)), 't.json'))).toMatch(/attacks\.0: successful \+ failed \+ skipped is 4, but n is 3/);
    expect(refusal(() => validateResults(edit(text, (r) => (r.attacks[0].successBits = '10')), 't.json'))).toMatch(/attacks\.0\.successBits: 2 characters, but n is 3/);
    expect(refusal(() => validateResults(edit(text, (r) => (r.attacks[0].successBits = '110')), 't.json'))).toMatch(/attacks\.0\.successBits: 2 successes, but successful is 1/);
    expect(refusal(() => validateResults(edit(text, (r) => (r.attacks[0].successBits = '1x0')), 't.json'))).toMatch(/attacks\.0\.successBits: must be a string of 0 and 1/);
    expect(refusal(() => validateResults(edit(text, (r) => (r.attacks[0].examples[0].status = 'fooled')), 't.json'))).toMatch(/attacks\.0\.examples\.0\.status/);
  });
});

describe('results version 1: migrated to version 2 in memory (the decision: migrate, refuse only what cannot be)', () => {
  const v1Header = { ...header, version: 1 };
  /** What `parry text-attack` wrote in version 1: dummy image fields, 'sigmoid', the TextAttack summary on the side. */
  const v1Text = {
    ...v1Header,
    dataset: { name: 'goemotions', source: 'test.tsv', split: 'test', n: 3 },
    model: { path: 'runs/emo', name: 'runs/emo', inputShape: [], numClasses: 2, bounds: [0, 0], labelNames: ['joy', 'anger'], outputKind: 'sigmoid' },
    attacks: [
      {
        attack: 'parry/pwws', norm: 'words', options: { queryBudget: 200, wordVectors: null }, cleanAccuracy: 2 / 3, n: 3,
        perEpsilon: [{ epsilon: null, robustAccuracy: 1 / 3, attackSuccessRate: 0.5, linf: null, l2: null, perLabel: [{ label: 'joy', flipRate: 0.25, robustAccuracy: 0.75 }, { label: 'anger', flipRate: 0, robustAccuracy: 1 }] }],
        wallTimeMs: 1500, gradientEvaluations: 4, forwardEvaluations: 90, successBits: ['010'],
        textExamples: [
          { index: 1, label: 'joy', prediction: 'joy', original: 'what a happy day', perEpsilon: [{ epsilon: null, adversarial: 'what a glad day', prediction: '(none)', success: true }] },
          { index: 2, label: 'anger', prediction: 'anger', original: 'so mad', perEpsilon: [{ epsilon: null, adversarial: 'so mad', prediction: 'anger', success: false }] },
        ],
        textSummary: {
          successful: 1, failed: 1, skipped: 1, budgetExhausted: 1, originalAccuracy: 2 / 3, accuracyUnderAttack: 1 / 3, attackSuccessRate: 0.5,
          avgPerturbedWordPct: 25, avgWordsPerInput: 3, avgQueries: 45, totalQueries: 90, queriesPerSecond: 60, notes: ['stand-in'], microF1Before: 0.9, microF1After: 0.5,
        },
      },
    ],
  };

  it('a v1 text file becomes a text model and a text attack, with every TextAttack number kept', () => {
    const file = path.join(dir, 'v1-text.json');
    fs.writeFileSync(file, JSON.stringify(v1Text));
    const r = readResults(file);
    expect(r.version).toBe(2);
    expect(r.model).toEqual({ modality: 'text', path: 'runs/emo', name: 'runs/emo', numLabels: 2, labelNames: ['joy', 'anger'], outputKind: 'multi-label' });
    const a = r.attacks[0];
    if (a.modality !== 'text') throw new Error('expected a text attack');
    expect(a).toMatchObject({
      attack: 'parry/pwws', goal: { kind: 'flip-any-gold' }, options: { queryBudget: 200, wordVectors: null }, n: 3,
      cleanAccuracy: 2 / 3, robustAccuracy: 1 / 3, attackSuccessRate: 0.5, successful: 1, failed: 1, skipped: 1, budgetExhausted: 1, queryBudget: 200,
      avgPerturbedWordPct: 25, avgWordsPerInput: 3, avgQueries: 45, totalQueries: 90, queriesPerSecond: 60, gradientCalls: 4, wallTimeMs: 1500,
      perLabel: [{ label: 'joy', flipRate: 0.25 }, { label: 'anger', flipRate: 0 }], microF1Before: 0.9, microF1After: 0.5, successBits: '010',
    });
    // the goal was not in v1: the assumption is stated in the notes, after the recipe's own notes
    expect(a.notes[0]).toBe('stand-in');
    expect(a.notes[1]).toMatch(/version 1 .* goal: flip-any-gold .* assumed/);
    expect(a.examples).toEqual([
      { index: 1, label: 'joy', prediction: 'joy', original: 'what a happy day', perturbed: 'what a glad day', perturbedPrediction: '(none)', status: 'successful', changed: [{ start: 7, end: 12, before: 'happy', after: 'glad' }] },
      { index: 2, label: 'anger', prediction: 'anger', original: 'so mad', perturbed: 'so mad', perturbedPrediction: 'anger', status: 'failed', changed: [] },
    ]);
    // the migrated result is a valid version 2 file as it stands
    expect(validateResults(JSON.parse(JSON.stringify(r)), 'again')).toEqual(r);
  });

  it('a v1 text model written by the text trainer (softmax, [maxLength], vocabulary bounds) keeps maxLength and drops the image fields', () => {
    const r = validateResults({ ...v1Header, dataset: { name: 'sst2', source: 'dev', split: 'dev', n: 10 }, model: { path: 'm', name: 'bert (2x128, 2 heads)', inputShape: [128], numClasses: 2, bounds: [0, 30521], labelNames: ['neg', 'pos'], outputKind: 'softmax' }, clean: { accuracy: 0.8, n: 10 } }, 'x.json');
    expect(r.model).toEqual({ modality: 'text', path: 'm', name: 'bert (2x128, 2 heads)', numLabels: 2, labelNames: ['neg', 'pos'], outputKind: 'single-label', maxLength: 128 });
  });

  it('every old spelling of multi-label becomes outputKind "multi-label"', () => {
    for (const spelling of ['multi-label', 'multi_label_classification', 'multiLabel', 'sigmoid']) {
      const r = validateResults({ ...v1Text, model: { ...v1Text.model, outputKind: spelling } }, 'x.json');
      expect(r.model.outputKind, spelling).toBe('multi-label');
    }
    expect(refusal(() => validateResults({ ...v1Text, model: { ...v1Text.model, outputKind: 'ovr' } }, 'x.json'))).toMatch(/^x\.json is a version 1 results file that cannot be read as version 2 \(model\.outputKind "ovr" is not one of .*\); re-run `parry eval` to write a v2 file$/);
  });

  it('a v1 image file gains modality "image" and nothing else changes', () => {
    const v1Image = structuredClone(image) as any;
    v1Image.version = 1;
    delete v1Image.model.modality;
    delete v1Image.attacks[0].modality;
    const r = validateResults(v1Image, 'x.json');
    expect(r).toEqual(validateResults(image));
  });

  it('a v1 text attack without its TextAttack summary cannot be migrated and is refused in one line naming the file and the fix', () => {
    const noSummary = structuredClone(v1Text) as any;
    delete noSummary.attacks[0].textSummary;
    const file = path.join(dir, 'v1-nosummary.json');
    fs.writeFileSync(file, JSON.stringify(noSummary));
    expect(refusal(() => readResults(file))).toBe(
      `results file ${file} is a version 1 results file that cannot be read as version 2 (attacks.0 (parry/pwws) is a text attack without its TextAttack summary (textSummary)); re-run \`parry eval\` to write a v2 file`,
    );
    const noBits = structuredClone(v1Text) as any;
    delete noBits.attacks[0].successBits;
    expect(refusal(() => validateResults({ ...noBits, kind: 'train' }, 'y.json'))).toMatch(/without its per-example successBits\); re-run `parry train` to write a v2 file$/);
  });

  it('an invalid v1 file is refused with the v1 field path', () => {
    expect(refusal(() => validateResults({ ...v1Text, seed: 'x' }, 'x.json'))).toMatch(/^x\.json is not a valid Parry results file \(results version 1\): seed:/);
  });

  it('writeResults writes version 2 only: a version 1 object is refused and nothing is written', () => {
    const file = path.join(dir, 'never.json');
    expect(refusal(() => writeResults(file, v1Text as any))).toMatch(/^results to write have version 1; Parry writes results version 2 only/);
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe('the results file on disk', () => {
  it('is indented JSON with one line per text example record, and reads back unchanged (hostile text too)', () => {
    const file = path.join(dir, 'lines.json');
    const odd = 'a "examples": "x" \u0000 \n\t</script>';
    const attack = { ...textAttack, options: { examples: 'not records' }, examples: [{ ...textAttack.examples[0], original: odd, perturbed: `${odd}!`, changed: [] }, textAttack.examples[0]] };
    const written = writeResults(file, { ...text, attacks: [attack, { ...textAttack, examples: [] }] });
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    const records = lines.filter((l) => l.trimStart().startsWith('{"index":'));
    expect(records).toHaveLength(2);
    expect(JSON.parse(records[0].trim().replace(/,$/, ''))).toEqual(written.attacks[0].modality === 'text' ? written.attacks[0].examples[0] : undefined);
    expect(lines).toContain('      "examples": []');
    expect(readResults(file)).toEqual(written);
  });
});

describe('the run name', () => {
  it('is an optional, non-empty field of the model entry (parry eval --name)', () => {
    expect(validateResults({ ...text, model: { ...text.model, runName: 'fgm+eda' } }, 'x.json').model.runName).toBe('fgm+eda');
    expect(validateResults({ ...image, model: { ...image.model, runName: 'at' } }, 'x.json').model.runName).toBe('at');
    expect(refusal(() => validateResults({ ...text, model: { ...text.model, runName: '' } }, 'x.json'))).toMatch(/^x\.json is not a valid Parry results file: model\.runName: /);
  });
});

describe('unknown results versions', () => {
  it('version 3 and later are refused in one line: upgrade Parry', () => {
    for (const version of [3, 42]) {
      const file = path.join(dir, `v${version}.json`);
      fs.writeFileSync(file, JSON.stringify({ ...text, version }));
      expect(refusal(() => readResults(file))).toBe(`results file ${file} was written by a newer Parry (results version ${version}; this Parry reads versions 1 to 2); upgrade Parry`);
    }
  });
  it('version 0, fractional and non-numeric versions are refused in one line', () => {
    expect(refusal(() => validateResults({ ...text, version: 0 }, 'x.json'))).toMatch(/^x\.json has results version 0; this Parry reads versions 1 to 2; re-run `parry eval`/);
    expect(refusal(() => validateResults({ ...text, version: 1.5 }, 'x.json'))).toMatch(/has results version 1\.5/);
    expect(refusal(() => validateResults({ ...text, version: '2' }, 'x.json'))).toMatch(/has results version "2"/);
  });
});

describe('textAttackEntry', () => {
  const rec = (over: Partial<TextAttackRecord> & Pick<TextAttackRecord, 'index' | 'status'>): TextAttackRecord => ({
    original: 'a b c d',
    perturbed: 'a b c d',
    queries: 1,
    gradientCalls: 0,
    words: 4,
    modifiedWords: 0,
    changed: [],
    originalProbs: [0.9, 0.1],
    perturbedProbs: [0.9, 0.1],
    originalPrediction: ['neg'],
    perturbedPrediction: ['neg'],
    ...over,
  });
  const records: TextAttackRecord[] = [
    rec({ index: 0, status: 'skipped', label: 1, originalPrediction: ['pos'], perturbedPrediction: ['pos'] }),
    rec({ index: 1, status: 'successful', label: 0, original: 'a good film', perturbed: 'a fine film', modifiedWords: 1, queries: 12, changed: [{ start: 2, end: 6, before: 'good', after: 'fine' }], perturbedPrediction: ['pos'] }),
    rec({ index: 2, status: 'failed', reason: 'budget', label: 0, queries: 20 }),
    rec({ index: 3, status: 'successful', label: 0, original: 'x y', perturbed: 'x z', modifiedWords: 1, changed: [{ start: 2, end: 3, before: 'y', after: 'z' }], perturbedPrediction: [] }),
  ];
  const summary: TextAttackSummary = {
    attack: 'parry/textfooler', n: 4, successful: 2, failed: 1, skipped: 1, budgetExhausted: 1, truncated: 0, originalAccuracy: 0.75, accuracyUnderAttack: 0.25, attackSuccessRate: 2 / 3,
    avgPerturbedWordPct: 37.5, avgWordsPerInput: 3.25, avgQueries: 11, totalQueries: 34, gradientCalls: 2, wallSeconds: 1.5, queriesPerSecond: 34 / 1.5, notes: ['stand-in'],
  };

  it('maps the summary and records of a run to a valid text entry', () => {
    const e = textAttackEntry({ summary, records, goal: { kind: 'untargeted' }, options: { maxCandidates: 5 }, queryBudget: 20, labelNames: ['neg', 'pos'] });
    expect(e).toEqual({
      modality: 'text', attack: 'parry/textfooler', goal: { kind: 'untargeted' }, options: { maxCandidates: 5 }, n: 4,
      cleanAccuracy: 0.75, robustAccuracy: 0.25, attackSuccessRate: 2 / 3, successful: 2, failed: 1, skipped: 1, budgetExhausted: 1, truncated: 0, queryBudget: 20,
      avgPerturbedWordPct: 37.5, avgWordsPerInput: 3.25, avgQueries: 11, totalQueries: 34, queriesPerSecond: 34 / 1.5, gradientCalls: 2, wallTimeMs: 1500, notes: ['stand-in'],
      successBits: '0101',
      examples: [
        { index: 0, label: 'pos', prediction: 'pos', original: 'a b c d', perturbedPrediction: 'pos', status: 'skipped', changed: [], queries: 1, confidence: [0.9, 0.9] },
        { index: 1, label: 'neg', prediction: 'neg', original: 'a good film', perturbedPrediction: 'pos', status: 'successful', changed: [{ start: 2, end: 6, before: 'good', after: 'fine' }], queries: 12, confidence: [0.9, 0.9] },
        { index: 2, label: 'neg', prediction: 'neg', original: 'a b c d', perturbedPrediction: 'neg', status: 'failed', changed: [], queries: 20, confidence: [0.9, 0.9] },
        { index: 3, label: 'neg', prediction: 'neg', original: 'x y', perturbedPrediction: '(none)', status: 'successful', changed: [{ start: 2, end: 3, before: 'y', after: 'z' }], queries: 1, confidence: [0.9, 0.9] },
      ],
    });
    // compact: the perturbed text is rebuilt from the changed words
    expect(e.examples.map(perturbedText)).toEqual(['a b c d', 'a fine film', 'a b c d', 'x z']);
    // it validates inside a results file of a text model
    const r = validateResults({ ...text, attacks: [e] }, 'built');
    expect(r.attacks[0]).toEqual(e);
  });

  it('keeps the first keepExamples records; no budget is null', () => {
    const e = textAttackEntry({ summary, records, goal: { kind: 'untargeted' }, options: {}, labelNames: ['neg', 'pos'], keepExamples: 2 });
    expect(e.examples.map((x) => x.index)).toEqual([0, 1]);
    expect(e.queryBudget).toBe(null);
    expect(textAttackEntry({ summary, records, goal: { kind: 'untargeted' }, options: {}, labelNames: ['neg', 'pos'], queryBudget: Infinity }).queryBudget).toBe(null);
  });

  it('multi-label: gold label names joined, per-label flip rates and micro-F1 kept', () => {
    const ml: TextAttackRecord[] = [
      rec({ index: 0, status: 'successful', labels: [0, 2], originalPrediction: ['joy', 'fear'], perturbedPrediction: ['fear'] }),
      rec({ index: 1, status: 'failed', labels: [], originalPrediction: [], perturbedPrediction: [] }),
    ];
    const s: TextAttackSummary = {
      ...summary, n: 2, successful: 1, failed: 1, skipped: 0, budgetExhausted: 0,
      multiLabel: { perLabel: [{ label: 'joy', flipRate: 0.5 }, { label: 'anger', flipRate: 0 }, { label: 'fear', flipRate: 0 }], microF1Before: 0.8, microF1After: 0.4 },
    };
    const e = textAttackEntry({ summary: s, records: ml, goal: { kind: 'flip-any-gold' }, options: {}, labelNames: ['joy', 'anger', 'fear'] });
    expect(e.examples.map((x) => [x.label, x.prediction, x.perturbedPrediction])).toEqual([['joy, fear', 'joy, fear', 'fear'], ['(none)', '(none)', '(none)']]);
    expect(e.perLabel).toEqual(s.multiLabel!.perLabel);
    expect([e.microF1Before, e.microF1After]).toEqual([0.8, 0.4]);
    expect(e.successBits).toBe('10');
  });

  it('keeps the perturbed text when the changed words do not rebuild it, with the top-label confidence', () => {
    const odd = [rec({ index: 0, status: 'successful', label: 0, original: 'a good film', perturbed: 'a  fine film!', changed: [{ start: 2, end: 6, before: 'good', after: 'fine' }], originalProbs: [0.123456, 0.876544], perturbedProbs: [0.7, 0.3] })];
    const e = textAttackEntry({ summary: { ...summary, n: 1, successful: 1, failed: 0, skipped: 0, budgetExhausted: 0 }, records: odd, goal: { kind: 'untargeted' }, options: {}, labelNames: ['neg', 'pos'] });
    expect(e.examples[0].perturbed).toBe('a  fine film!');
    expect(perturbedText(e.examples[0])).toBe('a  fine film!');
    expect(e.examples[0].confidence).toEqual([0.8765, 0.7]);
  });

  it('refuses a compact record whose changes cannot rebuild the perturbed text', () => {
    const e = textAttackEntry({ summary, records, goal: { kind: 'untargeted' }, options: {}, labelNames: ['neg', 'pos'] });
    const broken = (change: { start: number; end: number; before: string; after: string }) => ({ ...text, attacks: [{ ...e, examples: [{ ...e.examples[1], changed: [change] }] }] });
    expect(refusal(() => validateResults(broken({ start: 2, end: 6, before: 'bad', after: 'fine' }), 'x.json'))).toBe(
      'x.json is not a valid Parry results file: attacks.0.examples.0.changed: change 0: before is not the original text at 2..6, and perturbed is absent',
    );
    expect(refusal(() => validateResults(broken({ start: 8, end: 40, before: 'film', after: 'x' }), 'x.json'))).toMatch(/examples\.0\.changed: change 0 \(8\.\.40\) is out of order or outside the original text \(11 characters\)/);
    // with the perturbed text stored, the changes are only shown
    expect(validateResults({ ...text, attacks: [{ ...e, examples: [{ ...e.examples[1], perturbed: 'a fine film', changed: [{ start: 8, end: 40, before: 'x', after: 'y' }] }] }] }, 'x.json').attacks).toHaveLength(1);
  });

  it('refuses records and a summary of different runs', () => {
    expect(() => textAttackEntry({ summary, records: records.slice(1), goal: { kind: 'untargeted' }, options: {}, labelNames: ['neg', 'pos'] })).toThrow(/3 records, but the summary of parry\/textfooler counts 4 examples/);
  });
});
