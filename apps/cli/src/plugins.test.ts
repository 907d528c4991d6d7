import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parry } from './test-support.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');


function tree(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true }).map(String).sort();
}

/** A scratch project that has the example plugin and @parry/core installed (as links), like a user's project. */
function project(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.mkdirSync(path.join(dir, 'node_modules', '@parry'), { recursive: true });
  fs.symlinkSync(path.join(root, 'examples', 'parry-plugin-example'), path.join(dir, 'node_modules', 'parry-plugin-example'), 'dir');
  fs.symlinkSync(path.join(root, 'packages', 'core'), path.join(dir, 'node_modules', '@parry', 'core'), 'dir');
  return dir;
}

describe('parry plugins (--plugin and parry.config.mjs)', () => {
  let work: string;
  let model: string;

  beforeAll(() => {
    work = project('parry-plugins-');
    model = path.join(work, 'model');
    // the example regularizer trains through the trainer's lossTerm hook
    const r = parry(['train', '--plugin', 'parry-plugin-example', '--defense', 'example/grad-norm', '--def-opt', 'example/grad-norm.weight=0.5', '--eval-pgd-steps', '0', '--epochs', '1', '--limit', '256', '--out', model, '--quiet'], work);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('trains with a plugin defense given by --plugin', () => {
    const results = JSON.parse(fs.readFileSync(path.join(model, 'train-results.json'), 'utf8'));
    expect(results.command).toContain('example/grad-norm');
    expect(Number.isFinite(results.training.epochs[0].loss)).toBe(true);
  });

  it('runs a plugin attack given by --plugin', () => {
    const out = path.join(work, 'noise.json');
    const r = parry(['eval', '-m', model, '--plugin', 'parry-plugin-example', '-a', 'example/noise,fgsm', '--eps', '0.1,0.3', '-n', '20', '-o', out, '-q'], work);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const results = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(results.attacks.map((a: { attack: string }) => a.attack)).toEqual(['example/noise', 'parry/fgsm']);
    expect(results.attacks[0].gradientEvaluations).toBe(0);
  });

  it('lists plugins given by --plugin', () => {
    const r = parry(['list', '--plugin', 'parry-plugin-example'], work);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/example\/noise +\(attack\)/);
    expect(r.stdout).toMatch(/example\/grad-norm +\(defense\)/);
    expect(parry(['list'], work).stdout).not.toMatch(/example\//);
  });

  it('loads plugins and typed defaults from parry.config.mjs in the working directory', () => {
    const dir = project('parry-config-');
    fs.writeFileSync(
      path.join(dir, 'parry.config.mjs'),
      "import { defineConfig } from '@parry/core';\nimport plugins from 'parry-plugin-example';\nexport default defineConfig({ plugins, defaults: { 'example/noise': { tries: 3, dist: 'gaussian' } } });\n",
    );
    const out = path.join(dir, 'r.json');
    const r = parry(['eval', '-m', model, '-a', 'noise', '--eps', '0.2', '-n', '12', '--opt', 'noise.tries=2', '-o', out, '-q'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const attack = JSON.parse(fs.readFileSync(out, 'utf8')).attacks[0];
    expect(attack.attack).toBe('example/noise');
    expect(attack.options).toMatchObject({ dist: 'gaussian', tries: 2 }); // config default, overridden by --opt
    expect(parry(['list'], dir).stdout).toMatch(/example\/noise/);
  });

  it('loads a typed parry.config.ts (TypeScript, through jiti)', () => {
    const dir = project('parry-config-ts-');
    fs.writeFileSync(
      path.join(dir, 'parry.config.ts'),
      "import { defineConfig, type ParryConfig } from '@parry/core';\nimport plugins from 'parry-plugin-example';\nconst config: ParryConfig = defineConfig({ plugins, defaults: { 'example/noise': { tries: 2 } } });\nexport default config;\n",
    );
    const out = path.join(dir, 'r.json');
    const r = parry(['eval', '-m', model, '-a', 'noise', '--eps', '0.2', '-n', '8', '-o', out, '-q'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).attacks[0].options).toMatchObject({ tries: 2 });
  });

  describe('refuses with exit 2, one line and nothing written', () => {
    let dir: string;
    beforeAll(() => {
      dir = project('parry-refuse-');
      const valid = "{ kind: 'attack', name: 'local/ok', summary: 's', norm: 'linf', mode: 'fixed-epsilon', criteria: ['untargeted'], needs: ['scores'], options: {}, optionsSchema: { safeParse: () => ({ success: true, data: {} }) }, run: () => ({ adversarials: [] }) }";
      fs.writeFileSync(path.join(dir, 'future.mjs'), `export const parryCore = '^9.0.0';\nexport default () => (${valid});\n`);
      fs.writeFileSync(path.join(dir, 'bad-range.mjs'), `export const parryCore = 'not a range';\nexport default () => (${valid});\n`);
      fs.writeFileSync(path.join(dir, 'malformed.mjs'), "export default () => ({ kind: 'attack', name: 'NoNamespace' });\n");
      fs.writeFileSync(path.join(dir, 'not-a-factory.mjs'), 'export default 42;\n');
      fs.writeFileSync(path.join(dir, 'broken.mjs'), 'export default (;\n');
    });

    const cases: [string, string[], RegExp][] = [
      ['an incompatible core version range', ['--plugin', './future.mjs'], /--plugin \.\/future\.mjs needs @parry\/core \^9\.0\.0, but this parry has @parry\/core 0\.1\.0/],
      ['a parryCore that is not a semver range', ['--plugin', './bad-range.mjs'], /--plugin \.\/bad-range\.mjs is malformed: parryCore must be a semver range/],
      ['a duplicate name', ['--plugin', 'parry-plugin-example', '--plugin', 'parry-plugin-example'], /plugin name "example\/(noise|grad-norm)" is already registered \(from --plugin parry-plugin-example\)/],
      ['a malformed plugin shape', ['--plugin', './malformed.mjs'], /--plugin \.\/malformed\.mjs is malformed: name "NoNamespace" must be namespaced/],
      ['a default export that is not a factory', ['--plugin', './not-a-factory.mjs'], /--plugin \.\/not-a-factory\.mjs is malformed: expected a plugin factory function, got number/],
      ['a package that is not installed', ['--plugin', 'parry-plugin-nope'], /--plugin parry-plugin-nope: cannot find package "parry-plugin-nope"/],
      ['a module that does not parse', ['--plugin', './broken.mjs'], /--plugin \.\/broken\.mjs: cannot import .*broken\.mjs: /],
      ['a missing file', ['--plugin', './nope.mjs'], /--plugin \.\/nope\.mjs: no such file/],
    ];
    for (const [what, flags, message] of cases) {
      it(`${what} (eval, train and list)`, () => {
        const before = tree(dir);
        for (const args of [
          ['eval', '-m', model, '-a', 'fgsm', '--eps', '0.1', '-n', '4', '-o', path.join(dir, 'out', 'r.json'), '-q', ...flags],
          ['train', '--epochs', '1', '--limit', '64', '--out', path.join(dir, 'out', 'm'), '-q', ...flags],
          ['list', ...flags],
        ]) {
          const r = parry(args, dir);
          expect(r.code, `${args[0]}: ${r.stderr}`).toBe(2);
          expect(r.stdout).toBe('');
          expect(r.stderr).toMatch(message);
          expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
        }
        expect(tree(dir)).toEqual(before);
      });
    }

    it('a malformed, unparsable or unimportable config', () => {
      for (const [file, text, message] of [
        ['parry.config.ts', 'export default [];\n', /parry\.config\.ts is malformed: it must `export default defineConfig/],
        ['parry.config.ts', 'export default {;\n', /parry\.config\.ts: cannot import .*parry\.config\.ts/],
        ['parry.config.mjs', 'export default [];\n', /parry\.config\.mjs is malformed: it must `export default defineConfig/],
        ['parry.config.mjs', "export default { defaults: { 'nobody/nothing': {} } };\n", /parry\.config\.mjs defaults: unknown plugin "nobody\/nothing"/],
        ['parry.config.mjs', "import 'parry-plugin-nope';\n", /parry\.config\.mjs: cannot import .*parry-plugin-nope/],
      ] as const) {
        const cdir = project('parry-badconfig-');
        fs.writeFileSync(path.join(cdir, file), text);
        const before = tree(cdir);
        const r = parry(['eval', '-m', model, '-a', 'fgsm', '--eps', '0.1', '-n', '4', '-o', path.join(cdir, 'r.json'), '-q'], cdir);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
        expect(tree(cdir)).toEqual(before);
      }
    });
  });
});
