import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parry } from './test-support.js';



/** Every file under dir (relative), to prove that a failed command wrote nothing. */
function tree(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true }).map(String).sort();
}

describe('parry CLI', () => {
  let work: string;
  let model: string;

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-cli-'));
    model = path.join(work, 'model');
    const r = parry(['train', '--epochs', '1', '--limit', '512', '--out', model, '--quiet'], work);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('trains and saves a model with its training results', () => {
    expect(fs.readdirSync(model).sort()).toEqual(['.parry-output.json', 'model.json', 'parry.json', 'train-results.json', 'weights.bin']);
    const results = JSON.parse(fs.readFileSync(path.join(model, 'train-results.json'), 'utf8'));
    expect(results.training.epochs).toHaveLength(1);
    expect(results.environment.backend.name).toBe('wasm');
  });

  it('evaluates attacks into a table and a versioned results.json', () => {
    const out = path.join(work, 'res', 'results.json');
    const r = parry(['eval', '-m', model, '-a', 'fgsm,pgd', '--eps', '0.1,0.3', '-n', '40', '--opt', 'pgd.steps=5', '-o', out, '-q'], work);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/parry\/fgsm/);
    expect(r.stdout).toMatch(/parry\/pgd/);
    const results = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(results.schema).toBe('parry-results');
    expect(results.version).toBe(2);
    expect(results.attacks.map((a: { attack: string }) => a.attack)).toEqual(['parry/fgsm', 'parry/pgd']);
    expect(results.attacks[1].options.steps).toBe(5);
    expect(results.attacks[0].perEpsilon.map((e: { epsilon: number }) => e.epsilon)).toEqual([0.1, 0.3]);
    expect(results.environment.backend.name).toBe('wasm');
    expect(results.attacks[0].successBits[0]).toHaveLength(40);
  });

  it('runs AutoAttack from --version and reports robust accuracy after each stage', () => {
    const out = path.join(work, 'aa.json');
    const r = parry(['eval', '-m', model, '-a', 'autoattack', '--version', 'standard', '--eps', '0.3', '-n', '16', '--opt', 'autoattack.steps=5', '--opt', 'autoattack.queries=50', '-o', out, '-q'], work);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/parry\/autoattack eps 0\.3: clean [\d.]+% -> apgd-ce [\d.]+% -> apgd-t [\d.]+% -> fab-t [\d.]+% -> square [\d.]+%/);
    const e = JSON.parse(fs.readFileSync(out, 'utf8')).attacks[0].perEpsilon[0];
    expect(e.stages.map((s: { label: string }) => s.label)).toEqual(['clean', 'apgd-ce', 'apgd-t', 'fab-t', 'square']);
    // robust accuracy never rises along the stages and ends at the attack's robust accuracy
    const acc = e.stages.map((s: { robustAccuracy: number }) => s.robustAccuracy);
    acc.slice(1).forEach((a: number, i: number) => expect(a).toBeLessThanOrEqual(acc[i]));
    expect(acc[acc.length - 1]).toBeCloseTo(e.robustAccuracy, 10);
  });

  it('prints machine-readable JSON with --json', () => {
    const r = parry(['eval', '-m', model, '-a', 'fgsm', '--eps', '0.1', '-n', '8', '-o', path.join(work, 'j.json'), '--json', '-q'], work);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).attacks[0].attack).toBe('parry/fgsm');
  });

  it('lists every attack with its options and defaults', () => {
    const r = parry(['list'], work);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/parry\/pgd/);
    expect(r.stdout).toMatch(/--opt pgd\.steps +integer.* = 40/);
    const json = JSON.parse(parry(['list', '--json'], work).stdout);
    expect(json.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['parry/fgsm', 'parry/pgd']));
  });

  const bad: Array<[string, string[], RegExp]> = [
    ['an unknown attack', ['--attack', 'nosuch'], /^parry: unknown attack "nosuch"; known: .*parry\/fgsm, .*parry\/pgd/],
    ['a negative epsilon', ['--eps', '0.1,-0.2'], /^parry: epsilon -0.2 is negative/],
    ['a non-numeric epsilon', ['--eps', 'abc'], /^parry: --eps: "abc" is not a number/],
    ['a bad attack option', ['--opt', 'pgd.steps=-3'], /^parry: parry\/pgd: option "steps"/],
    ['a missing model', ['--model', 'missing-model'], /^parry: model missing-model not found; train one with/],
  ];
  for (const [what, args, message] of bad) {
    it(`refuses ${what}: one line, exit 2, nothing written`, () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-bad-'));
      const r = parry(['eval', '--model', model, '-o', 'out/results.json', ...args], dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(tree(dir)).toEqual([]);
    });
  }

  it('refuses a corrupt model file: one line, exit 2, nothing written', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-bad-'));
    const broken = path.join(dir, 'broken');
    fs.cpSync(model, broken, { recursive: true });
    fs.writeFileSync(path.join(broken, 'model.json'), '{ not json');
    const before = tree(dir);
    const r = parry(['eval', '--model', broken, '-o', path.join(dir, 'out.json')], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^parry: model topology .*model\.json is corrupt/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(tree(dir)).toEqual(before);
  });

  it('trains with defense plugins, records them, and resumes from the checkpoints', () => {
    const out = path.join(work, 'adv');
    const args = ['train', '--defense', 'fgsm-rs,label-smoothing', '--eps', '0.3', '--epochs', '2', '--limit', '256', '--eval-pgd-n', '50', '--out', out, '--json', '-q'];
    const first = parry(args, work);
    expect(first.code).toBe(0);
    const results = JSON.parse(first.stdout);
    const hp = results.training.hyperparameters;
    expect(hp.defenses.map((d: { name: string }) => d.name)).toEqual(['parry/fgsm-rs', 'parry/label-smoothing']);
    expect(hp.defenses[0].options.eps).toBe(0.3);
    expect(results.training.epochs).toHaveLength(2);
    expect(results.training.epochs[1].robustAccuracy).toBeTypeOf('number');
    // a finished run resumed with the same settings continues from its last checkpoint and ends the same
    const again = parry([...args, '--resume'], work);
    expect(again.code).toBe(0);
    const resumed = JSON.parse(again.stdout);
    expect(resumed.training.hyperparameters.resumedFrom).toBe(2);
    expect(resumed.training.epochs.map((e: { loss: number }) => e.loss)).toEqual(results.training.epochs.map((e: { loss: number }) => e.loss));
  });

  it('refuses an unknown defense: one line, exit 2, nothing written', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-bad-'));
    const r = parry(['train', '--defense', 'nosuch', '--out', 'm'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^parry: unknown defense "nosuch"; known: .*parry\/fgsm-rs/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(tree(dir)).toEqual([]);
  });

  it('refuses an unknown flag with exit 2', () => {
    const r = parry(['eval', '--nope'], work);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--nope'/);
  });
});
