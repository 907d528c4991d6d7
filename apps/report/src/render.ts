import type { Results, TextExample } from '@parry/metrics';
import { type Chart, renderSvg, reportCharts } from './charts.js';
import { escapeHtml as h, escapeMarkdown as md, neutraliseBidi } from './escape.js';
import { eps } from './format.js';
import { checkImageExamples, exampleImages, originalImage } from './images.js';
import {
  type ReportSource,
  type Run,
  type Table,
  attacksTable,
  groupRuns,
  headlineSentence,
  headlineTable,
  hyperparameterTable,
  perLabelTables,
  textAttackTable,
  textClassTable,
  textNotesTable,
  runsTable,
  trainingTable,
  versionGroups,
  versionTable,
} from './model.js';
import { type AcrossGroup, type ImageGroup, type TextGroup, acrossGroups, environmentTable, imageGroups, textGroups } from './sections.js';
import { type Part, type Segment, elide, exampleParts, markedOriginal, sideSegments } from './text-diff.js';
import { STYLE } from './style.js';

export interface RenderOptions {
  /** Report title (default "Parry robustness report"). */
  title?: string;
  /** Timestamp printed in the report (default now); fixed in tests for reproducible output. */
  generatedAt?: string;
}

export interface RenderedReport {
  html: string;
  markdown: string;
  /** Vega-Lite specs of the charts, by id. */
  charts: Chart[];
}

/** The tables of a report, in order; the HTML and the Markdown both render exactly these. */
export interface ReportContent {
  title: string;
  generatedAt: string;
  runs: Run[];
  headline: ReturnType<typeof headlineSentence>[];
  tables: {
    headline: Table;
    runs: Table;
    attacks: Table;
    textAttacks?: Table;
    textClasses?: Table;
    textNotes?: Table;
    versions: Table[];
    environment: Table;
    perLabel: Table[];
    training: { run: Run; tables: Table[] }[];
  };
  images: ImageGroup[];
  texts: TextGroup[];
  across: AcrossGroup[];
  charts: Chart[];
}

/** Build the report's content from validated results (no rendering). */
export function reportContent(sources: ReportSource[], options: RenderOptions = {}): ReportContent {
  if (sources.length === 0) throw new RangeError('a report needs at least one results file');
  checkImageExamples(sources);
  const runs = groupRuns(sources);
  const versions = versionGroups(runs);
  return {
    title: options.title ?? 'Parry robustness report',
    generatedAt: options.generatedAt ?? new Date().toISOString(),
    runs,
    headline: runs.map(headlineSentence),
    tables: {
      headline: headlineTable(runs),
      runs: runsTable(runs),
      attacks: attacksTable(runs),
      textAttacks: textAttackTable(runs),
      textClasses: textClassTable(runs),
      textNotes: textNotesTable(runs),
      versions: versions.map(versionTable),
      environment: environmentTable(sources),
      perLabel: runs.flatMap(perLabelTables),
      training: runs.filter((r) => r.train?.training).map((run) => ({ run, tables: [trainingTable(run)!, hyperparameterTable(run)!] })),
    },
    images: imageGroups(runs),
    texts: textGroups(runs),
    across: acrossGroups(runs),
    charts: reportCharts(runs, versions),
  };
}

/** Render validated results to one self-contained HTML page (no scripts, charts as inline SVG) and a Markdown summary. */
export async function renderReport(sources: ReportSource[] | Results[], options: RenderOptions = {}): Promise<RenderedReport> {
  const list: ReportSource[] = (sources as (ReportSource | Results)[]).map((s, i) => ('results' in s && 'file' in s ? s : { file: `results ${i + 1}`, results: s as Results }));
  const content = reportContent(list, options);
  // chart labels (attack and run names) reach the SVG as text: their bidi controls are shown as code points too
  const svgs = await Promise.all(content.charts.map(async (c) => neutraliseBidi(await renderSvg(c.spec))));
  return { html: renderHtml(content, svgs), markdown: renderMarkdown(content), charts: content.charts };
}

