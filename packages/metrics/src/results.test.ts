import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '@parry/core';
import { describe, expect, it } from 'vitest';
import { readResults, validateResults, writeResults, type ResultsInput } from './results.js';

const good: ResultsInput = {
  schema: 'parry-results',
  version: 2,
  kind: 'eval',
  createdAt: '2026-11-22T00:00:00.000Z',
  command: ['parry', 'eval'],
  seed: 0,
  environment: { backend: { name: 'wasm' } },
  dataset: { name: 'mnist', source: 'test', split: 'test', n: 2 },
  model: { modality: 'image', name: 'm', inputShape: [28, 28, 1], numClasses: 10, bounds: [0, 1] },
  clean: { accuracy: 1, n: 2 },
  attacks: [
    {
      modality: 'image',
      attack: 'parry/fgsm',
      norm: 'linf',
      options: {},
      cleanAccuracy: 1,
      n: 2,
      perEpsilon: [{ epsilon: 0.1, robustAccuracy: 0.5, attackSuccessRate: 0.5, linf: { mean: 0.1, max: 0.1, count: 1 }, l2: null }],
      wallTimeMs: 1,
      gradientEvaluations: 2,
      forwardEvaluations: 2,
    },
  ],
};

describe('results files', () => {
  it('accept a valid object and round-trip through an atomic write', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-results-'));
    const file = path.join(dir, 'sub', 'results.json');
    writeResults(file, good);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['results.json']);
    expect(readResults(file).attacks[0].attack).toBe('parry/fgsm');
  });

  it('reject broken files with the reason', () => {
    expect(() => validateResults({ ...good, version: 7 } as any, 'x.json')).toThrow(/x\.json was written by a newer Parry \(results version 7; this Parry reads versions 1 to 2\); upgrade Parry/);
    expect(() => validateResults({ ...good, version: 0 } as any, 'x.json')).toThrow(/x\.json has results version 0; this Parry reads versions 1 to 2; re-run `parry eval` to write a v2 file/);
    expect(() => validateResults({ ...good, seed: 'zero' }, 'x.json')).toThrow(/x\.json is not a valid Parry results file: seed:/);
    const badRate = structuredClone(good) as any;
    badRate.attacks[0].perEpsilon[0].robustAccuracy = 1.5;
    expect(() => validateResults(badRate, 'x.json')).toThrow(/attacks\.0\.perEpsilon\.0\.robustAccuracy/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-results-'));
    fs.writeFileSync(path.join(dir, 'broken.json'), '{"schema": "parry-res');
    expect(() => readResults(path.join(dir, 'broken.json'))).toThrow(InputError);
    expect(() => readResults(path.join(dir, 'missing.json'))).toThrow(/not found/);
  });

  it('write nothing when the object is invalid', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-results-'));
    expect(() => writeResults(path.join(dir, 'r.json'), { ...good, kind: 'nope' } as any)).toThrow(InputError);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('issue 14: reading hostile results files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-results-hostile-'));
  const put = (name: string, content: string | Buffer): string => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    return p;
  };
  /** The one-line InputError message of readResults(file). */
  const refusal = (file: string): string => {
    try {
      readResults(file);
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      expect((e as Error).message).not.toContain('\n');
      return (e as Error).message;
    }
    throw new Error('expected readResults to refuse the file');
  };
  const withImage = (original: string, adversarial: string, shape = [2, 2, 1]): ResultsInput => {
    const r = structuredClone(good) as any;
    r.attacks[0].examples = [{ index: 0, shape, label: 1, prediction: 1, original, perEpsilon: [{ epsilon: 0.1, adversarial, prediction: 2, success: true }] }];
    return r;
  };

  it('a directory given as a results file says it is a directory and names the results.json inside', () => {
    const d = path.join(dir, 'run-dir');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'results.json'), JSON.stringify(good));
    expect(refusal(d)).toMatch(/results file .*run-dir is a directory; pass .*run-dir\/results\.json/);
  });
  it('a missing results file says not found', () => {
    expect(refusal(path.join(dir, 'nope.json'))).toMatch(/results file .*nope\.json not found; run `parry eval`/);
  });
  it.skipIf(process.getuid?.() === 0)('an unreadable results file says permission denied (skipped as root, who can read any file)', () => {
    const p = put('locked.json', JSON.stringify(good));
    fs.chmodSync(p, 0o000);
    expect(refusal(p)).toMatch(/locked\.json cannot be read \(permission denied\)/);
  });
  it('a results file that is a device (/dev/zero) is refused without reading it', () => {
    if (!fs.existsSync('/dev/zero')) return;
    // Used to read /dev/zero until memory ran out: run it in a child process (the built package) with a timeout.
    const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/index.js');
    const code = `try { const m = await import(${JSON.stringify(dist)}); m.readResults('/dev/zero'); console.log('returned'); } catch (e) { console.log(e.name + ': ' + e.message); }`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 10_000, maxBuffer: 1 << 20 });
    expect(r.signal).toBe(null);
    expect(r.stdout.trim()).toMatch(/^InputError: results file \/dev\/zero is not a regular file/);
  });
  it('an empty results file says it is empty', () => {
    expect(refusal(put('empty.json', ''))).toMatch(/empty\.json is empty/);
  });
  it('a truncated results file says it is truncated', () => {
    const whole = JSON.stringify(good, null, 2);
    expect(refusal(put('cut.json', whole.slice(0, whole.length / 2)))).toMatch(/cut\.json is truncated \(the JSON ends before it is complete\)/);
  });
  it('a non-JSON results file says it is not JSON', () => {
    expect(refusal(put('page.json', '<html>404</html>'))).toMatch(/page\.json is not JSON \(.*\); pass a results\.json written by `parry eval` or `parry train`/);
  });
  it('a results file with invalid UTF-8 says so', () => {
    const p = put('latin1.json', Buffer.concat([Buffer.from('{"schema":"parry-results","x":"'), Buffer.from([0xe9]), Buffer.from('"}')]));
    expect(refusal(p)).toMatch(/latin1\.json is not valid UTF-8/);
  });
  it('a JSON file that is not a Parry results file says so', () => {
    expect(refusal(put('package.json', '{"name":"x","version":"1.0.0"}'))).toMatch(/package\.json is not a Parry results file \(no "schema": "parry-results"\)/);
  });
  it('a results file of a newer schema version says to upgrade Parry', () => {
    expect(refusal(put('v3.json', JSON.stringify({ ...good, version: 3 })))).toMatch(/v3\.json was written by a newer Parry \(results version 3; this Parry reads versions 1 to 2\); upgrade Parry/);
  });
  it('image example bytes that do not match their declared shape are refused in validation', () => {
    const four = Buffer.from([0, 64, 128, 255]).toString('base64');
    const three = Buffer.from([0, 64, 128]).toString('base64');
    expect(validateResults(withImage(four, four), 'ok.json').attacks[0].examples).toHaveLength(1);
    expect(() => validateResults(withImage(three, four), 'x.json')).toThrow(
      /x\.json is not a valid Parry results file: attacks\.0\.examples\.0\.original: 3 bytes, but shape \[2, 2, 1\] needs 4/,
    );
    expect(() => validateResults(withImage(four, three), 'x.json')).toThrow(/attacks\.0\.examples\.0\.perEpsilon\.0\.adversarial: 3 bytes/);
    expect(() => validateResults(withImage('@@not base64@@', four), 'x.json')).toThrow(/attacks\.0\.examples\.0\.original: not base64/);
    expect(() => validateResults(withImage(four, four, [100000, 100000, 3]), 'x.json')).toThrow(/shape \[100000, 100000, 3\] needs 30000000000/);
  });
});
