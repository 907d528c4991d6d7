/**
 * The README's promises, run as written: the `robustness()` snippet of "Library API" on one image and one text model
 * (the snippet's three path constants point at models this test trains first), and the example plugin's text recipe
 * through `parry eval --plugin parry-plugin-example --attack example/typo-lite` (docs/writing-a-plugin.md).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parry, toyReviewsCsv } from './test-support.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cliRoot = path.resolve(here, '..');
const repo = path.resolve(cliRoot, '../..');

function run(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}


/** The code block between the snippet markers of README.md. */
function readmeSnippet(): string {
  const readme = fs.readFileSync(path.join(repo, 'README.md'), 'utf8');
  const m = /<!-- robustness-snippet:start -->\s*```ts\n([\s\S]*?)```\s*<!-- robustness-snippet:end -->/.exec(readme);
  if (!m) throw new Error('README.md has no robustness snippet between its markers');
  return m[1];
}

describe('README and plugin guide, as written', () => {
  let work: string;
  const cols = ['--text-column', 'review', '--label-column', 'sentiment', '--label-names', 'neg,pos'];
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-readme-'));
    fs.writeFileSync(path.join(work, 'train.csv'), toyReviewsCsv(300, 1));
    fs.writeFileSync(path.join(work, 'dev.csv'), toyReviewsCsv(40, 2));
    const image = parry(['train', '--epochs', '1', '--quiet', '--out', path.join(work, 'image')], work);
    expect(image.stderr).toBe('');
    expect(image.code).toBe(0);
    const small = ['--model', 'bert', '--hidden', '32', '--layers', '1', '--heads', '2', '--max-length', '24', '--vocab-size', '200', '--lr', '3e-3', '--epochs', '3', '--quiet'];
    const text = parry(['train', ...small, '--data', 'train.csv', '--dev', 'dev.csv', ...cols, '--out', path.join(work, 'text')], work);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
  }, 300_000);
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('the robustness() snippet runs on an image and a text model and prints their robust accuracies', () => {
    const code = readmeSnippet();
    const paths: Array<[RegExp, string]> = [
      [/^const imageModel = .*$/m, `const imageModel = ${JSON.stringify(path.join(work, 'image'))};`],
      [/^const textModel = .*$/m, `const textModel = ${JSON.stringify(path.join(work, 'text'))};`],
      [/^const textData = .*$/m, `const textData = ${JSON.stringify({ data: path.join(work, 'train.csv'), dev: path.join(work, 'dev.csv'), textColumn: 'review', labelColumn: 'sentiment', labelNames: 'neg,pos' })};`],
    ];
    let script = code;
    for (const [re, line] of paths) {
      expect(script, `the snippet defines ${re}`).toMatch(re);
      script = script.replace(re, line);
    }
    // The snippet is TypeScript without type annotations, so it runs as an ES module; it resolves @parry/pipelines
    // from the CLI package's dependencies, as a user's project resolves it from theirs.
    const dir = fs.mkdtempSync(path.join(cliRoot, '.readme-snippet-'));
    try {
      const file = path.join(dir, 'snippet.mjs');
      fs.writeFileSync(file, script);
      const r = run([file], work);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines.filter((l) => l.startsWith('image '))).toHaveLength(2);
      expect(lines.filter((l) => l.startsWith('text '))).toHaveLength(2);
      expect(r.stdout).toMatch(/^image parry\/pgd: clean 0\.\d+, robust [\d.]+ \/ [\d.]+$/m);
      expect(r.stdout).toMatch(/^text parry\/pwws: clean [\d.]+, robust [\d.]+$/m);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it('the example plugin\'s text recipe runs through parry eval --plugin parry-plugin-example', () => {
    // a scratch project that has the example plugin installed (as a link), like a user's project
    const project = path.join(work, 'project');
    fs.mkdirSync(path.join(project, 'node_modules'), { recursive: true });
    fs.symlinkSync(path.join(repo, 'examples/parry-plugin-example'), path.join(project, 'node_modules/parry-plugin-example'), 'dir');
    const out = path.join(work, 'typo.json');
    const r = parry(['eval', '--model', path.join(work, 'text'), '--plugin', 'parry-plugin-example', '--attack', 'example/typo-lite', '-n', '20', '--quiet', '-o', out], project);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const res = JSON.parse(fs.readFileSync(out, 'utf8'));
    const entry = res.attacks[0];
    expect(entry).toMatchObject({ modality: 'text', attack: 'example/typo-lite', n: 20 });
    expect(entry.successful + entry.failed + entry.skipped).toBe(20);
    expect(entry.totalQueries).toBeGreaterThan(20);
    // --opt reaches a plugin's text recipe as it reaches the built-ins
    const refused = parry(['eval', '--model', path.join(work, 'text'), '--plugin', 'parry-plugin-example', '--attack', 'example/typo-lite', '--opt', 'typo-lite.nope=1', '-o', path.join(work, 'x.json')], project);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/example\/typo-lite: unknown option "nope"/);
  }, 300_000);
});
