/**
 * `parry pretrain` (issue 15): --help lists the options with their defaults, bad input is one line with exit 2 and
 * nothing written, and a tiny run writes a masked-LM folder that `parry train --model <folder>` fine-tunes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parry } from './test-support.js';

describe('parry pretrain', () => {
  let work: string;
  const SENTENCES = ['the cat sat on the mat', 'the dog ran to the park', 'a bird flew over the tree', 'my fish swam in the bowl'];
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-cli-pretrain-'));
    fs.writeFileSync(path.join(work, 'corpus.txt'), `${Array.from({ length: 120 }, (_, i) => SENTENCES[i % 4]).join('\n')}\n`);
    fs.writeFileSync(path.join(work, 'more.jsonl'), `${SENTENCES.map((s) => JSON.stringify({ body: s })).join('\n')}\n`);
    const rows = Array.from({ length: 48 }, (_, i) => `"${SENTENCES[i % 4]}",${i % 4 < 2 ? 1 : 0}`);
    fs.writeFileSync(path.join(work, 'reviews.csv'), `text,label\n${rows.join('\n')}\n`);
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  const tiny = ['--hidden', '32', '--layers', '1', '--heads', '2', '--intermediate', '64', '--max-length', '16', '--vocab-size', '100', '--batch-size', '16', '--backend', 'cpu'];

  it('--help lists the options with their defaults', () => {
    const r = parry(['pretrain', '--help'], work);
    expect(r.code).toBe(0);
    for (const s of ['--whole-word-masking', '--init <model>', '--resume', '--grad-accum', '--dev <file>', '--checkpoint-every', '(default: 0.15)', '(default: "runs/mlm")', '(default: 8000)', '(default: 128)', '(default: 0.0005)', '(default: 0.06)', 'default 0.05']) {
      expect(r.stdout).toContain(s);
    }
  });

  it('bad input: one line, exit 2, nothing written', () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /needs a corpus/],
      [['missing.txt'], /corpus missing\.txt not found/],
      [['corpus.txt', '--mask-prob', '1.5'], /--mask-prob must be a number in \(0, 1\)/],
      [['corpus.txt', '--dev', 'corpus.txt', '--dev-fraction', '0.1'], /--dev and --dev-fraction/],
      [['more.jsonl'], /more\.jsonl:1: key "text" is missing .*--text-column/],
    ];
    for (const [args, message] of cases) {
      const r = parry(['pretrain', ...args, ...tiny, '-o', 'bad'], work);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    expect(fs.existsSync(path.join(work, 'bad'))).toBe(false);
    expect(fs.existsSync(path.join(work, 'bad.checkpoints'))).toBe(false);
  });

  it('writes a masked-LM folder that parry train --model <folder> fine-tunes; a foreign --out is refused', () => {
    const r = parry(['pretrain', 'corpus.txt', 'more.jsonl', '--text-column', 'body', ...tiny, '--epochs', '2', '--lr', '3e-3', '--whole-word-masking', '-o', 'mlm', '--json'], work);
    expect(r.code, r.stderr).toBe(0);
    const outcome = JSON.parse(r.stdout);
    expect(outcome.steps).toBe(2 * Math.ceil((114 + 3) / 16));
    expect(outcome.hyperparameters.masking.wholeWord).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(work, 'mlm', 'config.json'), 'utf8')).architectures).toEqual(['BertForMaskedLM']);
    const t = parry(['train', '--model', 'mlm', '--data', 'reviews.csv', '--dev', 'reviews.csv', '--text-column', 'text', '--label-column', 'label', '--max-length', '16', '--epochs', '1', '--batch-size', '16', '--backend', 'cpu', '-o', 'clf'], work);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/masked-LM|masked LM/);
    expect(t.stdout).toMatch(/model saved to clf/);
    const foreign = parry(['pretrain', 'corpus.txt', ...tiny, '-o', 'clf'], work);
    expect(foreign.code).toBe(2);
    expect(foreign.stderr.trim()).toBe('parry: --out clf holds a model that parry pretrain did not write; choose another path, or pass --force to replace it');
  });

  it('--init continues a masked LM with its own architecture and tokenizer; the flags it fixes are refused in one line', () => {
    // runs after the test above, which wrote mlm/ (2 x 32 hidden); the defaults of --hidden etc. must not count as given
    const r = parry(['pretrain', 'corpus.txt', '--init', 'mlm', '--epochs', '1', '--batch-size', '16', '--backend', 'cpu', '-o', 'mlm-more', '--json'], work);
    expect(r.code, r.stderr).toBe(0);
    const outcome = JSON.parse(r.stdout);
    expect(outcome.init.source).toBe('mlm');
    expect(outcome.hyperparameters).toMatchObject({ hidden: 32, layers: 1, intermediate: 64, maxLength: 16, init: 'mlm' });
    expect(outcome.init.heldOutBefore.masked).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/--init mlm before this run: held-out masked-token accuracy/);
    for (const [args, message] of [
      [['--hidden', '64'], /^parry: --hidden comes from --init mlm .*drop --hidden/],
      [['--model', 'roberta'], /^parry: --model roberta does not match --init mlm, a bert masked LM; drop --model$/],
      [['-o', 'mlm'], /^parry: --out mlm is also --init mlm/],
    ] as Array<[string[], RegExp]>) {
      const bad = parry(['pretrain', 'corpus.txt', '--init', 'mlm', '--backend', 'cpu', '-o', 'mlm-bad', ...args], work);
      expect(bad.code, bad.stderr).toBe(2);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      expect(bad.stderr.trim()).toMatch(message);
    }
    expect(fs.existsSync(path.join(work, 'mlm-bad'))).toBe(false);
  });
});
