import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError, UsageError } from '@parry/core';
import { labelCounts, loadGoEmotions, loadSst2, loadTextFile, multiHot, type TextDataset } from './text.js';

const tmp = mkdtempSync(join(tmpdir(), 'parry-text-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let fileNo = 0;
function write(name: string, content: string): string {
  const dir = join(tmp, `d${fileNo++}`);
  mkdirSync(dir);
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

/** Runs `fn`, expects an error of class `cls`, and returns its message. */
function errorOf(fn: () => unknown, cls: typeof InputError | typeof UsageError = InputError): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(cls);
    const msg = (e as Error).message;
    expect(msg).not.toContain('\n');
    return msg;
  }
  throw new Error('expected an error, none was thrown');
}

describe('loadSst2', () => {
  // Same three sentences in both layouts; the TSV has no newline after its last row and a `"` inside the text.
  const dir = join(tmp, 'sst');
  mkdirSync(dir);
  writeFileSync(join(dir, 'train.tsv'), 'a "stirring" film\t1\nflat , dull\t0\nfine\t1');
  writeFileSync(join(dir, 'stsa.binary.train'), '1 a "stirring" film\n0 flat , dull .\n1 fine\n');
  writeFileSync(join(dir, 'dev.tsv'), 'sentence\tlabel\ngood\t1\nbad\t0\n');

  it('reads the clairett TSV layout (no trailing newline, quotes kept)', () => {
    const ds = loadSst2(dir, 'train', { format: 'tsv' });
    expect(ds.labelNames).toEqual(['negative', 'positive']);
    expect(ds.multiLabel).toBe(false);
    expect(ds.examples).toEqual([
      { text: 'a "stirring" film', label: 1, line: 1 },
      { text: 'flat , dull', label: 0, line: 2 },
      { text: 'fine', label: 1, line: 3 },
    ]);
    expect(ds.source).toBe(join(dir, 'train.tsv'));
  });

  it('reads the harvardnlp stsa layout and prefers it in auto mode', () => {
    const ds = loadSst2(dir, 'train');
    expect(ds.source).toBe(join(dir, 'stsa.binary.train'));
    expect(ds.examples.map((e) => [e.text, e.label, e.line])).toEqual([
      ['a "stirring" film', 1, 1],
      ['flat , dull .', 0, 2],
      ['fine', 1, 3],
    ]);
  });

  it('auto-detects a single file and a GLUE-style header', () => {
    expect(loadSst2(join(dir, 'train.tsv')).examples).toHaveLength(3);
    const dev = loadSst2(dir, 'dev');
    expect(dev.examples).toEqual([
      { text: 'good', label: 1, line: 2 },
      { text: 'bad', label: 0, line: 3 },
    ]);
  });

  it('names the path when files are missing', () => {
    expect(errorOf(() => loadSst2(join(tmp, 'nope')))).toMatch(/nope not found \(expected a directory with train\.tsv or stsa\.binary\.train/);
    expect(errorOf(() => loadSst2(dir, 'test'))).toMatch(/has neither test\.tsv nor stsa\.binary\.test/);
    expect(errorOf(() => loadSst2(dir, 'test', { format: 'tsv' }))).toContain(join(dir, 'test.tsv'));
    expect(errorOf(() => loadSst2(dir, 'validation' as 'dev'), UsageError)).toMatch(/split "validation"/);
  });

  it('reports malformed rows with file:line, or skips and lists them', () => {
    const stsa = write('stsa.binary.train', '1 ok\n2 bad label\n\n0 fine\nnospace\n');
    expect(errorOf(() => loadSst2(stsa))).toBe(`${stsa}:2: label "2" is not 0 or 1 (SST-2 is binary: 0 negative, 1 positive)`);
    const ds = loadSst2(stsa, 'train', { skipMalformed: true });
    expect(ds.examples.map((e) => e.line)).toEqual([1, 4]);
    expect(ds.skipped?.map((s) => s.line)).toEqual([2, 5]);
    const tsv = write('train.tsv', 'ok\t1\ntoo\tmany\t1\n\t0\n');
    expect(errorOf(() => loadSst2(tsv))).toMatch(new RegExp(`^${esc(tsv)}:2: has 3 columns, expected 2`));
    const skipped = loadSst2(tsv, 'train', { skipMalformed: true }).skipped ?? [];
    expect(skipped.map((s) => s.line)).toEqual([2, 3]);
    expect(skipped[1].message).toMatch(/^empty text/);
  });
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('loadGoEmotions', () => {
  const dir = join(tmp, 'goemo');
  mkdirSync(dir);
  writeFileSync(join(dir, 'labels.txt'), 'admiration\namusement\nanger\nneutral\n');
  writeFileSync(join(dir, 'train.tsv'), 'I love "this"\t0\tid1\nso funny, wow\t1,0\tid2\nugh.\t3,2,1\tid3\n');
  writeFileSync(join(dir, 'dev.tsv'), 'ok\t3\tid1\nbad id\t4\tid2\nnot int\tx\tid3\nmissing\t\tid4\ntwo cols\t1\n');

  it('reads multi-label rows with 1-3 labels as sorted ids', () => {
    const ds = loadGoEmotions(dir, 'train');
    expect(ds.multiLabel).toBe(true);
    expect(ds.labelNames).toEqual(['admiration', 'amusement', 'anger', 'neutral']);
    expect(ds.examples).toEqual([
      { text: 'I love "this"', labels: [0], line: 1 },
      { text: 'so funny, wow', labels: [0, 1], line: 2 },
      { text: 'ugh.', labels: [1, 2, 3], line: 3 },
    ]);
    // prettier-ignore
    expect(Array.from(multiHot(ds))).toEqual([
      1, 0, 0, 0,
      1, 1, 0, 0,
      0, 1, 1, 1,
    ]);
    expect(labelCounts(ds)).toEqual([2, 2, 1, 1]);
  });

  it('reports each malformed row by line', () => {
    const f = join(dir, 'dev.tsv');
    expect(errorOf(() => loadGoEmotions(dir, 'dev'))).toMatch(new RegExp(`^${esc(f)}:2: label id 4 is out of range 0\\.\\.3`));
    const ds = loadGoEmotions(dir, 'dev', { skipMalformed: true });
    expect(ds.examples.map((e) => e.line)).toEqual([1]);
    expect(ds.skipped?.map((s) => s.line)).toEqual([2, 3, 4, 5]);
    const [outOfRange, notInt, missing, cols] = ds.skipped ?? [];
    expect(outOfRange.message).toMatch(/label id 4 is out of range/);
    expect(notInt.message).toMatch(/label "x" is not an integer id/);
    expect(missing.message).toMatch(/^no label/);
    expect(cols.message).toMatch(/^has 2 columns, expected 3/);
  });

  it('names missing files', () => {
    expect(errorOf(() => loadGoEmotions(join(tmp, 'none'), 'train'))).toMatch(/none not found \(expected train\.tsv and labels\.txt/);
    expect(errorOf(() => loadGoEmotions(dir, 'test'))).toMatch(/test\.tsv not found \(expected a TSV file/);
  });
});

describe('loadTextFile: CSV', () => {
  it('reads a header, quoted commas, quoted newlines (line = record start) and label names in sorted order', () => {
    const f = write('a.csv', 'id,text,topic\n1,"hello, world",sports\n2,"two\nlines ""quoted""",arts\n3,plain,sports\n');
    const ds = loadTextFile(f, { textColumn: 'text', labelColumn: 'topic' });
    expect(ds.labelNames).toEqual(['arts', 'sports']);
    expect(ds.examples).toEqual([
      { text: 'hello, world', label: 1, line: 2 },
      { text: 'two\nlines "quoted"', label: 0, line: 3 },
      { text: 'plain', label: 1, line: 5 },
    ]);
    expect(ds.name).toBe('a.csv');
    expect(ds.skipped).toBeUndefined();
  });

  it('maps names through labelNames, and reads pairs and CRLF', () => {
    const f = write('p.csv', 'premise,hypothesis,label\r\na,b,entail\r\nc,d,contradict\r\n');
    const labelNames = ['entail', 'neutral', 'contradict'];
    const ds = loadTextFile(f, { textColumn: 'premise', pairColumn: 'hypothesis', labelColumn: 'label', labelNames });
    expect(ds.examples).toEqual([
      { text: 'a', pair: 'b', label: 0, line: 2 },
      { text: 'c', pair: 'd', label: 2, line: 3 },
    ]);
    const bad = write('q.csv', 'premise,hypothesis,label\na,b,entail\nc,d,maybe\n');
    expect(errorOf(() => loadTextFile(bad, { textColumn: 0, labelColumn: 2, labelNames: ['entail', 'contradict'] }))).toBe(
      `${bad}:3: unknown label name "maybe" (known: entail, contradict)`,
    );
  });

  it('reads multi-label names with a custom separator', () => {
    const f = write('m.csv', 'text,tags\nx,b|a\ny,c\nz,a|c|a\n');
    const ds = loadTextFile(f, { textColumn: 'text', labelColumn: 'tags', multiLabel: true, labelSeparator: '|' });
    expect(ds.labelNames).toEqual(['a', 'b', 'c']);
    expect(ds.examples.map((e) => e.labels)).toEqual([[0, 1], [2], [0, 2]]);
    expect(labelCounts(ds)).toEqual([2, 1, 2]);
  });

  it('uses 1-based ids with labelBase', () => {
    const f = write('ag.csv', '"3","t1","d1"\n"1","t2","d2"\n');
    const ds = loadTextFile(f, { header: false, textColumn: 1, pairColumn: 2, labelColumn: 0, labelBase: 1, labelNames: ['W', 'S', 'B', 'T'] });
    expect(ds.examples.map((e) => e.label)).toEqual([2, 0]);
    expect(errorOf(() => loadTextFile(f, { header: false, textColumn: 1, labelColumn: 0, labelNames: ['W', 'S'] }))).toMatch(
      /:1: label id 3 is out of range 0\.\.1 \(check labelNames, or set labelBase: 1 for 1-based ids\)$/,
    );
  });

  it('reports wrong column counts, empty text, bad quoting and non-integer ids by line', () => {
    const f = write('bad.csv', 'text,label\nok,1\n"a,b",0,extra\n"",1\n  ,0\nnum,1.5\nx,"bad"quote,1\nlast,0\n');
    const o = { textColumn: 'text', labelColumn: 'label' } as const;
    expect(errorOf(() => loadTextFile(f, o))).toBe(`${f}:3: has 3 columns, expected 2 (unquoted commas in the text must be quoted)`);
    const ds = loadTextFile(f, { ...o, skipMalformed: true });
    expect(ds.examples.map((e) => [e.text, e.line])).toEqual([
      ['ok', 2],
      ['last', 8],
    ]);
    expect(ds.skipped?.map((s) => s.line)).toEqual([3, 4, 5, 6, 7]);
    expect(ds.skipped?.[1].message).toMatch(/^empty text in column "text"/);
    expect(ds.skipped?.[3].message).toMatch(/^label "1\.5" is not an integer id/);
    expect(ds.skipped?.[2].message).toMatch(/^empty text/);
    expect(ds.skipped?.[4].message).toMatch(/^bad CSV quoting: Invalid Closing Quote/);
    // An unclosed quote swallows the rest of the file: reported as one row spanning those lines, not dropped silently.
    const open = write('open.csv', 'text,label\nok,1\n\nx,"unclosed,1\nmore,0\nend,1\n');
    const od = loadTextFile(open, { ...o, skipMalformed: true });
    expect(od.examples.map((e) => e.line)).toEqual([2]);
    expect(od.skipped).toHaveLength(1);
    expect(od.skipped?.[0].line).toBe(4);
    expect(od.skipped?.[0].message).toMatch(/^bad CSV quoting \(lines 4-6\): /);
    // Without skipping, the quoting error is fatal and names its line.
    const q = write('q.csv', 'text,label\nok,1\nx,"bad"quote\n');
    expect(errorOf(() => loadTextFile(q, o))).toMatch(new RegExp(`^${esc(q)}:3: .*quot`, 'i'));
  });

  it('rejects bad options with UsageError naming the option', () => {
    const f = write('o.csv', 'text,label\na,1\n');
    expect(errorOf(() => loadTextFile(f, { textColumn: 'body', labelColumn: 'label' }), UsageError)).toBe(
      `textColumn "body" is not a column of ${f} (columns: "text", "label")`,
    );
    expect(errorOf(() => loadTextFile(f, { header: false, textColumn: 'text', labelColumn: 1 }), UsageError)).toMatch(/header is false/);
    expect(errorOf(() => loadTextFile(f, { textColumn: 0, labelColumn: 5 }), UsageError)).toMatch(/header has 2 columns but .* use column 5/);
    expect(errorOf(() => loadTextFile(write('x.txt', 'a'), { textColumn: 0, labelColumn: 1 }), UsageError)).toMatch(/pass format/);
  });

  it('throws when the file is missing or has no rows', () => {
    const missing = join(tmp, 'missing.csv');
    expect(errorOf(() => loadTextFile(missing, { textColumn: 0, labelColumn: 1 }))).toMatch(/missing\.csv not found \(expected a CSV file/);
    expect(errorOf(() => loadTextFile(write('e.csv', 'text,label\n'), { textColumn: 0, labelColumn: 1 }))).toMatch(/has no data rows/);
    const allBad = write('b.csv', 'text,label\n,1\n');
    expect(errorOf(() => loadTextFile(allBad, { textColumn: 0, labelColumn: 1, skipMalformed: true }))).toMatch(
      /all 1 rows are malformed, e\.g\. line 2: empty text/,
    );
  });
});

describe('loadTextFile: TSV and JSONL', () => {
  it('reads TSV without quoting', () => {
    const f = write('t.tsv', 'text\tlabel\nhe said "hi\t1\n"quoted, fully"\t0\n');
    const ds = loadTextFile(f, { textColumn: 'text', labelColumn: 'label' });
    expect(ds.examples.map((e) => e.text)).toEqual(['he said "hi', '"quoted, fully"']);
    expect(ds.labelNames).toEqual(['0', '1']);
  });

  it('reads JSONL with dot paths, label arrays and names; reports bad lines', () => {
    const f = write(
      'x.jsonl',
      [
        '{"text":"a","meta":{"tags":["joy","anger"]}}',
        '',
        '{"text":"b","meta":{"tags":"joy"}}',
        '{"text":"c" "meta":1}',
        '{"text":"","meta":{"tags":["joy"]}}',
        '{"text":"d","meta":{"tags":["fear"]}}',
        '[1,2]',
        '{"meta":{"tags":["joy"]}}',
      ].join('\n'),
    );
    const o = { textColumn: 'text', labelColumn: 'meta.tags', multiLabel: true, labelNames: ['anger', 'joy'] };
    expect(errorOf(() => loadTextFile(f, o))).toMatch(new RegExp(`^${esc(f)}:4: bad JSON: .* \\(each line must be one JSON object\\)$`));
    const ds = loadTextFile(f, { ...o, skipMalformed: true });
    expect(ds.examples).toEqual([
      { text: 'a', labels: [0, 1], line: 1 },
      { text: 'b', labels: [1], line: 3 },
    ]);
    expect(ds.skipped?.map((s) => [s.line, s.message.split(' ').slice(0, 2).join(' ')])).toEqual([
      [4, 'bad JSON:'],
      [5, 'empty text'],
      [6, 'unknown label'],
      [7, 'is not'],
      [8, 'key "text"'],
    ]);
    expect(errorOf(() => loadTextFile(f, { textColumn: 0, labelColumn: 'meta.tags' }), UsageError)).toMatch(/JSONL columns are keys/);
  });

  it('multiHot and labelCounts of a single-label set are one-hot and class counts', () => {
    const ds: TextDataset = {
      name: 't',
      source: 'mem',
      multiLabel: false,
      labelNames: ['a', 'b', 'c'],
      examples: [
        { text: 'x', label: 2, line: 1 },
        { text: 'y', label: 0, line: 2 },
        { text: 'z', label: 2, line: 3 },
      ],
    };
    expect(Array.from(multiHot(ds))).toEqual([0, 0, 1, 1, 0, 0, 0, 0, 1]);
    expect(labelCounts(ds)).toEqual([1, 0, 2]);
    ds.examples[1].label = 3;
    expect(errorOf(() => labelCounts(ds), UsageError)).toMatch(/line 2 has label id 3 outside 0\.\.2/);
  });
});

// Opt-in: the real data from $PARRY_DATA_DIR, else ../shared/data next to the repository (packages/datasets/src -> four
// levels up). Never copied into the repository.
const dataRoot = process.env.PARRY_DATA_DIR ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/data');
const sstDir = join(dataRoot, 'sst2');
const goDir = join(dataRoot, 'goemotions');
const agDir = join(dataRoot, 'ag_news');
for (const [dir, what] of [
  [sstDir, 'SST-2'],
  [goDir, 'GoEmotions'],
  [agDir, 'AG News'],
]) {
  if (!existsSync(dir)) console.warn(`text.test.ts: skipping the real ${what} checks: ${dir} not found (set PARRY_DATA_DIR to the data root)`);
}

describe.skipIf(!existsSync(sstDir))(`real SST-2 in ${sstDir} (opt-in)`, () => {
  const counts = { train: 6920, dev: 872, test: 1821 } as const;
  for (const split of ['train', 'dev', 'test'] as const) {
    it(`${split}: ${counts[split]} rows, both layouts, same labels in the same order`, () => {
      const tsv = loadSst2(sstDir, split, { format: 'tsv' });
      const stsa = loadSst2(sstDir, split, { format: 'stsa' });
      expect(tsv.examples).toHaveLength(counts[split]);
      expect(stsa.examples).toHaveLength(counts[split]);
      expect(tsv.examples.map((e) => e.label)).toEqual(stsa.examples.map((e) => e.label));
      expect(tsv.examples.every((e, i) => e.line === i + 1)).toBe(true);
      if (split === 'train') {
        expect(labelCounts(tsv)).toEqual([3310, 3610]);
        expect(labelCounts(stsa)).toEqual([3310, 3610]);
      }
    });
  }
});

describe.skipIf(!existsSync(goDir))(`real GoEmotions in ${goDir} (opt-in)`, () => {
  it('has 43410/5426/5427 rows, 28 labels and the known labels-per-example histogram', () => {
    const train = loadGoEmotions(goDir, 'train');
    expect(train.labelNames).toHaveLength(28);
    expect(train.labelNames[0]).toBe('admiration');
    expect(train.labelNames[27]).toBe('neutral');
    expect(train.examples).toHaveLength(43410);
    expect(loadGoEmotions(goDir, 'dev').examples).toHaveLength(5426);
    expect(loadGoEmotions(goDir, 'test').examples).toHaveLength(5427);
    const hist: Record<number, number> = {};
    for (const e of train.examples) hist[e.labels?.length ?? 0] = (hist[e.labels?.length ?? 0] ?? 0) + 1;
    expect(hist).toEqual({ 1: 36308, 2: 6541, 3: 532, 4: 28, 5: 1 });
    const hot = multiHot(train);
    expect(hot.length).toBe(43410 * 28);
    expect(hot.reduce((a, b) => a + b, 0)).toBe(36308 + 2 * 6541 + 3 * 532 + 4 * 28 + 5);
  });
});

describe.skipIf(!existsSync(agDir))(`real AG News in ${agDir} (opt-in)`, () => {
  it('test.csv loads with the generic CSV loader: 7600 rows, 1900 per class, classes 1-4 mapped to 0-3', () => {
    const labelNames = readFileSync(join(agDir, 'classes.txt'), 'utf8').split('\n').filter((s) => s.trim() !== '');
    expect(labelNames).toEqual(['World', 'Sports', 'Business', 'Sci/Tech']);
    const ds = loadTextFile(join(agDir, 'test.csv'), { header: false, textColumn: 1, pairColumn: 2, labelColumn: 0, labelBase: 1, labelNames });
    expect(ds.examples).toHaveLength(7600);
    expect(labelCounts(ds)).toEqual([1900, 1900, 1900, 1900]);
    expect(ds.examples[0]).toMatchObject({ text: 'Fears for T N pension after talks', label: 2, line: 1 });
    const head = loadTextFile(join(agDir, 'train_head581.csv'), { header: false, textColumn: 1, labelColumn: 0, labelBase: 1, labelNames });
    expect(labelCounts(head)).toEqual([163, 132, 137, 149]);
    expect(head.examples[0].text).toBe('Wall St. Bears Claw Back Into the Black (Reuters)');
  });
});

describe('issue 14: hostile text data', () => {
  const csvOpts = { textColumn: 'text', labelColumn: 'label' } as const;
  it('a CSV label 100000000 is refused with file:line before any label table is built', () => {
    const p = write('big.csv', 'text,label\ngood,0\nbad,100000000\n');
    const msg = errorOf(() => loadTextFile(p, csvOpts));
    expect(msg).toMatch(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: label id 100000000 .*100000`));
  });
  it('a CSV label 99999999999999999999 (not a safe integer) is refused with file:line', () => {
    const p = write('huge.csv', 'text,label\ngood,0\nbad,99999999999999999999\n');
    expect(errorOf(() => loadTextFile(p, csvOpts))).toMatch(/huge\.csv:3: label id 99999999999999999999 /);
  });
  it('a label name list over the label limit is refused', () => {
    const names = Array.from({ length: 100_001 }, (_, i) => `l${i}`);
    expect(errorOf(() => loadTextFile(write('a.csv', 'text,label\na,l0\n'), { ...csvOpts, labelNames: names }), UsageError)).toMatch(/100001 label names, over the limit of 100000/);
  });
  it('dev labels negative/positive against train labels neg/pos are refused by name with file:line listing the known ones', () => {
    const train = loadTextFile(write('train.csv', 'text,label\nbad,neg\ngood,pos\n'), csvOpts);
    expect(train.labelMap).toBe('name');
    const dev = write('dev.csv', 'text,label\nfine,positive\nawful,negative\n');
    const msg = errorOf(() => loadTextFile(dev, { ...csvOpts, labelNames: train.labelNames, labelMap: train.labelMap, labelsFrom: 'train.csv' }));
    expect(msg).toMatch(/dev\.csv:2: label "positive" is not a label of train\.csv \(known: neg, pos\)/);
  });
  it('dev integer labels beyond the train range are refused with file:line', () => {
    const train = loadTextFile(write('train.csv', 'text,label\nbad,0\ngood,1\n'), csvOpts);
    expect(train.labelMap).toBe('index');
    const dev = write('dev.csv', 'text,label\nfine,1\nmeh,2\n');
    expect(errorOf(() => loadTextFile(dev, { ...csvOpts, labelNames: train.labelNames, labelMap: train.labelMap, labelsFrom: 'train.csv' }))).toMatch(
      /dev\.csv:3: label id 2 is out of range 0\.\.1 \(the labels of train\.csv/,
    );
  });
  for (const [name, content] of [
    ['bad.csv', Buffer.concat([Buffer.from('text,label\ngood,0\n'), Buffer.from([0x62, 0xff, 0x64]), Buffer.from(',1\n')])],
    ['bad.tsv', Buffer.concat([Buffer.from('text\tlabel\ngood\t0\nok\t1\n'), Buffer.from([0x62, 0xc3, 0x28]), Buffer.from('\t1\n')])],
    ['bad.jsonl', Buffer.concat([Buffer.from('{"text":"a","label":0}\n{"text":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('","label":0}\n')])],
  ] as const) {
    it(`invalid UTF-8 in ${name} is refused with file:line instead of being replaced with U+FFFD`, () => {
      const line = name === 'bad.tsv' ? 4 : name === 'bad.csv' ? 3 : 2;
      const dir = join(tmp, `u${fileNo++}`);
      mkdirSync(dir);
      const p = join(dir, name);
      writeFileSync(p, content);
      expect(errorOf(() => loadTextFile(p, csvOpts))).toMatch(new RegExp(`${name.replace('.', '\\.')}:${line}: invalid UTF-8 .*re-save the file as UTF-8`));
    });
  }
  it('invalid UTF-8 in an SST-2 stsa file and in GoEmotions labels.txt is refused with file:line', () => {
    const sst = join(tmp, `sst-bad${fileNo++}`);
    mkdirSync(sst);
    writeFileSync(join(sst, 'stsa.binary.train'), Buffer.concat([Buffer.from('1 good\n0 '), Buffer.from([0xc0, 0xaf]), Buffer.from('\n')]));
    expect(errorOf(() => loadSst2(sst, 'train'))).toMatch(/stsa\.binary\.train:2: invalid UTF-8/);
    const go = join(tmp, `go-bad${fileNo++}`);
    mkdirSync(go);
    writeFileSync(join(go, 'labels.txt'), Buffer.concat([Buffer.from('joy\n'), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]), Buffer.from('\n')]));
    writeFileSync(join(go, 'train.tsv'), 'a\t0\tx\n');
    expect(errorOf(() => loadGoEmotions(go, 'train'))).toMatch(/labels\.txt:2: invalid UTF-8/);
  });
  it('a CSV quote after unquoted text (csv-parse INVALID_OPENING_QUOTE, found by the fuzzer) is a file:line quoting error, not a crash', () => {
    const p = write('q.csv', 'text,label\nfine,0\n100000000",1\n');
    expect(errorOf(() => loadTextFile(p, csvOpts))).toMatch(/q\.csv:3: bad CSV quoting/);
  });
  it('multi-hot targets of 3,000 examples x 100,000 labels (1.2 GB) are refused before allocation', () => {
    const ds: TextDataset = {
      name: 'wide',
      source: 'wide.csv',
      multiLabel: true,
      labelNames: Array.from({ length: 100_000 }, (_, i) => String(i)),
      examples: Array.from({ length: 3000 }, (_, i) => ({ text: 'x', labels: [99_999], line: i + 2 })),
    };
    expect(errorOf(() => multiHot(ds))).toMatch(/wide\.csv: 3000 examples x 100000 labels is too large for multi-hot targets .*fewer labels or fewer examples/);
  });
  it('a 600 MB text file is refused before it is read (no JS string can hold it)', () => {
    const dir = join(tmp, `big${fileNo++}`);
    mkdirSync(dir);
    const p = join(dir, 'huge.csv');
    writeFileSync(p, '');
    truncateSync(p, 600 * 1024 ** 2); // sparse: no disk used
    expect(errorOf(() => loadTextFile(p, csvOpts))).toMatch(/huge\.csv is 600 MiB, over the 512 MiB limit for data files/);
  });
  it('a text data path that is a directory or a device is refused in one line', () => {
    const d = join(tmp, `dir${fileNo++}.csv`);
    mkdirSync(d);
    expect(errorOf(() => loadTextFile(d, csvOpts))).toMatch(/is a directory/);
    if (existsSync('/dev/null')) expect(errorOf(() => loadTextFile('/dev/null', { ...csvOpts, format: 'csv' }))).toMatch(/not a regular file/);
  });
});