// ---------------------------------------------------------------- HTML

const NUMERIC = /^-?[\d.]+%?$/;

function htmlTable(t: Table): string {
  const head = t.columns.map((c) => `<th scope="col">${h(c)}</th>`).join('');
  const body = t.rows.map((r) => `<tr>${r.map((c) => `<td${!t.plain && NUMERIC.test(c) ? ' class="n"' : ''}>${h(c)}</td>`).join('')}</tr>`).join('\n');
  return `<div class="table-wrap"><table id="table-${h(t.id)}" data-table="${h(t.id)}"${t.fit ? ' class="fit"' : ''}><caption>${h(t.caption)}</caption><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

function htmlImages(g: ImageGroup): string {
  const label = (k: number) => g.results.model.labelNames?.[k] ?? String(k);
  const epsilons = g.examples[0].perEpsilon.map((e) => e.epsilon);
  const head = `<tr><th scope="col">original</th>${epsilons.map((e) => `<th scope="col" colspan="2">eps ${h(eps(e))}: adversarial / perturbation x5</th>`).join('')}</tr>`;
  const rows = g.examples.map((x) => {
    const cells = x.perEpsilon.map((p, k) => {
      const img = exampleImages(x, k);
      const cls = p.prediction === x.label ? 'held' : x.prediction === x.label ? 'fooled' : 'wrong';
      const alt = `example ${x.index} at eps ${eps(p.epsilon)}`;
      return (
        `<td class="${cls}"><img src="${img.adversarial}" width="84" height="84" alt="${h(`${alt}, adversarial`)}"><span class="cap">pred ${h(label(p.prediction))}${cls === 'fooled' ? ' (fooled)' : ''}</span></td>` +
        `<td><img src="${img.perturbation}" width="84" height="84" alt="${h(`${alt}, perturbation`)}"><span class="cap">&nbsp;</span></td>`
      );
    });
    const clean = `<td><img src="${originalImage(x)}" width="84" height="84" alt="${h(`example ${x.index}, original`)}"><span class="cap">true ${h(label(x.label))} · pred ${h(label(x.prediction))}</span></td>`;
    return `<tr>${clean}${cells.join('')}</tr>`;
  });
  return `<figure class="grid" id="${h(g.id)}-grid"><figcaption>${h(g.attack.attack)} on ${h(g.run.title)}: grey is no change; the perturbation is 0.5 + 5 × (adversarial − original); green: still correct, red: fooled by the attack, grey: wrong before the attack</figcaption><div class="table-wrap"><table class="images"><thead>${head}</thead><tbody>${rows.join('\n')}</tbody></table></div></figure>`;
}

/** The class of a text example in the HTML: fooled (the attack succeeded), held (it failed), skipped (nothing to attack). */
const textClass = (x: TextExample): string => (x.status === 'successful' ? 'fooled' : x.status === 'failed' ? 'held' : 'wrong');

/** "spam 97.1%" : a prediction with its confidence when the record has one. */
const withConfidence = (prediction: string, p: number | undefined): string => (p === undefined ? prediction : `${prediction} ${(100 * p).toFixed(1)}%`);

/** What a card says about an example, the same words in the HTML and the Markdown. */
function exampleFacts(x: TextExample): { gold: string; before: string; after: string; status: string; extra: string } {
  const words = x.changed.filter((c) => c.before !== c.after).length;
  const extra = [x.queries === undefined ? '' : `${x.queries} queries`, x.status === 'skipped' ? '' : `${words} word${words === 1 ? '' : 's'} changed`].filter(Boolean).join(' · ');
  return { gold: x.label, before: withConfidence(x.prediction, x.confidence?.[0]), after: withConfidence(x.perturbedPrediction, x.confidence?.[1]), status: x.status, extra };
}

/** The aligned parts of an example, long unchanged stretches shortened. */
const partsOf = (x: TextExample): Part[] => elide(exampleParts(x));

function htmlSide(parts: Part[], side: 'original' | 'adversarial'): string {
  const tag = side === 'original' ? 'del' : 'ins';
  return sideSegments(parts, side)
    .map((s) => (s.changed ? `<${tag}>${h(s.text)}</${tag}>` : h(s.text)))
    .join('');
}

function htmlCard(x: TextExample): string {
  const f = exampleFacts(x);
  const parts = partsOf(x);
  return (
    `<li class="${textClass(x)}" data-index="${h(x.index)}"><div class="label">#${h(x.index)} · label <b>${h(f.gold)}</b>: <b>${h(f.before)}</b> → <b>${h(f.after)}</b> (${h(f.status)})` +
    `${f.extra ? ` <span class="muted">· ${h(f.extra)}</span>` : ''}</div>` +
    `<div class="pair"><div class="orig"><span class="side">original</span>${htmlSide(parts, 'original')}</div><div class="adv"><span class="side">adversarial</span>${htmlSide(parts, 'adversarial')}</div></div></li>`
  );
}

