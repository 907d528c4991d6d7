import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { extractMessageText, loadSpamAssassin, readCache, spamDedupKey, type SpamAssassinCorpus, tidyText } from './spam.js';

/** Counts stated in packages/datasets/README.md (seed 0, 70/15/15); change both together. */
const STATED = {
  messages: 6046,
  groups: { 'easy-ham-1': 2500, 'easy-ham-2': 1400, 'hard-ham-1': 250, 'spam-1': 500, 'spam-2': 1396 },
  malformed: ['spam-1/00467', 'spam-2/00204', 'spam-2/01214'],
  duplicatesRemoved: 136,
  counts: { train: { ham: 2877, spam: 1258 }, dev: { ham: 616, spam: 270 }, test: { ham: 616, spam: 270 } },
};

const tmp = (tag: string) => fs.mkdtempSync(path.join(os.tmpdir(), `parry-spam-${tag}-`));

describe('loadSpamAssassin on the whole corpus (one parse, cached in a temporary folder)', () => {
  const cacheDir = tmp('cache');
  const warnings: string[] = [];
  let c: SpamAssassinCorpus;
  let parseMs = 0;
  beforeAll(async () => {
    const t0 = performance.now();
    c = await loadSpamAssassin({ cacheDir, warn: (l) => warnings.push(l) });
    parseMs = performance.now() - t0;
  });

  it('has the counts per class and split stated in the docs', () => {
    console.log(`SpamAssassin: parsed ${c.metadata.messages} messages in ${(parseMs / 1000).toFixed(1)} s`);
    expect(c.metadata.fromCache).toBe(false);
    expect(c.metadata.messages).toBe(STATED.messages);
    expect(c.metadata.groups).toEqual(STATED.groups);
    expect(c.metadata.counts).toEqual(STATED.counts);
    for (const s of ['train', 'dev', 'test'] as const) {
      const ds = c[s];
      expect({ ham: ds.examples.filter((e) => e.label === 0).length, spam: ds.examples.filter((e) => e.label === 1).length }).toEqual(STATED.counts[s]);
      expect(ds.ids).toHaveLength(ds.examples.length);
      expect(ds.labelNames).toEqual(['ham', 'spam']);
      expect(ds.split).toBe(s);
    }
    const kept = c.train.examples.length + c.dev.examples.length + c.test.examples.length;
    expect(kept + c.metadata.malformed.count + c.metadata.duplicates.removed.length + c.metadata.duplicates.conflicting.length).toBe(STATED.messages);
    expect(c.metadata.duplicates.removed).toHaveLength(STATED.duplicatesRemoved);
    expect(c.metadata.licence).toMatch(/PDDL 1\.0.*CC0 1\.0/);
  });

  it('reports malformed messages by id, in the metadata and in one warning line', () => {
    expect(c.metadata.malformed.count).toBe(STATED.malformed.length);
    expect(c.metadata.malformed.messages.map((m) => m.id)).toEqual(STATED.malformed);
    for (const m of c.metadata.malformed.messages) expect(m.reason).toMatch(/no readable body/);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toBe(`SpamAssassin: 3 malformed messages left out (${STATED.malformed.join(', ')}); reasons in the dataset's metadata.malformed`);
    const all = [...c.train.ids, ...c.dev.ids, ...c.test.ids];
    for (const id of STATED.malformed) expect(all).not.toContain(id);
  });

  it('labels follow the package groups; no message, and no duplicate text, is in two places', () => {
    const all = [...c.train.ids, ...c.dev.ids, ...c.test.ids];
    expect(new Set(all).size).toBe(all.length);
    const examples = [...c.train.examples, ...c.dev.examples, ...c.test.examples];
    examples.forEach((e, i) => expect(e.label).toBe(all[i].startsWith('spam-') ? 1 : 0));
    const keys = examples.map((e) => spamDedupKey(e.text));
    expect(new Set(keys).size).toBe(keys.length);
    for (const id of c.metadata.duplicates.removed) expect(all).not.toContain(id);
  });

  it('keeps subject + body text without headers or HTML', () => {
    const examples = [...c.train.examples, ...c.dev.examples, ...c.test.examples];
    const headerLike = examples.filter((e) => /^(Return-Path|Received|Delivered-To|Message-Id|Content-Type):/im.test(e.text.split('\n\n')[0]));
    expect(headerLike.length).toBeLessThan(10); // quoted headers inside forwarded mail may remain; the message's own never lead
    const tagged = examples.filter((e) => /<\/?(html|body|table|td|font|div)\b[^>]*>/i.test(e.text));
    expect(tagged.length / examples.length).toBeLessThan(0.01); // html-to-text ran on every HTML-only body
    const all = [...c.train.ids, ...c.dev.ids, ...c.test.ids];
    // spam-1/00001 is HTML-only (web.de mailbot); ids are stable package facts
    const i = all.indexOf('spam-1/00001');
    expect(i).toBeGreaterThanOrEqual(0);
    const text = examples[i].text;
    expect(text).not.toMatch(/<[a-z]/i);
    expect(text).not.toMatch(/^From |^Received:/m);
    expect(c.metadata.subjectOnly.length).toBeGreaterThan(0);
  });

  it('a second process reads the cache: same splits, same texts', async () => {
    const other = tmp('copy');
    fs.copyFileSync(c.metadata.cacheFile!, path.join(other, path.basename(c.metadata.cacheFile!)));
    const t0 = performance.now();
    const again = await loadSpamAssassin({ cacheDir: other, warn: () => {} });
    console.log(`SpamAssassin from the cache: ${(performance.now() - t0).toFixed(0)} ms`);
    expect(again.metadata.fromCache).toBe(true);
    expect(again.test.ids).toEqual(c.test.ids);
    expect(again.train.examples.map((e) => e.text)).toEqual(c.train.examples.map((e) => e.text));
    expect(fs.readdirSync(other)).toEqual([path.basename(c.metadata.cacheFile!)]);
    expect(fs.readdirSync(cacheDir)).toEqual([path.basename(c.metadata.cacheFile!)]); // atomic write: no stray temporary file
  });

  it('the split is stratified and seeded: same seed same split, another seed another split with the same counts', async () => {
    const same = await loadSpamAssassin({ cacheDir, seed: 0 });
    expect(same.test.ids).toEqual(c.test.ids);
    const other = await loadSpamAssassin({ cacheDir, seed: 7 });
    expect(other.metadata.counts).toEqual(c.metadata.counts);
    expect(other.test.ids).not.toEqual(c.test.ids);
    const custom = await loadSpamAssassin({ cacheDir, devFraction: 0.1, testFraction: 0.2 });
    const n = (s: { ham: number; spam: number }) => s.ham + s.spam;
    expect(n(custom.metadata.counts.test) / (n(custom.metadata.counts.train) + n(custom.metadata.counts.dev) + n(custom.metadata.counts.test))).toBeCloseTo(0.2, 2);
    expect(custom.metadata.counts.test.spam / custom.metadata.counts.test.ham).toBeCloseTo(1798 / 4109, 2);
  });

  it('a cache that is truncated, of another version or inconsistent is not used', () => {
    const file = c.metadata.cacheFile!;
    const good = JSON.parse(fs.readFileSync(file, 'utf8'));
    const dir = tmp('bad');
    const write = (v: unknown) => {
      const f = path.join(dir, 'c.json');
      fs.writeFileSync(f, typeof v === 'string' ? v : JSON.stringify(v));
      return f;
    };
    expect(readCache(write(good), good.version, good.extractor)).toBeDefined();
    expect(readCache(write(fs.readFileSync(file, 'utf8').slice(0, 5000)), good.version, good.extractor)).toBeUndefined();
    expect(readCache(write(good), '9.9.9', good.extractor)).toBeUndefined();
    expect(readCache(write(good), good.version, 'postal-mime@0+other')).toBeUndefined();
    expect(readCache(write({ ...good, parsed: good.parsed.slice(1) }), good.version, good.extractor)).toBeUndefined();
    expect(readCache(path.join(dir, 'absent.json'), good.version, good.extractor)).toBeUndefined();
  });

  it('refuses bad split options with one line', async () => {
    await expect(loadSpamAssassin({ cacheDir, testFraction: 1.5 })).rejects.toThrow(/testFraction must be in \(0, 1\), got 1\.5/);
    await expect(loadSpamAssassin({ cacheDir, devFraction: 0.5, testFraction: 0.5 })).rejects.toThrow(/must be below 1/);
    await expect(loadSpamAssassin({ cacheDir, seed: 0.5 })).rejects.toThrow(/seed must be an integer/);
  });
});

