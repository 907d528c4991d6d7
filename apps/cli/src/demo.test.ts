import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Results } from '@parry/metrics';
import { describe, expect, it } from 'vitest';
import { renderSpamTable } from './commands/demo.js';
import { parry } from './test-support.js';

/** A text attack entry as `robustness()` writes it (only the fields the table reads matter). */
const entry = (attack: string, n: number, successful: number, failed: number) => ({
  modality: 'text' as const,
  attack,
  n,
  successful,
  failed,
  skipped: n - successful - failed,
  cleanAccuracy: (successful + failed) / n,
  robustAccuracy: failed / n,
  attackSuccessRate: successful / (successful + failed),
  avgPerturbedWordPct: 12.5,
  avgQueries: 101.4,
});

describe('parry demo (issue 19): both halves, the text settings named', () => {
  it('the table says how many of the spam messages caught slip through, per model and attack', () => {
    const results = { attacks: [entry('parry/deepwordbug', 60, 20, 34), entry('parry/pwws', 60, 30, 24)] } as unknown as Results;
    const table = renderSpamTable([{ label: 'plain', modelDir: 'm', resultsFile: 'r', testAccuracy: 0.9345, testN: 886, results }]);
    const rows = table.split('\n').filter((l) => l.includes('plain'));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/plain .*93\.45% .*deepwordbug .*54\/60 \(90\.00%\) .*56\.67% .*20\/54 \(37\.04%\) .*12\.5% .*101/);
    expect(rows[1]).toMatch(/pwws .*54\/60 .*40\.00% .*30\/54 \(55\.56%\)/);
  });

  it('--help names the text half; a bad --text-n is refused with one line and exit 2 before any work', () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-demo-'));
    const help = parry(['demo', '--help'], work);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/SpamAssassin/);
    expect(help.stdout).toMatch(/--text-n <count>/);
    expect(help.stdout).toMatch(/--no-text/);
    const bad = parry(['demo', '--text-n', '0', '-o', 'out'], work);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--text-n/);
    expect(fs.readdirSync(work)).toEqual([]);
  });
});
