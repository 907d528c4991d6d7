// End to end: the CLI writes results, `parry report` turns them into HTML, headless Chromium opens the page.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readResults, type Results } from '@parry/metrics';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReport } from './render.js';
import { evalResults, HOSTILE, spamRun, textResults, threeSpamRuns, trainResults } from './testing/fixtures.js';

// page.evaluate callbacks run in the browser; this package is typed for Node (no DOM lib)
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const getComputedStyle: any;

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const bin = path.join(root, 'apps/cli/dist/bin.js');
const outDir = path.resolve(here, '../test-output');
const CHROMIUM = process.env.PARRY_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = fs.existsSync(CHROMIUM);
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const demoReport = path.join(root, 'runs/demo/report/report.html');
const hasDemo = fs.existsSync(demoReport);

function parry(args: string[]) {
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: build the CLI first (pnpm build)`);
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

/** Headline numbers computed straight from the results JSON: clean accuracy and the worst robust accuracy at the largest epsilon. */
function expectedHeadline(r: Results): { clean: string; robust: string } {
  const attacks = r.attacks.filter((a) => a.modality === 'image');
  const epsilons = attacks.flatMap((a) => a.perEpsilon.map((e) => e.epsilon)).filter((e): e is number => e !== null);
  const top = Math.max(...epsilons);
  const robust = Math.min(...attacks.flatMap((a) => a.perEpsilon.filter((e) => e.epsilon === top).map((e) => e.robustAccuracy)));
  return { clean: pct(r.clean!.accuracy), robust: pct(robust) };
}

let browser: Browser;

/** Launch headless Chromium for the tests of the enclosing describe, and close it after them. */
function useBrowser(): void {
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  });
  afterAll(async () => {
    await browser?.close();
  });
}

/** Open a report offline, check what any report must satisfy, save a screenshot, and return the page's findings. */
async function openReport(file: string, screenshot: string) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('dialog', (d) => {
    errors.push(`dialog opened: ${d.message()}`);
    void d.dismiss();
  });
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(`file://${file}`, { waitUntil: 'load' });
  const found = await page.evaluate(() => {
    const charts = [...document.querySelectorAll('figure.chart svg')].map((s) => {
      const b = s.getBoundingClientRect();
      return { width: b.width, height: b.height, marks: s.querySelectorAll('path, line, text').length };
    });
    const images = [...document.images].map((i) => ({ complete: i.complete, width: i.naturalWidth, height: i.naturalHeight }));
    const metric = (name: string) => [...document.querySelectorAll(`[data-metric="${name}"]`)].map((e) => e.textContent);
    // the text section: swapped words as <del>/<ins>, drawn highlighted; the TextAttack table within the page width
    const section = document.querySelector('#text-examples');
    const seen = (e: any) => {
      const b = e.getBoundingClientRect();
      return b.width > 0 && b.height > 0;
    };
    const wrap = document.querySelector('#table-text-attacks')?.parentElement;
    const textSection = section
      ? {
          cards: section.querySelectorAll('ul.texts li').length,
          ins: [...section.querySelectorAll('ins')].filter(seen).map((e: any) => ({ text: e.textContent, background: getComputedStyle(e).backgroundColor, weight: getComputedStyle(e).fontWeight })),
          del: [...section.querySelectorAll('del')].filter(seen).map((e: any) => ({ text: e.textContent, background: getComputedStyle(e).backgroundColor, line: getComputedStyle(e).textDecorationLine })),
          across: document.querySelectorAll('table.across td.fooled, table.across td.held').length,
          tableFits: wrap ? wrap.scrollWidth <= wrap.clientWidth : undefined,
        }
      : undefined;
    return { scripts: document.scripts.length, handlers: document.querySelectorAll('[onerror], [onload], [onmouseover]').length, charts, images, clean: metric('clean'), robust: metric('robust'), text: document.body.innerText, textSection };
  });
  fs.mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: path.join(outDir, screenshot), fullPage: true });
  await page.close();
  expect(errors).toEqual([]);
  expect(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'))).toEqual([]); // works offline
  expect(found.scripts).toBe(0);
  expect(found.handlers).toBe(0);
  for (const c of found.charts) {
    expect(c.width).toBeGreaterThan(100);
    expect(c.height).toBeGreaterThan(100);
    expect(c.marks).toBeGreaterThan(10);
  }
  for (const i of found.images) expect(i).toMatchObject({ complete: true, width: expect.any(Number) as number });
  expect(found.images.every((i) => i.width > 0 && i.height > 0)).toBe(true);
  return found;
}

