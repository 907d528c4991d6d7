import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadWordVectors } from './word-vectors.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-wv-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A vector of 300 dims near `base` (a direction of its own per group), written with 5 decimals as counter-fitted files are. */
function row(word: string, base: number, jitter: number): string {
  const v = Array.from({ length: 300 }, (_, d) => (d === base ? 1 : 0) + jitter * Math.sin(d + word.length)).map((x) => x.toFixed(5));
  return `${word} ${v.join(' ')}`;
}

describe('loadWordVectors reads counter-fitted vectors (word v1 ... v300, no header)', () => {
  it('reads a small counter-fitted file: 300 dims, neighbours by cosine, words in lower case', () => {
    const file = path.join(dir, 'counter-fitted-vectors.txt');
    const lines = [row('good', 0, 0.01), row('great', 0, 0.05), row('fine', 0, 0.1), row('bad', 7, 0.01), row('awful', 7, 0.05), row("don't", 20, 0)];
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const v = loadWordVectors(file);
    expect(v.dim).toBe(300);
    expect(v.size).toBe(6);
    expect(v.source).toBe(file);
    expect(v.has('Good')).toBe(true);
    expect(v.has("don't")).toBe(true);
    expect(v.neighbours('good', 2).map((n) => n.word).sort()).toEqual(['fine', 'great']);
    expect(v.neighbours('bad', 1)[0].word).toBe('awful');
    expect(v.cosine('good', 'great')).toBeGreaterThan(0.8);
    expect(Math.abs(v.cosine('good', 'bad') ?? 1)).toBeLessThan(0.2);
    expect(v.cosine('good', 'nope')).toBeUndefined();
    expect(loadWordVectors(file, { limit: 2 }).size).toBe(2);
  });

  it('takes Windows line ends and a word2vec header, and refuses a ragged file with one line', () => {
    const crlf = path.join(dir, 'crlf.txt');
    fs.writeFileSync(crlf, `2 300\r\n${row('good', 0, 0)}\r\n${row('bad', 1, 0)}\r\n`);
    const v = loadWordVectors(crlf);
    expect([v.size, v.dim]).toEqual([2, 300]);
    const ragged = path.join(dir, 'ragged.txt');
    fs.writeFileSync(ragged, `${row('good', 0, 0)}\nbad 0.1 0.2\n`);
    expect(() => loadWordVectors(ragged)).toThrow(/line 2: expected a word and 300 numbers/);
  });
});
