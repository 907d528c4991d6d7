/**
 * Property-based fuzzers for the CSV / TSV / JSONL loader (issue 14).
 * 1. Round trip: random texts (quotes, delimiters, embedded newlines, any Unicode) and labels, written correctly with
 *    an optional BOM, load back exactly, with the right source lines.
 * 2. Hostile files: random concatenations of quoting, delimiters, newlines, BOMs, invalid UTF-8, huge / negative / float
 *    labels and missing columns, under random options. The loader either returns a dataset whose labels and lines are
 *    consistent with the file, or throws an `InputError`/`UsageError` naming the file (with `file:line` for row
 *    problems); never another error, never a hang, never a stack overflow.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError, UsageError } from '@parry/core';
import { loadTextFile, MAX_TEXT_LABELS, type TextFileOptions } from './text.js';

const tmp = mkdtempSync(join(tmpdir(), 'parry-text-fuzz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let fileNo = 0;
function put(ext: string, content: string | Uint8Array): string {
  const p = join(tmp, `f${fileNo++ % 64}.${ext}`);
  writeFileSync(p, content);
  return p;
}

/** Text with at least one visible character; any Unicode plus the characters that break naive parsers. */
const cellText = fc
  .array(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 6 }), fc.constantFrom('"', ',', '""', "'", ' ', '\n', '\\', '{', '}', '\u202e', '\u0000', '\ufeff')), { maxLength: 8 })
  .map((parts) => `x${parts.join('')}`)
  .filter((s) => !s.includes('\r'));