/** Which cards a group shows, in words. */
function shownText(g: TextGroup): string {
  const total = g.counts.successful + g.counts.failed;
  return `${g.examples.length} of ${total} attacked examples (${g.counts.successful} successful, ${g.counts.failed} failed), successful attacks first`;
}

function htmlTexts(g: TextGroup): string {
  return `<h3>${h(g.attack.attack)} on ${h(g.run.title)}</h3><p class="meta">${h(shownText(g))}</p><ul class="texts" id="${h(g.id)}">${g.examples.map(htmlCard).join('\n')}</ul>`;
}

/** The original of a side-by-side row, with every word some run's attack changed marked. */
const acrossOriginal = (row: AcrossGroup['rows'][number]): Part[] => elide(markedOriginal(row.original, row.perRun.flatMap((x) => x?.changed ?? [])));

function htmlAcross(g: AcrossGroup): string {
  const head = `<tr><th scope="col">example</th>${g.runs.map((r) => `<th scope="col">${h(r.title)}</th>`).join('')}</tr>`;
  const rows = g.rows.map((row) => {
    const cells = row.perRun.map((x) => {
      const f = exampleFacts(x!);
      return `<td class="${textClass(x!)}"><div class="label"><b>${h(f.after)}</b> (${h(f.status)})${f.extra ? ` <span class="muted">· ${h(f.extra)}</span>` : ''}</div><div class="adv">${htmlSide(partsOf(x!), 'adversarial')}</div></td>`;
    });
    return `<tr><td><div class="label">#${h(row.index)} · label <b>${h(row.label)}</b></div><div class="orig">${htmlSide(acrossOriginal(row), 'original')}</div></td>${cells.join('')}</tr>`;
  });
  return `<h3>${h(g.attack)}: the same examples in each run</h3><div class="table-wrap"><table class="across" id="${h(g.id)}"><thead>${head}</thead><tbody>${rows.join('\n')}</tbody></table></div>`;
}

function chartHtml(c: Chart, svg: string): string {
  return `<figure class="chart" id="${h(c.id)}"><figcaption>${h(c.title)}</figcaption>${svg}</figure>`;
}

