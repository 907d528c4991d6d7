import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError, UsageError } from '@parry/core';
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { renderReport } from './render.js';
import { MAX_TEXT_CARDS } from './sections.js';
import { evalResults, HOSTILE, spamRun, textResults, threeSpamRuns, trainResults, v1TextFile } from './testing/fixtures.js';
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
    // the Markdown escapes with backslashes only: no raw HTML, no HTML entities
    expect(markdown).not.toMatch(/(^|[^\\])</m);
    expect(markdown).not.toMatch(/&(lt|gt|amp|quot|nbsp|#\d+);/);
    expect(markdown).toContain('\\<script\\>alert(1)\\</script\\>');
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
    expect(text!.columns.slice(-12)).toEqual(['attack', 'goal', 'succ / fail / skip', 'orig acc', 'acc under attack', 'success rate', 'words changed', 'words / input', 'queries / input', 'query budget', 'micro-F1 before → after', 'seconds']);
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
      ['plain', '0.1', '95.00%', '60.00%', 'parry/pgd', '36.84%'],
      ['plain', '0.3', '95.00%', '20.00%', 'parry/pgd', '78.95%'],
      ['at', '0.1', '90.00%', '80.00%', 'parry/pgd', '11.11%'],
      ['at', '0.3', '90.00%', '70.00%', 'parry/pgd', '22.22%'],
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
    expect(html).toContain('<del>wonderful</del>'); // a character-level edit is shown as a whole-word swap
    expect(html).toContain('<ins>wondreful</ins>');
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
    expect(html).toMatch(/<li class="held" data-index="3"><div class="label">#3 · label <b>joy<\/b>: <b>joy<\/b> → <b>joy<\/b> \(failed\) <span class="muted">· 0 words changed<\/span><\/div><div class="pair"><div class="orig"><span class="side">original<\/span>so happy<\/div>/);
    expect(markdown).toContain('- #3 · label **joy**: **joy** → **joy** (failed) · 0 words changed');
    // successful attacks first
    expect([...html.matchAll(/<li class="(\w+)" data-index="(\d+)"/g)].map((m) => `${m[2]} ${m[1]}`)).toEqual(['1 fooled', '2 fooled', '3 held']);
    // a text run: no epsilon, no robustness chart, no image grid; the headline says "accuracy under attack"
    expect(html).not.toContain('id="robustness"');
    expect(html).not.toContain('<img');
    expect(html).toMatch(/data-metric="robust">25\.00%<\/span> accuracy under attack \(text\/swap/);
    const headline = tables.find((t) => t.caption === 'Clean accuracy and accuracy under the strongest text attack')!;
    expect(headline.columns).toEqual(['clean acc', 'acc under attack', 'strongest attack', 'success rate']); // no epsilon column for text only
    expect(headline.rows).toEqual([['75.00%', '25.00%', `text/swap ${HOSTILE.single}`, '66.67%']]);
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

describe('a report that compares text runs (issue 19: plain, FGM, FGM+EDA of one architecture)', () => {
  const runs = threeSpamRuns();

  it('names runs by --name, not by architecture, in full: cards, tables and chart legends', async () => {
    const { html, markdown, charts } = await renderReport(runs, opts);
    expect(runs.every((r) => r.results.model.name === 'bert (2x64, 2 heads)')).toBe(true); // one architecture
    const cards = [...html.matchAll(/<div class="card" data-run="[^"]*"><h3>([^<]*)<\/h3>/g)].map((m) => unescapeHtml(m[1]));
    expect(cards).toEqual(['plain', 'fgm', 'fgm+eda']);
    expect(markdown).toContain('- **fgm+eda**: clean accuracy 90.00%');
    // text charts, not the image epsilon chart; every run in each legend, not truncated
    expect(charts.map((c) => c.id)).toEqual(['chart-text-success', 'chart-text-accuracy']);
    for (const id of ['chart-text-success', 'chart-text-accuracy']) {
      const fig = html.match(new RegExp(`<figure class="chart" id="${id}">.*?</figure>`, 's'))![0];
      for (const name of ['plain', 'fgm', 'fgm+eda']) expect(fig).toContain(`>${name}</text>`);
      expect(fig).not.toContain('…');
    }
    expect(html).not.toContain('id="robustness"');
    expect(htmlTables(html).find((t) => t.caption.startsWith('Every image attack'))).toBeUndefined();
    // the text attack table: one row per run and attack, nothing image-only (no column of dashes)
    const t = htmlTables(html).find((x) => x.caption === 'Text attacks (TextAttack summary)')!;
    expect(t.rows.map((r) => `${r[0]} ${r[1]}`)).toEqual(['plain parry/deepwordbug', 'plain parry/textfooler', 'fgm parry/deepwordbug', 'fgm parry/textfooler', 'fgm+eda parry/deepwordbug', 'fgm+eda parry/textfooler']);
    for (let c = 0; c < t.columns.length; c++) expect(t.rows.every((r) => r[c] === '-'), t.columns[c]).toBe(false);
    expect(html).toContain('<table id="table-text-attacks" data-table="text-attacks" class="fit">');
  });

  it('names runs without --name by their model folder, with parent folders when the names clash', async () => {
    const { html } = await renderReport(
      [
        { file: 'a.json', results: spamRun({ modelPath: 'runs/plain/model', robustness: 0.1 }) },
        { file: 'b.json', results: spamRun({ modelPath: 'runs/fgm/model', robustness: 0.5 }) },
        { file: 'c.json', results: spamRun({ modelPath: 'runs/spam-eda', robustness: 0.5 }) },
      ],
      opts,
    );
    const cards = [...html.matchAll(/<div class="card" data-run="[^"]*"><h3>([^<]*)<\/h3>/g)].map((m) => m[1]);
    expect(cards).toEqual(['plain/model', 'fgm/model', 'spam-eda']);
    // results with neither a name nor a folder (library use): numbered, and never taken for versions of one model
    const bare = (robustness: number) => {
      const r = structuredClone(spamRun({ robustness }));
      delete r.model.path;
      return r;
    };
    const unnamed = await renderReport([bare(0.2), bare(0.6)], opts);
    expect([...unnamed.html.matchAll(/<div class="card" data-run="[^"]*"><h3>([^<]*)<\/h3>/g)].map((m) => m[1])).toEqual(['bert (2x64, 2 heads) #1', 'bert (2x64, 2 heads) #2']);
    expect(unnamed.html).not.toContain('id="versions"');
  });

  it('example cards: successes first, at most a few per attack and run, with confidence, queries and whole-word swaps', async () => {
    const { html, markdown } = await renderReport(runs, opts);
    const lists = [...html.matchAll(/<ul class="texts" id="([^"]+)">(.*?)<\/ul>/gs)];
    expect(lists).toHaveLength(6); // 3 runs x 2 attacks
    for (const [, , body] of lists) {
      const classes = [...body.matchAll(/<li class="(\w+)"/g)].map((m) => m[1]);
      expect(classes.length).toBeLessThanOrEqual(MAX_TEXT_CARDS);
      expect(classes.length).toBeGreaterThan(0);
      expect(classes.join(' ')).toMatch(/^(fooled ?)*(held ?)*$/); // successes first
    }
    // each card: the prediction with its confidence before and after, the queries spent
    const ex = runs[0].results.attacks[1].modality === 'text' ? runs[0].results.attacks[1].examples[0] : undefined;
    expect(ex?.index).toBe(0);
    const conf = (p: number) => `${(100 * p).toFixed(1)}%`;
    expect(html).toContain(`#0 · label <b>spam</b>: <b>spam ${conf(ex!.confidence![0])}</b> → <b>ham ${conf(ex!.confidence![1])}</b> (successful) <span class="muted">· ${ex!.queries} queries · 3 words changed</span>`);
    // word swaps diffed by word: never Ret~~urn~~ -> Ret**rovert**
    expect(html).toContain('<del>Return</del>');
    expect(html).toContain('<ins>Retrovert</ins>');
    expect(markdown).toContain('~~Return~~ this form today to claim your ~~free~~ ~~prize~~ of 1000 dollars');
    expect(markdown).toContain('**Retrovert** this form today to claim your **gratis** **award** of 1000 dollars');
    expect(markdown).not.toMatch(/Ret~~|Ret\*\*/);
  });

  it('shows the same example across runs side by side', async () => {
    const { html, markdown } = await renderReport(runs, opts);
    const table = html.match(/<table class="across" id="across-1">(.*?)<\/table>/s)![1];
    expect([...table.matchAll(/<th scope="col">([^<]*)<\/th>/g)].map((m) => m[1])).toEqual(['example', 'plain', 'fgm', 'fgm+eda']);
    const rows = [...table.matchAll(/<tr><td><div class="label">#(\d+) /g)].map((m) => Number(m[1]));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThanOrEqual(4);
    // each row: the same original in every run, one cell per run with that run's outcome
    for (const index of rows) {
      const statuses = runs.map((r) => (r.results.attacks[0].modality === 'text' ? r.results.attacks[0].examples.find((x) => x.index === index)!.status : ''));
      expect(statuses).toContain('successful');
      const row = table.match(new RegExp(`<tr><td><div class="label">#${index} .*?</tr>`, 's'))![0];
      expect([...row.matchAll(/\((successful|failed)\)/g)].map((m) => m[1])).toEqual(statuses);
    }
    expect(markdown).toContain('## The same examples across runs');
  });

  it('per-class breakdown counted from every per-example record', async () => {
    const { html, markdown } = await renderReport(runs, opts);
    const t = htmlTables(html).find((x) => x.caption.startsWith('Success per original class'))!;
    expect(t.columns).toEqual(['run', 'attack', 'original class', 'examples', 'skipped (wrong already)', 'attacked', 'successful', 'success rate', 'flipped to']);
    for (const { results } of runs) {
      for (const a of results.attacks) {
        if (a.modality !== 'text') continue;
        for (const label of ['ham', 'spam']) {
          const xs = a.examples.filter((x) => x.label === label);
          const ok = xs.filter((x) => x.status === 'successful').length;
          const attacked = xs.filter((x) => x.status !== 'skipped').length;
          const row = t.rows.find((r) => r[0] === results.model.runName && r[1] === a.attack && r[2] === label)!;
          expect(row.slice(3, 8)).toEqual([String(xs.length), String(xs.length - attacked), String(attacked), String(ok), `${((100 * ok) / attacked).toFixed(2)}%`]);
          expect(row[8]).toBe(ok ? `${label === 'spam' ? 'ham' : 'spam'} ${ok}` : '-');
        }
      }
    }
    expect(markdownTables(markdown).find((x) => x.caption === t.caption)!.rows).toEqual(t.rows);
  });

  it('shows a targeted goal with its label name', async () => {
    const { html } = await renderReport([spamRun({ runName: 'to-ham', robustness: 0.3, goal: { kind: 'targeted', target: 0 } })], opts);
    expect(htmlTables(html).find((x) => x.caption === 'Text attacks (TextAttack summary)')!.rows[0][1]).toBe('targeted:0 (ham)');
  });

  it('the HTML and the Markdown show the same tables; the Markdown has no HTML entities, even with hostile text', async () => {
    const hostile = [...runs, { file: 'h.json', results: spamRun({ runName: HOSTILE.script, modelPath: 'runs/h', robustness: 0.1, hostile: true }) }];
    const { html, markdown } = await renderReport(hostile, opts);
    expectInert(html);
    const h = htmlTables(html);
    const m = markdownTables(markdown);
    expect(m.map((t) => t.caption)).toEqual(h.map((t) => t.caption));
    for (let i = 0; i < h.length; i++) expect(m[i].rows, h[i].caption).toEqual(h[i].rows);
    expect(markdown).not.toMatch(/&(lt|gt|amp|quot|nbsp|#\d+|#x[0-9a-f]+);/i);
    expect(markdown).not.toMatch(/(^|[^\\])</m);
    // the hostile example's swap: shown as text in both
    expect(html).toContain('<del>&lt;script&gt;alert(1)&lt;/script&gt;</del>');
    expect(html).toContain('<ins>&quot; onerror=&quot;alert(1)</ins>');
    expect(markdown).toContain('~~\\<script\\>alert(1)\\</script\\>~~');
  });
});

describe('robustness over versions', () => {
  it('orders results files of the same run name by time, with the change from the previous version', async () => {
    const v = (createdAt: string, robustness: number, seed: number) => spamRun({ runName: 'spam-filter', modelPath: 'runs/spam-filter', robustness, createdAt, seed });
    const files = [
      { file: 'v3.json', results: v('2026-11-03T09:00:00.000Z', 0.2, 3) },
      { file: 'v1.json', results: v('2026-11-01T09:00:00.000Z', 0.3, 1) },
      { file: 'v2.json', results: v('2026-11-02T09:00:00.000Z', 0.8, 2) },
      { file: 'other.json', results: spamRun({ runName: 'other', modelPath: 'runs/other', robustness: 0.5 }) },
    ];
    const { html, markdown, charts } = await renderReport(files, opts);
    const t = htmlTables(html).find((x) => x.caption.startsWith('Robustness over versions: spam-filter'))!;
    expect(t.columns).toEqual(['version', 'evaluated', 'file', 'clean acc', 'acc under parry/deepwordbug', 'acc under parry/textfooler']);
    expect(t.rows.map((r) => r.slice(0, 3))).toEqual([
      ['v1', '2026-11-01 09:00', 'v1.json'],
      ['v2', '2026-11-02 09:00', 'v2.json'],
      ['v3', '2026-11-03 09:00', 'v3.json'],
    ]);
    const acc = (r: (typeof files)[number]) => (r.results.attacks[1].modality === 'text' ? r.results.attacks[1].robustAccuracy : NaN);
    const [v1, v2, v3] = [files[1], files[2], files[0]].map(acc);
    expect(v3).toBeLessThan(v2); // a regression
    expect(t.rows[0][5]).toBe(`${(100 * v1).toFixed(2)}%`);
    expect(t.rows[2][5]).toBe(`${(100 * v3).toFixed(2)}% (−${(100 * (v2 - v3)).toFixed(2)} pt)`);
    expect(htmlTables(html).filter((x) => x.caption.startsWith('Robustness over versions'))).toHaveLength(1); // "other" has one file
    expect(charts.map((c) => c.id)).toContain('chart-versions-1');
    expect(markdown).toContain('## Robustness over versions');
    // the versions are told apart by when they were evaluated
    expect([...html.matchAll(/<div class="card" data-run="[^"]*"><h3>([^<]*)<\/h3>/g)].map((m) => m[1])).toEqual(['spam-filter @ 2026-11-03 09:00', 'spam-filter @ 2026-11-01 09:00', 'spam-filter @ 2026-11-02 09:00', 'other']);
  });

  it('without --name: one model folder evaluated again later is a new version; its train file joins a run, not a version', async () => {
    const { html } = await renderReport(
      [
        { file: 'old.json', results: spamRun({ modelPath: 'runs/spam', robustness: 0.3, createdAt: '2026-11-01T09:00:00.000Z' }) },
        { file: 'new.json', results: spamRun({ modelPath: 'runs/spam', robustness: 0.6, createdAt: '2026-11-05T09:00:00.000Z', seed: 4 }) },
        { file: 'runs/spam/train-results.json', results: trainResults({ modelPath: 'runs/spam' }) },
        { file: 'old-train.json', results: { ...trainResults({ modelPath: 'runs/spam' }), createdAt: '2026-10-30T09:00:00.000Z' } },
      ],
      opts,
    );
    const t = htmlTables(html).find((x) => x.caption.startsWith('Robustness over versions: spam'))!;
    // a training file joins the first evaluation made after it; one made after every evaluation (2026-11-22), the newest
    expect(t.rows.map((r) => r[2])).toEqual(['old.json, old-train.json', 'new.json, runs/spam/train-results.json']);
  });
});
