import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError, UsageError } from '@parry/core';
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { renderReport } from './render.js';
import { evalResults, HOSTILE, textResults, trainResults, v1TextFile } from './testing/fixtures.js';
import { htmlTables, markdownTables, numbers, unescapeHtml } from './testing/parse.js';
import { writeReport } from './write-report.js';

const opts = { generatedAt: '2026-11-22T00:00:00.000Z' };

/** Things that would run code if escaping failed: script elements, event-handler attributes, javascript: URLs. */
function expectInert(html: string): void {
  expect(html).not.toMatch(/<script/i);
  expect(html).not.toMatch(/<img(?![^>]*src="data:image\/png;base64,)/i); // every <img> is one of ours
  for (const tag of html.match(/<[a-z][^>]*>/gi) ?? []) {
    // attribute names only (values are quoted and escaped): none may be an event handler
    expect(tag.replace(/="[^"]*"/g, '=""'), tag.slice(0, 80)).not.toMatch(/\son[a-z]+\s*=/i);
  }
  expect(html).not.toMatch(/href\s*=\s*["']?javascript:/i);
}

describe('renderReport', () => {
  it('escapes hostile strings from every data field in the HTML and the Markdown', async () => {
    const r = evalResults({ modelName: HOSTILE.script, datasetName: HOSTILE.attr, attackName: HOSTILE.img, labelNames: [HOSTILE.script, HOSTILE.attr, HOSTILE.single] });
    const { html, markdown } = await renderReport([{ file: `${HOSTILE.attr}.json`, results: r }, { file: 'text.json', results: textResults() }, { file: 't.json', results: trainResults() }], { ...opts, title: HOSTILE.script });
    expectInert(html);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&quot; onerror=&quot;alert(1)');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&#39; onmouseover=&#39;alert(1)');
    expect(markdown).not.toMatch(/<script|<img/i);
    expect(markdown).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    // the strings come back intact once unescaped: escaping shows them as text, it does not drop them
    const cells = htmlTables(html).flatMap((t) => t.rows.flat());
    expect(cells).toContain(HOSTILE.script); // label name in the image table
    expect(cells.some((c) => c.includes(HOSTILE.img))).toBe(true); // attack name and cpu model
  });

  it('shows the same tables and numbers in the HTML and the Markdown', async () => {
    const { html, markdown } = await renderReport(
      [
        { file: 'plain.json', results: evalResults({ modelName: 'plain', modelPath: 'runs/plain' }) },
        { file: 'plain-train.json', results: trainResults({ modelName: 'plain', modelPath: 'runs/plain' }) },
        { file: 'at.json', results: evalResults({ modelName: 'adv-trained', modelPath: 'runs/at', clean: 0.9, robust: [0.8, 0.7] }) },
        { file: 'text.json', results: textResults() },
      ],
      opts,
    );
    const h = htmlTables(html);
    const m = markdownTables(markdown);
    expect(h.length).toBeGreaterThanOrEqual(8);
    const text = h.find((t) => t.caption === 'Text attacks (TextAttack summary)');
    expect(text?.rows).toHaveLength(1);
    expect(text!.columns.slice(-12)).toEqual(['attack', 'goal', 'successful / failed / skipped', 'original acc', 'acc under attack', 'success rate', 'perturbed words', 'words / input', 'avg queries', 'query budget', 'micro-F1 before → after', 'seconds']);
    expect(text!.rows[0].slice(-11)).toEqual(['flip-any-gold', '2 / 1 / 1', '75.00%', '25.00%', '66.67%', '12.5%', '4.0', '10.0', 'none', '0.800 → 0.400', '0.0']);
    // the image attack table holds image attacks only
    expect(h.find((t) => t.caption.startsWith('Every image attack'))!.rows.every((r) => !r.includes(`text/swap ${HOSTILE.single}`))).toBe(true);
    expect(m.map((t) => t.caption)).toEqual(h.map((t) => t.caption));
    for (let i = 0; i < h.length; i++) {
      expect(m[i].columns, h[i].caption).toEqual(h[i].columns);
      expect(m[i].rows, h[i].caption).toEqual(h[i].rows);
      expect(numbers(m[i].rows.flat())).toEqual(numbers(h[i].rows.flat()));
    }
    // headline cards and bullets: same numbers
    const cards = [...html.matchAll(/data-metric="(clean|robust)">([^<]*)</g)].map((x) => unescapeHtml(x[2]));
    const bullets = markdown.split('\n').filter((l) => l.startsWith('- **')).flatMap((l) => [...l.matchAll(/(\d+\.\d\d)%/g)].map((x) => `${x[1]}%`));
    expect(cards).toEqual(bullets);
    expect(cards).toEqual(['95.00%', '20.00%', '90.00%', '70.00%', '75.00%', '25.00%']);
  });

  it('puts the strongest attack per epsilon in the headline, runs side by side', async () => {
    const { html } = await renderReport(
      [
        { file: 'a.json', results: evalResults({ modelName: 'plain', modelPath: 'runs/plain' }) },
        { file: 'b.json', results: evalResults({ modelName: 'adv-trained', modelPath: 'runs/at', clean: 0.9, robust: [0.8, 0.7] }) },
      ],
      opts,
    );
    const headline = htmlTables(html).find((t) => t.caption.startsWith('Clean vs robust'))!;
    expect(headline.rows).toEqual([
      ['plain (runs/plain)', '0.1', '95.00%', '60.00%', 'parry/pgd', '36.84%'],
      ['plain (runs/plain)', '0.3', '95.00%', '20.00%', 'parry/pgd', '78.95%'],
      ['adv-trained (runs/at)', '0.1', '90.00%', '80.00%', 'parry/pgd', '11.11%'],
      ['adv-trained (runs/at)', '0.3', '90.00%', '70.00%', 'parry/pgd', '22.22%'],
    ]);
  });

  it('renders every chart to a non-empty inline SVG with the data in it', async () => {
    const { html, charts } = await renderReport([evalResults({ modelPath: 'm' }), trainResults({ modelPath: 'm', robust: true })], opts);
    expect(charts.map((c) => c.id)).toEqual(['chart-robustness', 'chart-size-linf', 'chart-size-l2', 'chart-training-accuracy', 'chart-training-loss']);
    for (const c of charts) {
      const fig = html.match(new RegExp(`<figure class="chart" id="${c.id}">.*?</figure>`, 's'))?.[0];
      expect(fig, c.id).toBeDefined();
      expect(fig).toMatch(/<svg [^>]*width="\d+"/);
      expect(fig!.match(/<path /g)?.length ?? 0).toBeGreaterThan(3);
    }
    expect(html).toContain('robust acc'); // training legend includes the robust-accuracy series
    expect(html).toContain('parry/pgd (linf)');
  });

  it('draws image examples as PNGs: original, adversarial and the amplified perturbation', async () => {
    const { html } = await renderReport([evalResults()], opts);
    const srcs = [...html.matchAll(/<img src="data:image\/png;base64,([^"]+)"/g)].map((m) => m[1]);
    expect(srcs).toHaveLength(2 * 3 * (1 + 2 * 2)); // 2 attacks x 3 examples x (original + 2 eps x 2)
    for (const s of srcs) {
      const png = decode(Buffer.from(s, 'base64'));
      expect([png.width, png.height, png.channels]).toEqual([8, 8, 1]);
    }
    const grey = decode(Buffer.from(srcs[2], 'base64')); // example 0 perturbation at eps 0.1: 127.5 + 5 * (+-20, or -10 where clipped at 0)
    expect([...new Set(grey.data)].sort()).toEqual([228, 28, 78].sort());
    expect(html).toMatch(/class="fooled"/);
    expect(html).toMatch(/class="wrong"/); // example 2 was misclassified before the attack
  });

  it('highlights changed words in text examples and fills per-label tables', async () => {
    const { html, markdown } = await renderReport([textResults()], opts);
    expect(html).toContain('<del>film</del>');
    expect(html).toContain('<ins>movie</ins>');
    expect(html).toContain('wondr<ins>e</ins>ful'); // character-level edit
    expect(markdown).toContain('~~film~~');
    expect(markdown).toContain('**movie**');
    const tables = htmlTables(html);
    expect(tables.find((t) => t.caption.startsWith('Clean metrics per label'))!.rows[0]).toEqual(['joy', '3', '75.00%', '50.00%', '100.00%', '66.67%']);
    expect(tables.find((t) => t.caption.startsWith('Flip rate per label'))!.rows).toEqual([
      [HOSTILE.img, '12.50%'],
      ['joy', '25.00%'],
    ]);
    expect(tables.find((t) => t.caption.startsWith('Notes on the text attacks'))!.rows).toEqual([[`text/swap ${HOSTILE.single}`, `stand-in ${HOSTILE.md}`]]);
    // every kept example is shown with its status; a failed attack leaves the text unmarked
    expect(html).toContain('<b>negative</b> (successful)');
    expect(html).toMatch(/<li class="held"><div class="label">#3 · label <b>joy<\/b>: <b>joy<\/b> → <b>joy<\/b> \(failed\)<\/div><div class="orig">so happy<\/div>/);
    expect(markdown).toContain('- #3 · label **joy**: **joy** → **joy** (failed)');
    // a text run: no epsilon, no robustness chart, no image grid; the headline says "accuracy under attack"
    expect(html).not.toContain('id="robustness"');
    expect(html).not.toContain('<img');
    expect(html).toMatch(/data-metric="robust">25\.00%<\/span> accuracy under attack \(text\/swap/);
    expect(tables.find((t) => t.caption.startsWith('Clean vs robust'))!.rows).toEqual([['words', '75.00%', '25.00%', `text/swap ${HOSTILE.single}`, '66.67%']]);
  });

  it('renders image and text runs side by side, each from its own kind of entry', async () => {
    const { html } = await renderReport([{ file: 'img.json', results: evalResults({ modelPath: 'runs/img' }) }, { file: 'text.json', results: textResults() }], opts);
    const tables = htmlTables(html);
    const headline = tables.find((t) => t.caption.startsWith('Clean vs robust'))!;
    expect(headline.rows.map((r) => r[1])).toEqual(['0.1', '0.3', 'words']);
    expect(tables.find((t) => t.caption.startsWith('Every image attack'))!.rows).toHaveLength(4); // 2 image attacks x 2 eps
    expect(tables.find((t) => t.caption === 'Text attacks (TextAttack summary)')!.rows).toHaveLength(1);
  });
});

describe('version 1 results files in the report', () => {
  it('a v1 text-attack file is migrated and rendered as a text attack (no dummy fields shown)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-report-v1-'));
    const file = path.join(dir, 'results.json');
    fs.writeFileSync(file, JSON.stringify(v1TextFile()));
    const written = await writeReport([file], path.join(dir, 'out'), opts);
    const html = fs.readFileSync(written.html, 'utf8');
    const markdown = fs.readFileSync(written.markdown, 'utf8');
    const tables = htmlTables(html);
    expect(tables.find((t) => t.caption === 'Text attacks (TextAttack summary)')!.rows).toEqual([
      ['parry/pwws', 'flip-any-gold', '1 / 1 / 1', '66.67%', '33.33%', '50.00%', '25.0%', '3.0', '30.0', 'none', '0.900 → 0.500', '2.5'],
    ]);
    expect(tables.find((t) => t.caption.startsWith('Flip rate per label'))!.rows).toEqual([['anger', '0.00%'], ['joy', '50.00%']]);
    expect(tables.find((t) => t.caption.startsWith('Notes on the text attacks'))!.rows[0][1]).toMatch(/version 1 .* goal: flip-any-gold .* assumed/);
    expect(html).toContain('<del>happy</del>');
    expect(html).toContain('<ins>glad</ins>');
    expect(markdown).toContain('~~happy~~');
    // what v1 had to invent for text is gone: no epsilon rows, no image attack table, no bounds
    expect(html).not.toContain('id="robustness"');
    expect(html).not.toContain('unbounded');
    expect(markdownTables(markdown).find((t) => t.caption.startsWith('Every image attack'))).toBeUndefined();
  });

  it('a v1 text-attack file without its TextAttack summary is refused in one line naming the file and the fix, nothing written', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-report-v1-'));
    const file = path.join(dir, 'old.json');
    fs.writeFileSync(file, JSON.stringify(v1TextFile({ summary: false })));
    const err = await writeReport([file], path.join(dir, 'out'), opts).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe(
      `results file ${file} is a version 1 results file that cannot be read as version 2 (attacks.0 (parry/pwws) is a text attack without its TextAttack summary (textSummary)); re-run \`parry eval\` to write a v2 file`,
    );
    expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
  });

  it('a results file of an unknown future version is refused: upgrade Parry', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-report-v3-'));
    const file = path.join(dir, 'new.json');
    fs.writeFileSync(file, JSON.stringify({ ...textResults(), version: 3 }));
    await expect(writeReport([file], path.join(dir, 'out'), opts)).rejects.toThrow(/new\.json was written by a newer Parry \(results version 3; this Parry reads versions 1 to 2\); upgrade Parry$/);
    expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
  });

  it('reports a training-only file with curves and no attack table', async () => {
    const { html, markdown } = await renderReport([trainResults()], opts);
    expect(html).toContain('id="chart-training-loss"');
    expect(html).not.toContain('id="robustness"');
    expect(markdown).toContain('No attacks in these results');
    expect(markdownTables(markdown).find((t) => t.caption.startsWith('Training'))!.rows).toHaveLength(3);
  });
});

describe('writeReport', () => {
  it('writes report.html and report.md, and refuses broken input before writing anything', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parry-report-'));
    const good = path.join(dir, 'results.json');
    fs.writeFileSync(good, JSON.stringify(evalResults()));
    const written = await writeReport([good], path.join(dir, 'out'), opts);
    expect(fs.readdirSync(path.join(dir, 'out')).sort()).toEqual(['.parry-output.json', 'report.html', 'report.md']); // the report and the output guard's manifest
    expect(fs.readFileSync(written.html, 'utf8')).toMatch(/^<!doctype html>/);

    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ ...evalResults(), clean: { accuracy: 2, n: 1 } }));
    await expect(writeReport([good, bad], path.join(dir, 'out2'))).rejects.toThrow(/bad\.json is not a valid Parry results file: clean\.accuracy/);
    await expect(writeReport([path.join(dir, 'nope.json')], path.join(dir, 'out2'))).rejects.toThrow(InputError);
    await expect(writeReport([], path.join(dir, 'out2'))).rejects.toThrow(UsageError);
    expect(fs.existsSync(path.join(dir, 'out2'))).toBe(false);
  });
});
