// loadTextCorpus (issue 15): the unlabelled corpora of `parry pretrain`, in each layout, and one-line errors.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError, UsageError } from '@parry/core';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTextCorpus } from './text.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-corpus-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};

describe('loadTextCorpus', () => {
  it('reads one document per line of a text file, skipping blank lines, with their lines', () => {
    const c = loadTextCorpus(write('a.txt', 'first doc\r\n\n  \nsecond, "quoted" doc\n'));
    expect(c).toEqual({ source: path.join(dir, 'a.txt'), format: 'lines', texts: ['first doc', 'second, "quoted" doc'], lines: [1, 4] });
  });

  it('reads the text column of csv (by name, quoted, multi-line) and tsv (by index, no header), skipping empty texts', () => {
    const csv = loadTextCorpus(write('b.csv', 'id,text\n1,"one, with comma"\n2,\n3,"two\nlines"\n'));
    expect(csv.texts).toEqual(['one, with comma', 'two\nlines']);
    expect(csv.lines).toEqual([2, 4]);
    const tsv = loadTextCorpus(write('c.tsv', 'x\tfirst "text"\ny\tsecond\n'), { textColumn: 1, header: false });
    expect(tsv.texts).toEqual(['first "text"', 'second']);
  });

  it('reads a jsonl key or dot path', () => {
    const j = loadTextCorpus(write('d.jsonl', '{"meta":{"body":"alpha"}}\n\n{"meta":{"body":"beta"}}\n'), { textColumn: 'meta.body' });
    expect(j.texts).toEqual(['alpha', 'beta']);
    expect(j.lines).toEqual([1, 3]);
  });

  it('refuses what it cannot read in one line naming the file, line and fix', () => {
    expect(() => loadTextCorpus(write('e.jsonl', '{"text":"ok"}\n{bad\n'))).toThrow(new RegExp(`^${path.join(dir, 'e.jsonl')}:2: bad JSON`));
    expect(() => loadTextCorpus(write('f.jsonl', '{"body":"x"}\n'), { textColumnName: '--text-column' })).toThrow(/f\.jsonl:1: key "text" is missing \(pass --text-column <key> naming the text\)/);
    expect(() => loadTextCorpus(write('g.csv', 'id,body\n1,x\n'))).toThrow(UsageError);
    expect(() => loadTextCorpus(write('h.txt', '\n \n'))).toThrow(InputError);
    expect(() => loadTextCorpus(path.join(dir, 'missing.txt'))).toThrow(InputError);
  });
});
