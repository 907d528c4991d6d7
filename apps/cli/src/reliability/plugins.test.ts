/**
 * Reliability cases for plugins and plugin options (issue 14): hostile plugin modules loaded with `--plugin`, and
 * hostile `--opt` / `--def-opt` / parry.config.mjs option keys. Each case: the exit code, one stderr line naming the
 * plugin or the flag, nothing written outside the declared outputs (and no results or model written), bounded RSS
 * and time. The hostile modules import nothing (they use `clone()` and the model), so they run on the CLI's own tfjs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { diff, expectBounded, expectOneLine, expectUnchanged, runParry, sandbox, snapshot } from './harness.js';

/** A well-formed attack plugin module whose `run(model, x, criterion, { epsilons })` body is `body`. */
const attackModule = (name: string, body: string, factoryPrefix = '') => `export default function factory(options) {
  ${factoryPrefix}
  return {
    kind: 'attack', name: 'hostile/${name}', summary: 'hostile', norm: 'linf', mode: 'fixed-epsilon',
    criteria: ['untargeted'], needs: ['scores'], options: {},
    optionsSchema: { safeParse: (v) => ({ success: true, data: v ?? {} }) },
    run(model, x, criterion, { epsilons }) { ${body} },
  };
}
`;

/** A defense plugin module with the given hooks (object-literal members). */
const defenseModule = (name: string, hooks: string) => `export default () => ({
  kind: 'defense', name: 'hostile/${name}', summary: 'hostile', options: {},
  optionsSchema: { safeParse: (v) => ({ success: true, data: v ?? {} }) },
  ${hooks}
});
`;

const MODULES: Record<string, string> = {
  'leaky.mjs': attackModule('leaky', 'for (let i = 0; i < 50; i++) x.clone(); return { adversarials: epsilons.map(() => x.clone()) };'),
  'undefined.mjs': attackModule('undefined', 'return undefined;'),
  'forty-two.mjs': attackModule('forty-two', 'return [42];'),
  'wrong-shape.mjs': attackModule('wrong-shape', 'return { adversarials: epsilons.map(() => model.logits(x)) };'),
  'wrong-count.mjs': attackModule('wrong-count', 'return { adversarials: [x.clone()] };'),
  'throws.mjs': attackModule('throws', "throw new TypeError(\"Cannot read properties of undefined (reading 'shape')\");"),
  'disposes-input.mjs': attackModule('disposes-input', 'const a = epsilons.map(() => x.clone()); x.dispose(); return { adversarials: a };'),
  'throwing-factory.mjs': attackModule('throwing-factory', 'return { adversarials: [] };', "throw new Error('cannot initialise: missing weights file');"),
  'leaky-defense.mjs': defenseModule('leaky-defense', 'transformBatch(batch) { for (let i = 0; i < 50; i++) batch.x.clone(); return batch; },'),
  'garbage-defense.mjs': defenseModule('garbage-defense', 'transformBatch() { return 42; },'),
};