describe('extractMessageText', () => {
  const head = 'From a@b.c  Thu Aug 22 13:17:22 2002\nReturn-Path: <a@b.c>\nReceived: from x by y\nFrom: a@b.c\nTo: d@e.f\n';

  it('keeps the decoded subject and the plain body, not the headers', async () => {
    const r = await extractMessageText(`${head}Subject: =?utf-8?B?${Buffer.from('Café offer').toString('base64')}?=\nContent-Type: text/plain; charset=utf-8\n\nHello   there,\n\n\n\nbye\n`);
    expect(r).toEqual({ text: 'Café offer\n\nHello there,\n\nbye', subjectOnly: false });
  });

  it('turns an HTML-only body into text: tags, link addresses and images go, link words stay', async () => {
    const html = '<html><body><table><tr><td><font size=3>Buy <b>now</b></font></td></tr></table><p>Click <a href="http://spam.example/x">here</a><img src="http://spam.example/i.gif" alt="pic"></p></body></html>';
    const r = await extractMessageText(`${head}Subject: Deal\nContent-Type: text/html\n\n${html}\n`);
    expect('text' in r).toBe(true);
    const text = (r as { text: string }).text;
    expect(text.startsWith('Deal\n\n')).toBe(true);
    expect(text).toMatch(/Buy now/);
    expect(text).toMatch(/Click here/);
    expect(text).not.toMatch(/[<>]|spam\.example|pic/);
  });

  it('a text/plain body that opens with HTML (common in spam) is turned into text as well; HTML quoted mid-text is kept', async () => {
    const r = await extractMessageText(`${head}Subject: Win\nContent-Type: text/plain\n\n<!-- saved -->\n<HTML><BODY><FONT SIZE=2>You <B>won</B></FONT></BODY></HTML>\n`);
    expect(r).toEqual({ text: 'Win\n\nYou won', subjectOnly: false });
    const quoted = await extractMessageText(`${head}Subject: css\nContent-Type: text/plain\n\ntry this: <div class="x">hi</div>\n`);
    expect(quoted).toEqual({ text: 'css\n\ntry this: <div class="x">hi</div>', subjectOnly: false });
  });

  it('prefers the text/plain part of multipart/alternative and decodes quoted-printable', async () => {
    const msg = `${head}Subject: Hi\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="b1"\n\n--b1\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nna=EFve caf=E9\n--b1\nContent-Type: text/html\n\n<p>html version</p>\n--b1--\n`;
    expect(await extractMessageText(msg)).toEqual({ text: 'Hi\n\nnaïve café', subjectOnly: false });
  });

  it('a body that renders to no text keeps the subject alone; no readable part or no text at all is malformed', async () => {
    expect(await extractMessageText(`${head}Subject: Look\nContent-Type: text/html\n\n<html><img src="x.gif"></html>\n`)).toEqual({ text: 'Look', subjectOnly: true });
    const noPart = await extractMessageText(`${head}Subject: Pic\nContent-Type: image/gif\nContent-Transfer-Encoding: base64\n\nR0lGODlhAQABAAAAACw=\n`);
    expect(noPart).toEqual({ malformed: 'no readable body: no text/plain or text/html part (parts: image/gif)' });
    expect(await extractMessageText(`${head}Content-Type: text/plain\n\n \n`)).toEqual({ malformed: 'no text: empty subject and body' });
  });

  it('tidyText collapses blanks and blank lines', () => {
    expect(tidyText(' a \t b \r\n\r\n\r\n\n c\u00a0d ')).toBe('a b\n\nc d');
  });
});