const csvCell = (s: string): string => (/[",\n\r]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s);

describe('text loader fuzzers (issue 14)', () => {
  it('round trip: 1,000 random CSV/TSV/JSONL files with quoting, embedded newlines, BOMs and Unicode load back exactly', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('csv', 'tsv', 'jsonl'),
        fc.array(fc.record({ text: cellText, label: fc.integer({ min: 0, max: 5 }) }), { minLength: 1, maxLength: 12 }),
        fc.boolean(),
        fc.boolean(),
        (format, rows, bom, names) => {
          const NAMES = ['ant', 'bee', 'cat', 'dog', 'emu', 'fox'];
          const lab = (l: number): string => (names ? NAMES[l] : String(l));
          let body: string;
          const lines: number[] = [];
          if (format === 'jsonl') {
            body = rows.map((r, i) => (lines.push(i + 1), JSON.stringify({ text: r.text, label: names ? lab(r.label) : r.label }))).join('\n');
          } else if (format === 'tsv') {
            // TSV has no quoting: texts keep any character but tab and newline.
            rows = rows.map((r) => ({ ...r, text: r.text.replace(/[\t\n]/g, ' ') }));
            body = ['text\tlabel', ...rows.map((r, i) => (lines.push(i + 2), `${r.text}\t${lab(r.label)}`))].join('\n');
          } else {
            let line = 2;
            body = ['text,label', ...rows.map((r) => {
              lines.push(line);
              line += (r.text.match(/\n/g) ?? []).length + 1;
              return `${csvCell(r.text)},${lab(r.label)}`;
            })].join('\n');
          }
          const file = put(format, `${bom ? '\ufeff' : ''}${body}\n`);
          const ds = loadTextFile(file, { textColumn: 'text', labelColumn: 'label' });
          expect(ds.examples.map((e) => e.text)).toEqual(rows.map((r) => r.text));
          expect(ds.examples.map((e) => e.line)).toEqual(lines);
          expect(ds.examples.map((e) => ds.labelNames[e.label!])).toEqual(rows.map((r) => lab(r.label)));
        },
      ),
      { numRuns: 1000, seed: 14 },
    );
  }, 60_000);

  const piece = fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: 'grapheme', maxLength: 5 }) },
    { weight: 6, arbitrary: fc.constantFrom('"', ',', '\t', '\n', '\r\n', '\r', '\ufeff', ' ', '""', 'text', 'label', '{', '}', '[', ']', ':', '"text":', '"label":', '0', '1', '2') },
    { weight: 3, arbitrary: fc.constantFrom('100000000', '99999999999999999999', '-1', '-0', '+3', '1.5', '1e300', 'NaN', 'Infinity', '0x10', '00007', '9007199254740993', '') },
    { weight: 2, arbitrary: fc.constantFrom(Uint8Array.of(0xff), Uint8Array.of(0xc3), Uint8Array.of(0xed, 0xa0, 0x80), Uint8Array.of(0xf4, 0x90, 0x80, 0x80), Uint8Array.of(0xe2, 0x82)) },
  );
  const bytesOf = (p: string | Uint8Array): Buffer => Buffer.from(p);
  /** A well-formed body (rows `text<d>label`, with JSONL lines too) with 0-3 hostile pieces spliced in at random offsets. */
  const mutated = (format: string) => fc
    .record({
      rows: fc.array(fc.tuple(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 8 }),
      edits: fc.array(fc.tuple(fc.nat(), piece), { maxLength: 3 }),
    })
    .map(({ rows, edits }) => {
      const delim = format === 'csv' ? ',' : format === 'tsv' ? '\t' : 'json';
      const safe = (t: string): string => `w${t.replace(/[",\t\r\n\\]/g, '_')}`;
      const body = rows.map(([t, l]) => (delim === 'json' ? JSON.stringify({ text: safe(t), label: l }) : `${safe(t)}${delim}${l}`)).join('\n');
      let out = Buffer.from(`${body}\n`);
      for (const [at, p] of edits) {
        const i = at % (out.length + 1);
        out = Buffer.concat([out.subarray(0, i), bytesOf(p), out.subarray(i)]);
      }
      return out;
    });
  const formatAndFile = fc
    .constantFrom('csv', 'tsv', 'jsonl')
    .chain((format) => fc.tuple(fc.constant(format), fc.oneof(fc.array(piece, { maxLength: 60 }).map((parts) => Buffer.concat(parts.map(bytesOf))), mutated(format))));
  const options: fc.Arbitrary<TextFileOptions> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        header: fc.boolean(),
        textColumn: fc.constantFrom<string | number>('text', 0, 2),
        labelColumn: fc.constantFrom<string | number>('label', 1),
        multiLabel: fc.boolean(),
        skipMalformed: fc.boolean(),
        labelNames: fc.option(fc.constantFrom<string[]>(['a', 'b'], ['0', '1', '2'], ['x']), { nil: undefined }),
        labelMap: fc.option(fc.constantFrom<'index' | 'name'>('index', 'name'), { nil: undefined }),
      }),
    },
    { weight: 7, arbitrary: fc.record({ textColumn: fc.constant('text'), labelColumn: fc.constant('label'), skipMalformed: fc.boolean() }) },
  );
  let runs = 0;
  let loaded = 0;
  it('hostile files: 3,000 random CSV/TSV/JSONL files and options load consistently or throw InputError/UsageError naming the file', () => {
    fc.assert(
      fc.property(formatAndFile, options, fc.boolean(), ([format, bytes], o, withHeader) => {
        runs++;
        const content = (withHeader || o.header !== false) && format !== 'jsonl' ? Buffer.concat([Buffer.from(format === 'csv' ? 'text,label\n' : 'text\tlabel\n'), bytes]) : bytes;
        const file = put(format, content);
        // Lines as an editor counts them (csv-parse, like VS Code, also breaks lines at a lone \r).
        const nLines = content.toString('latin1').split(/\r\n|\r|\n/).length;
        let ds;
        try {
          ds = loadTextFile(file, o);
        } catch (e) {
          if (!(e instanceof InputError) && !(e instanceof UsageError)) throw e;
          const msg = (e as Error).message;
          expect(msg).not.toContain('\n');
          expect(msg).toContain(file);
          const line = new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+):`).exec(msg);
          if (line) expect(Number(line[1])).toBeLessThanOrEqual(nLines);
          return;
        }
        loaded++;
        expect(ds.labelNames.length).toBeGreaterThan(0);
        expect(ds.labelNames.length).toBeLessThanOrEqual(MAX_TEXT_LABELS);
        expect(ds.examples.length).toBeGreaterThan(0);
        for (const ex of ds.examples) {
          expect(ex.text.trim()).not.toBe('');
          expect(ex.text).not.toContain('\ufffd');
          expect(ex.line).toBeGreaterThanOrEqual(1);
          expect(ex.line).toBeLessThanOrEqual(nLines);
          const ids = o.multiLabel ? ex.labels! : [ex.label!];
          expect(ids.length).toBeGreaterThan(0);
          for (const id of ids) {
            expect(Number.isInteger(id)).toBe(true);
            expect(id).toBeGreaterThanOrEqual(0);
            expect(id).toBeLessThan(ds.labelNames.length);
          }
        }
      }),
      { numRuns: 3000, seed: 14 },
    );
    // Both paths are exercised: some hostile files still load (and are checked), most are refused.
    expect(runs).toBe(3000);
    expect(loaded).toBeGreaterThan(100);
  }, 60_000);
});