/** What every report with text attacks must show: swaps highlighted (green inserted, red struck-through removed), the summary within the page. */
function expectHighlightedSwaps(t: NonNullable<Awaited<ReturnType<typeof openReport>>['textSection']>) {
  expect(t.cards).toBeGreaterThan(0);
  expect(t.ins.length).toBeGreaterThan(0);
  expect(t.del.length).toBeGreaterThan(0);
  for (const i of t.ins) expect(i.background, `<ins>${i.text}</ins>`).toBe('rgb(217, 242, 225)');
  for (const d of t.del) {
    expect(d.background, `<del>${d.text}</del>`).toBe('rgb(251, 224, 220)');
    expect(d.line).toBe('line-through');
  }
  expect(t.tableFits).toBe(true);
}

describe('reports from what the CLI writes', () => {
  const work = path.join(outDir, 'cli-run');
  let evalFile: string;
  let trainFile: string;
  let html: string;

  beforeAll(() => {
    fs.rmSync(work, { recursive: true, force: true });
    fs.mkdirSync(work, { recursive: true });
    const model = path.join(work, 'model');
    evalFile = path.join(work, 'results.json');
    trainFile = path.join(model, 'train-results.json');
    for (const args of [
      ['train', '--epochs', '1', '--limit', '512', '-q', '-o', model],
      ['eval', '-m', model, '-n', '20', '--opt', 'pgd.steps=3', '-q', '-o', evalFile],
    ]) {
      const r = parry(args);
      expect(r.stderr, args.join(' ')).toBe('');
      expect(r.code).toBe(0);
    }
    const r = parry(['report', evalFile, trainFile, '-o', path.join(work, 'report'), '-q']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    html = path.join(work, 'report', 'report.html');
    expect(r.stdout.trim()).toBe(`report written to ${html}`);
  });

  it('the schema accepts both files the CLI wrote, with the image examples and per-example sizes', () => {
    const e = readResults(evalFile);
    const t = readResults(trainFile);
    expect(t.kind).toBe('train');
    expect(t.training!.epochs).toHaveLength(1);
    expect(e.attacks.map((a) => a.attack)).toEqual(['parry/fgsm', 'parry/pgd']);
    for (const a of e.attacks) {
      if (a.modality !== 'image') throw new Error(`${a.attack} is not an image attack`);
      expect(a.examples).toHaveLength(8);
      expect(a.examples![0].shape).toEqual([28, 28, 1]);
      expect(Buffer.from(a.examples![0].original, 'base64')).toHaveLength(784);
      expect(a.examples![0].perEpsilon.map((p) => p.epsilon)).toEqual([0.1, 0.2, 0.3]);
      for (const p of a.perEpsilon) expect(p.sizes!.linf.length).toBe(p.linf?.count ?? 0);
    }
    expect(fs.readdirSync(path.join(work, 'report')).sort()).toEqual(['.parry-output.json', 'report.html', 'report.md']);
  });

  it('refuses a broken results file: one line naming the file and the field, exit 2, nothing written', () => {
    const bad = path.join(work, 'bad.json');
    const data = JSON.parse(fs.readFileSync(evalFile, 'utf8'));
    data.attacks[0].perEpsilon[0].robustAccuracy = 'high';
    fs.writeFileSync(bad, JSON.stringify(data));
    const target = path.join(work, 'never');
    const r = parry(['report', evalFile, bad, '-o', target]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^parry: results file .*bad\.json is not a valid Parry results file: attacks\.0\.perEpsilon\.0\.robustAccuracy/);
    expect(r.stdout).toBe('');
    expect(fs.existsSync(target)).toBe(false);
    const missing = parry(['report', path.join(work, 'nope.json'), '-o', target]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^parry: results file .*nope\.json not found; run `parry eval` or `parry train` to write one\n$/);
  });

  describe.skipIf(!hasChromium)(`in headless Chromium${hasChromium ? '' : ` (skipped: ${CHROMIUM} not found; run scripts/ci-browser.sh)`}`, () => {
    useBrowser();

    it('renders the CLI report: headline numbers, charts, decoded image grid, no console errors (screenshot test-output/cli-report.png)', async () => {
      const found = await openReport(html, 'cli-report.png');
      const want = expectedHeadline(readResults(evalFile));
      expect(found.clean).toEqual([want.clean]);
      expect(found.robust).toEqual([want.robust]);
      expect(found.charts.length).toBe(5); // robustness, Linf and L2 sizes, training accuracy and loss
      expect(found.images.length).toBe(2 * 8 * (1 + 3 * 2)); // 2 attacks x 8 examples x (original + 3 eps x 2)
    });

    it.skipIf(!hasDemo)(`renders the Quickstart report runs/demo/report/report.html${hasDemo ? '' : ' (skipped: absent; run pnpm demo first)'} (screenshot test-output/demo-report.png)`, async () => {
      const found = await openReport(demoReport, 'demo-report.png');
      const want = expectedHeadline(readResults(path.join(root, 'runs/demo/results.json')));
      // the image run's card (the demo may add a text run next to it)
      expect(found.clean).toContain(want.clean);
      expect(found.robust).toContain(want.robust);
      expect(found.charts.length).toBeGreaterThanOrEqual(3);
      expect(found.images.length).toBeGreaterThan(0);
      if (found.textSection) expectHighlightedSwaps(found.textSection);
      else console.log('runs/demo/report/report.html has no text section: the text checks ran on the fixture report only');
    });
  });
});

describe.skipIf(!hasChromium)(`reports built in the test, in headless Chromium${hasChromium ? '' : ` (skipped: ${CHROMIUM} not found; run scripts/ci-browser.sh)`}`, () => {
  useBrowser();

  it('shows hostile strings as text and runs nothing (screenshot test-output/hostile-report.png)', async () => {
    const r = evalResults({ modelName: HOSTILE.script, datasetName: HOSTILE.attr, attackName: HOSTILE.img, labelNames: [HOSTILE.script, HOSTILE.attr, HOSTILE.single] });
    const { html: page } = await renderReport([{ file: `${HOSTILE.attr}.json`, results: r }, { file: 'text.json', results: textResults() }, { file: 't.json', results: trainResults() }], { title: HOSTILE.script });
    const file = path.join(outDir, 'hostile', 'report.html');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, page);
    const found = await openReport(file, 'hostile-report.png');
    for (const s of [HOSTILE.script, HOSTILE.attr, HOSTILE.img, HOSTILE.single]) expect(found.text).toContain(s);
  });

  it('text runs (plain, FGM, FGM+EDA) with hostile text: swaps highlighted by whole word, nothing runs (screenshot test-output/text-report.png)', async () => {
    const hostile = spamRun({ runName: `fgm ${HOSTILE.attr}`, modelPath: 'runs/spam/hostile', robustness: 0.2, hostile: true });
    const { html: page } = await renderReport([...threeSpamRuns(), { file: `${HOSTILE.single}.json`, results: hostile }], { title: 'Spam filter: plain, FGM, FGM+EDA' });
    const file = path.join(outDir, 'text', 'report.html');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, page);
    const found = await openReport(file, 'text-report.png');
    expect(found.textSection).toBeDefined();
    expectHighlightedSwaps(found.textSection!);
    expect(found.textSection!.ins.map((i) => i.text)).toContain('Retrovert');
    expect(found.textSection!.del.map((d) => d.text)).toContain('Return');
    expect(found.textSection!.ins.map((i) => i.text)).toContain(HOSTILE.attr); // the hostile swap is shown as text
    expect(found.textSection!.del.map((d) => d.text)).toContain(HOSTILE.script);
    expect(found.textSection!.across).toBeGreaterThan(0); // the same examples side by side across runs
    expect(found.charts.length).toBe(2); // success rate and accuracy under attack, no epsilon chart
    for (const s of ['plain', 'fgm+eda', `fgm ${HOSTILE.attr}`, HOSTILE.img]) expect(found.text).toContain(s);
  });
});