function renderHtml(c: ReportContent, svgs: string[]): string {
  const chart = (prefix: string) => c.charts.map((x, i) => (x.id.startsWith(prefix) ? chartHtml(x, svgs[i]) : '')).join('\n');
  const cards = c.headline
    .map(
      (s, i) =>
        `<div class="card" data-run="${h(c.runs[i].id)}"><h3>${h(s.title)}</h3>` +
        (s.clean ? `<p><span class="big" data-metric="clean">${h(s.clean)}</span> clean accuracy</p>` : '') +
        (s.robust ? `<p><span class="big" data-metric="robust">${h(s.robust)}</span> ${robustWords(s.at)} (${h(s.attack)})</p>` : '') +
        `</div>`,
    )
    .join('\n');
  const parts: string[] = [];
  parts.push(`<header><h1>${h(c.title)}</h1><p class="meta">Generated ${h(c.generatedAt)} from ${c.tables.environment.rows.length} results file(s). Self-contained: no scripts, no network.</p></header>`);
  parts.push(`<section id="headline"><h2>Headline</h2><div class="cards">${cards}</div>${attacksTableOrNote(c.tables.headline)}${htmlTable(c.tables.runs)}</section>`);
  if (c.tables.attacks.rows.length) {
    parts.push(`<section id="robustness"><h2>Robustness</h2><div class="charts">${chart('chart-robustness')}${chart('chart-size')}</div>${htmlTable(c.tables.attacks)}</section>`);
  }
  if (c.images.length) parts.push(`<section id="examples"><h2>Image examples</h2>${c.images.map((g) => htmlImages(g) + htmlTable(g.table)).join('\n')}</section>`);
  if (c.tables.textAttacks) {
    parts.push(
      `<section id="text-attacks"><h2>Text attacks</h2><div class="charts">${chart('chart-text')}</div>${htmlTable(c.tables.textAttacks)}` +
        `${c.tables.textClasses ? htmlTable(c.tables.textClasses) : ''}${c.tables.textNotes ? htmlTable(c.tables.textNotes) : ''}</section>`,
    );
  }
  if (c.texts.length) {
    parts.push(
      `<section id="text-examples"><h2>Text examples</h2><p class="meta">${h(TEXT_LEGEND)}</p>${c.texts.map(htmlTexts).join('\n')}` +
        `${c.across.length ? `<h2 id="text-across">The same examples across runs</h2>${c.across.map(htmlAcross).join('\n')}` : ''}</section>`,
    );
  }
  if (c.tables.versions.length) parts.push(`<section id="versions"><h2>Robustness over versions</h2><div class="charts">${chart('chart-versions')}</div>${c.tables.versions.map(htmlTable).join('\n')}</section>`);
  if (c.tables.perLabel.length) parts.push(`<section id="labels"><h2>Per label</h2>${c.tables.perLabel.map(htmlTable).join('\n')}</section>`);
  if (c.tables.training.length) {
    parts.push(`<section id="training"><h2>Training</h2><div class="charts">${chart('chart-training')}</div>${c.tables.training.map((t) => t.tables.map(htmlTable).join('\n')).join('\n')}</section>`);
  }
  parts.push(`<section id="environment"><h2>Environment</h2>${htmlTable(c.tables.environment)}</section>`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>${h(c.title)}</title>
<style>${STYLE}</style>
</head>
<body>
${parts.join('\n')}
</body>
</html>
`;
}

const TEXT_LEGEND = 'Swapped, removed or inserted words: struck through in the original, highlighted in the adversarial (whole words). Predictions with the confidence of the top label; long unchanged stretches shortened to …';

/** "robust accuracy at eps 0.3" for image attacks, "accuracy under attack" for text attacks (no epsilon). */
function robustWords(at: string | undefined): string {
  return at === undefined ? 'accuracy under attack' : `robust accuracy at eps ${h(at)}`;
}

function attacksTableOrNote(t: Table): string {
  return t.rows.length ? htmlTable(t) : '<p class="meta">No attacks in these results: only training curves and clean accuracy.</p>';
}

// ---------------------------------------------------------------- Markdown

function mdTable(t: Table): string {
  const line = (cells: string[]) => `| ${cells.map(md).join(' | ')} |`;
  return [`**${md(t.caption)}**`, '', line(t.columns), `|${t.columns.map(() => '---').join('|')}|`, ...t.rows.map(line), ''].join('\n');
}

/** One side of an example in Markdown: changed words ~~struck~~ (original) or **bold** (adversarial), one line. */
function mdSide(parts: Part[], side: 'original' | 'adversarial'): string {
  const mark = side === 'original' ? '~~' : '**';
  return mdSegments(sideSegments(parts, side), mark);
}

function mdSegments(segments: Segment[], mark: string): string {
  return segments
    .map((s) => {
      if (!s.changed || !/\S/.test(s.text)) return md(s.text);
      const [, lead, body, trail] = /^(\s*)([\s\S]*?)(\s*)$/.exec(s.text)!;
      return `${md(lead)}${mark}${md(body)}${mark}${md(trail)}`;
    })
    .join('');
}

function mdFacts(x: TextExample): string {
  const f = exampleFacts(x);
  return `#${x.index} · label **${md(f.gold)}**: **${md(f.before)}** → **${md(f.after)}** (${f.status})${f.extra ? ` · ${md(f.extra)}` : ''}`;
}

function renderMarkdown(c: ReportContent): string {
  const out: string[] = [`# ${md(c.title)}`, '', `Generated ${md(c.generatedAt)} from ${c.tables.environment.rows.length} results file(s). Charts and image grids are in the HTML report.`, ''];
  out.push('## Headline', '');
  for (const s of c.headline) {
    const robust = s.at === undefined ? `accuracy under attack ${s.robust}` : `robust accuracy ${s.robust} at eps ${md(s.at)}`;
    const parts = [s.clean ? `clean accuracy ${s.clean}` : '', s.robust ? `${robust} (${md(s.attack)})` : ''].filter(Boolean);
    out.push(`- **${md(s.title)}**: ${parts.join(', ')}`);
  }
  out.push('');
  out.push(c.tables.headline.rows.length ? mdTable(c.tables.headline) : 'No attacks in these results: only training curves and clean accuracy.\n');
  out.push(mdTable(c.tables.runs));
  if (c.tables.attacks.rows.length) out.push('## Robustness', '', mdTable(c.tables.attacks));
  if (c.images.length) out.push('## Image examples', '', ...c.images.map((g) => mdTable(g.table)));
  if (c.tables.textAttacks) {
    out.push('## Text attacks', '', 'Charts: success rate and accuracy under attack per attack and run are in the HTML report.', '', mdTable(c.tables.textAttacks));
    if (c.tables.textClasses) out.push(mdTable(c.tables.textClasses));
    if (c.tables.textNotes) out.push(mdTable(c.tables.textNotes));
  }
  if (c.texts.length) {
    out.push('## Text examples', '', `${TEXT_LEGEND} Markdown: ~~struck~~ in the original, **bold** in the adversarial.`, '');
    for (const g of c.texts) {
      out.push(`### ${md(g.attack.attack)} on ${md(g.run.title)}`, '', md(shownText(g)), '');
      for (const x of g.examples) {
        const parts = partsOf(x);
        out.push(`- ${mdFacts(x)}`);
        out.push(`  - original: ${mdSide(parts, 'original')}`);
        out.push(`  - adversarial: ${mdSide(parts, 'adversarial')}`);
      }
      out.push('');
    }
    if (c.across.length) {
      out.push('## The same examples across runs', '');
      for (const g of c.across) {
        out.push(`### ${md(g.attack)}: the same examples in each run`, '');
        for (const row of g.rows) {
          out.push(`- #${row.index} · label **${md(row.label)}**: ${mdSide(acrossOriginal(row), 'original')}`);
          row.perRun.forEach((x, i) => out.push(`  - ${md(g.runs[i].title)}: **${md(exampleFacts(x!).after)}** (${x!.status}): ${mdSide(partsOf(x!), 'adversarial')}`));
        }
        out.push('');
      }
    }
  }
  if (c.tables.versions.length) out.push('## Robustness over versions', '', ...c.tables.versions.map(mdTable));
  if (c.tables.perLabel.length) out.push('## Per label', '', ...c.tables.perLabel.map(mdTable));
  if (c.tables.training.length) out.push('## Training', '', ...c.tables.training.flatMap((t) => t.tables.map(mdTable)));
  out.push('## Environment', '', mdTable(c.tables.environment));
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}