describe('reliability: hostile plugins and plugin options', () => {
  let dir: string;
  let model: string;

  beforeAll(async () => {
    dir = sandbox('plugins');
    for (const [file, text] of Object.entries(MODULES)) fs.writeFileSync(path.join(dir, file), text);
    model = path.join(dir, 'model');
    const r = await runParry(['train', '--epochs', '1', '--limit', '256', '--out', model, '--quiet'], { cwd: dir, timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
  }, 150_000);

  const evalArgs = (plugin: string, attack: string) => ['eval', '-m', 'model', '--plugin', `./${plugin}`, '-a', attack, '--eps', '0.1,0.2', '-n', '64', '--batch-size', '16', '-o', 'out/r.json', '-q'];
  const trainArgs = (extra: string[]) => ['train', '--epochs', '1', '--limit', '64', '--eval-pgd-steps', '0', '--out', 'out/m', '-q', ...extra];

  // [case, argv, exit code, the one stderr line]
  const pluginCases: [string, string[], number, RegExp][] = [
    // 20 batches of 100 digits: unguarded, 1,000 leaked tensors (~310 MB); guarded, it stops after the first batch
    ['a plugin that leaks 50 tensors per batch stops at the first batch', [...evalArgs('leaky.mjs', 'hostile/leaky'), '-n', '2000', '--batch-size', '100'], 1, /^parry: plugin hostile\/leaky: run\(\) leaked 50 tensors /],
    ['a plugin whose run() returns undefined', evalArgs('undefined.mjs', 'hostile/undefined'), 1, /^parry: plugin hostile\/undefined: run\(\) returned undefined; it must return \{ adversarials: Tensor\[\] \}/],
    ['a plugin whose run() returns [42]', evalArgs('forty-two.mjs', 'hostile/forty-two'), 1, /^parry: plugin hostile\/forty-two: run\(\) returned \[42\]/],
    ['a plugin whose run() returns a tensor of the wrong shape', evalArgs('wrong-shape.mjs', 'hostile/wrong-shape'), 1, /^parry: plugin hostile\/wrong-shape: run\(\) returned adversarials\[0\] of shape \[16, 10\] for an input of shape \[16, 28, 28, 1\]/],
    ['a plugin whose run() returns the wrong count', evalArgs('wrong-count.mjs', 'hostile/wrong-count'), 1, /^parry: plugin hostile\/wrong-count: run\(\) returned 1 adversarial batch, expected 2 \(one per epsilon\)/],
    ['a plugin whose run() throws', evalArgs('throws.mjs', 'hostile/throws'), 1, /^parry: plugin hostile\/throws: run\(\) threw: Cannot read properties of undefined \(reading 'shape'\)$/],
    ['a plugin whose run() disposes its input', evalArgs('disposes-input.mjs', 'hostile/disposes-input'), 1, /^parry: plugin hostile\/disposes-input: run\(\) disposed its input x/],
    ['a plugin factory that throws', evalArgs('throwing-factory.mjs', 'hostile/throwing-factory'), 1, /^parry: --plugin \.\/throwing-factory\.mjs: the plugin factory threw: cannot initialise: missing weights file$/],
    ['a defense plugin that leaks 50 tensors per batch stops at the first step', trainArgs(['--plugin', './leaky-defense.mjs', '--defense', 'hostile/leaky-defense']), 1, /^parry: plugin hostile\/leaky-defense: transformBatch\(\) leaked 50 tensors /],
    ['a defense plugin whose transformBatch() returns 42', trainArgs(['--plugin', './garbage-defense.mjs', '--defense', 'hostile/garbage-defense']), 1, /^parry: plugin hostile\/garbage-defense: transformBatch\(\) returned 42; it must return a batch/],
  ];

  const optionCases: [string, string[], number, RegExp][] = [
    ['--attack pgd --opt fgsm.steps=3 is refused, not ignored', ['eval', '-m', 'model', '-a', 'pgd', '--opt', 'fgsm.steps=3', '--eps', '0.1', '-n', '8', '-o', 'out/r.json', '-q'], 2, /^parry: --opt fgsm\.steps=3 is for parry\/fgsm, which is not in --attack \(parry\/pgd\); add it to --attack or drop the option$/],
    ['--opt constructor.x=1', ['eval', '-m', 'model', '-a', 'pgd', '--opt', 'constructor.x=1', '--eps', '0.1', '-n', '8', '-o', 'out/r.json', '-q'], 2, /^parry: --opt constructor\.x=1: unknown attack "constructor"/],
    ['--opt __proto__.x=1', ['eval', '-m', 'model', '-a', 'pgd', '--opt', '__proto__.x=1', '--eps', '0.1', '-n', '8', '-o', 'out/r.json', '-q'], 2, /^parry: --opt __proto__\.x=1: unknown attack "__proto__"/],
    ['--opt pgd.__proto__={"steps":1}', ['eval', '-m', 'model', '-a', 'pgd', '--opt', 'pgd.__proto__={"steps":1}', '--eps', '0.1', '-n', '8', '-o', 'out/r.json', '-q'], 2, /^parry: --opt pgd\.__proto__=\{"steps":1\}: parry\/pgd: unknown option "__proto__"; its options: .*steps/],
    ['--opt pgd.constructor=1', ['eval', '-m', 'model', '-a', 'pgd', '--opt', 'pgd.constructor=1', '--eps', '0.1', '-n', '8', '-o', 'out/r.json', '-q'], 2, /^parry: --opt pgd\.constructor=1: parry\/pgd: unknown option "constructor"/],
    ['--opt pgd.stepz=3 (a typo)', ['eval', '-m', 'model', '-a', 'pgd', '--opt', 'pgd.stepz=3', '--eps', '0.1', '-n', '8', '-o', 'out/r.json', '-q'], 2, /^parry: --opt pgd\.stepz=3: parry\/pgd: unknown option "stepz"/],
    ['--defense fgsm-rs --def-opt trades.beta=6 is refused, not ignored', trainArgs(['--defense', 'fgsm-rs', '--def-opt', 'trades.beta=6']), 2, /^parry: --def-opt trades\.beta=6 is for parry\/trades, which is not in --defense \(parry\/fgsm-rs\)/],
    ['--def-opt __proto__.x=1', trainArgs(['--defense', 'fgsm-rs', '--def-opt', '__proto__.x=1']), 2, /^parry: --def-opt __proto__\.x=1: unknown defense "__proto__"/],
    ['--def-opt fgsm-rs.constructor=1', trainArgs(['--defense', 'fgsm-rs', '--def-opt', 'fgsm-rs.constructor=1']), 2, /^parry: --def-opt fgsm-rs\.constructor=1: parry\/fgsm-rs: unknown option "constructor"/],
    ['--def-opt pgd-at.attack.__proto__=1', trainArgs(['--defense', 'pgd-at', '--def-opt', 'pgd-at.attack=pgd', '--def-opt', 'pgd-at.attack.__proto__=1']), 2, /^parry: --def-opt pgd-at\.attack\.__proto__: parry\/pgd: unknown option "__proto__"/],
  ];

  for (const [what, args, code, line] of [...pluginCases, ...optionCases]) {
    it(what, async () => {
      const before = snapshot(dir);
      const r = await runParry(args, { cwd: dir, timeoutMs: 60_000 });
      expectOneLine(r, code, line);
      expectBounded(r, { maxRssMb: 1024, maxMs: 45_000 });
      expect(r.stdout).toBe('');
      expectUnchanged(diff(before, snapshot(dir)));
      expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
    }, 60_000);
  }

  const configCases: [string, string, RegExp][] = [
    ['parry.config.mjs defaults with a "constructor" option key', "export default { defaults: { 'parry/pgd': { constructor: 1 } } };\n", /^parry: parry\.config\.mjs defaults\["parry\/pgd"\]: parry\/pgd: unknown option "constructor"/],
    ['parry.config.mjs defaults with an own "__proto__" option key', "export default { defaults: { 'parry/pgd': JSON.parse('{\"__proto__\": {\"steps\": 1}}') } };\n", /^parry: parry\.config\.mjs defaults\["parry\/pgd"\]: parry\/pgd: unknown option "__proto__"/],
    ['parry.config.mjs defaults whose option object has a __proto__ prototype', "export default { defaults: { 'parry/pgd': { __proto__: { steps: 1 } } } };\n", /^parry: parry\.config\.mjs is malformed: defaults\["parry\/pgd"\] is not a plain object/],
  ];
  for (const [what, config, line] of configCases) {
    it(what, async () => {
      const cdir = sandbox('plugin-config');
      fs.writeFileSync(path.join(cdir, 'parry.config.mjs'), config);
      const before = snapshot(cdir);
      const r = await runParry(['eval', '-m', model, '-a', 'pgd', '--eps', '0.1', '-n', '8', '-o', 'r.json', '-q'], { cwd: cdir, timeoutMs: 60_000 });
      expectOneLine(r, 2, line);
      expectBounded(r, { maxRssMb: 1024, maxMs: 45_000 });
      expectUnchanged(diff(before, snapshot(cdir)));
    }, 60_000);
  }
});