/** A toy spam corpus (keywords carry the label) as CSV, seeded: enough for a tiny encoder to learn in a few seconds. */
function toySpamCsv(n: number, seed: number): string {
  let a = seed;
  const rand = (k: number) => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return Math.floor((a / 2147483648) * k);
  };
  const spam = ['free', 'prize', 'winner', 'cash', 'click', 'offer', 'urgent', 'discount'];
  const ham = ['meeting', 'lunch', 'slides', 'review', 'build', 'project', 'agenda', 'notes'];
  const filler = ['the', 'a', 'your', 'this', 'is', 'for', 'we', 'to', 'and', 'please', 'now', 'today', 'see', 'attached', 'here', 'about'];
  const rows = Array.from({ length: n }, () => {
    const label = rand(2);
    const words = Array.from({ length: 8 + rand(8) }, () => filler[rand(filler.length)]);
    for (let k = 0; k < 1 + rand(2); k++) words.splice(rand(words.length), 0, (label ? spam : ham)[rand(8)]);
    return `${words.join(' ')},${label}`;
  });
  return `text,label\n${rows.join('\n')}\n`;
}

describe('text reports from what the CLI writes (two tiny spam filters: plain and FGM, named with --name)', () => {
  const work = path.join(outDir, 'cli-text');
  const report = path.join(work, 'report', 'report.html');

  beforeAll(() => {
    fs.rmSync(work, { recursive: true, force: true });
    fs.mkdirSync(work, { recursive: true });
    fs.writeFileSync(path.join(work, 'train.csv'), toySpamCsv(600, 1));
    fs.writeFileSync(path.join(work, 'dev.csv'), toySpamCsv(60, 2));
    const data = ['--data', path.join(work, 'train.csv'), '--dev', path.join(work, 'dev.csv'), '--text-column', 'text', '--label-column', 'label', '--label-names', 'ham,spam'];
    const small = ['--model', 'bert', '--hidden', '32', '--layers', '1', '--heads', '2', '--max-length', '24', '--vocab-size', '200', '--epochs', '3', '--lr', '3e-3', '-q', ...data];
    for (const [name, extra] of [['plain', []], ['fgm', ['--defense', 'fgm']]] as const) {
      const model = path.join(work, name, 'model');
      for (const args of [
        ['train', ...small, ...extra, '--out', model],
        ['eval', '-m', model, '--attack', 'deepwordbug', '-n', '30', '--name', name, '-o', path.join(work, `${name}.json`), '-q'],
      ]) {
        const r = parry(args);
        expect(r.stderr, args.join(' ')).toBe('');
        expect(r.code).toBe(0);
      }
    }
    const r = parry(['report', path.join(work, 'plain.json'), path.join(work, 'fgm.json'), '-o', path.join(work, 'report'), '-q']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }, 300_000);

  it('results.json holds a compact record of every example, named by --name; the Markdown names the runs', () => {
    for (const name of ['plain', 'fgm']) {
      const r = readResults(path.join(work, `${name}.json`));
      expect(r.model.runName).toBe(name);
      const a = r.attacks[0];
      if (a.modality !== 'text') throw new Error('expected a text attack');
      expect(a.examples.map((x) => x.index)).toEqual([...Array(30).keys()]);
      expect(a.examples.every((x) => x.perturbed === undefined && typeof x.queries === 'number' && x.confidence?.length === 2)).toBe(true);
    }
    const md = fs.readFileSync(path.join(work, 'report', 'report.md'), 'utf8');
    expect(md).toMatch(/^- \*\*plain\*\*: clean accuracy/m);
    expect(md).toMatch(/^- \*\*fgm\*\*: clean accuracy/m);
    expect(md).not.toMatch(/&(lt|gt|amp|quot|#\d+);/);
  });

  it.skipIf(!hasChromium)(`in headless Chromium: swaps highlighted, text charts, nothing runs (screenshot test-output/cli-text-report.png)${hasChromium ? '' : ` (skipped: ${CHROMIUM} not found)`}`, async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    try {
      const found = await openReport(report, 'cli-text-report.png');
      expect(found.textSection).toBeDefined();
      expectHighlightedSwaps(found.textSection!);
      expect(found.charts.length).toBe(2); // success rate and accuracy under attack
      expect(found.clean).toHaveLength(2);
    } finally {
      await browser.close();
    }
  });
});
