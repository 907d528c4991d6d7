// Issue 19: the gate section of a config file (loaded like parry.config.*, TypeScript through jiti).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UsageError } from '@parry/core';
import { describe, expect, it } from 'vitest';
import { loadGateConfig } from './gate.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-gate-config-'));

function config(name: string, text: string): string {
  const f = path.join(dir, name);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, text);
  return f;
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('loadGateConfig', () => {
  it('reads the gate section of a TypeScript config (jiti) and resolves the baseline against its folder', async () => {
    const f = config(
      'ci/parry.config.ts',
      `const limit: number = 0.85;\nexport default { gate: { baseline: 'baseline/results.json', maxDrop: 0.02, thresholds: { robustAccuracy: { 'parry/pgd@0.3': limit } } } };\n`,
    );
    expect(await loadGateConfig(f)).toEqual({ baseline: path.join(dir, 'ci', 'baseline', 'results.json'), maxDrop: 0.02, thresholds: { robustAccuracy: { 'parry/pgd@0.3': 0.85 } } });
  });

  it('reads an .mjs config too', async () => {
    const f = config('parry.config.mjs', `export default { plugins: [], gate: { confidence: 0.9, maxDrop: { robustAccuracy: 0.03 } } };\n`);
    expect(await loadGateConfig(f)).toEqual({ confidence: 0.9, maxDrop: { robustAccuracy: 0.03 } });
  });

  it('refuses, in one line naming the file: missing, no gate section, a bad field, not importable', async () => {
    expect(await refusal(loadGateConfig(path.join(dir, 'none.ts')))).toMatch(/^--config .*none\.ts: no such file/);
    expect(await refusal(loadGateConfig(config('nogate.mjs', 'export default { plugins: [] };\n')))).toMatch(/nogate\.mjs has no gate section; add gate:/);
    expect(await refusal(loadGateConfig(config('bad.mjs', "export default { gate: { thresholds: { robustAccuracy: { 'parry/pgd@0.3': 85 } } } };\n")))).toMatch(
      /bad\.mjs is malformed: gate\.thresholds\.robustAccuracy\.parry\/pgd@0\.3: /,
    );
    expect(await refusal(loadGateConfig(config('typo.mjs', 'export default { gate: { maxdrop: 0.02 } };\n')))).toMatch(/typo\.mjs is malformed: gate: .*maxdrop/i);
    expect(await refusal(loadGateConfig(config('broken.ts', 'export default { gate: {\n')))).toMatch(/^--config .*broken\.ts: cannot import it: /);
    expect(await refusal(loadGateConfig(dir))).toMatch(/is a folder; pass the config file itself/);
  });
});
