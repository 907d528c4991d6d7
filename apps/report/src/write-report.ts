import * as path from 'node:path';
import { guardOutput, OUTPUT_MANIFEST, readOutputManifest, REPORT_FILES, UsageError, writeFileAtomic } from '@parry/core';
import { readResults } from '@parry/metrics';
import { type RenderOptions, renderReport } from './render.js';

export interface WrittenReport {
  html: string;
  markdown: string;
}

/** File names inside the output folder. */
export const REPORT_HTML = 'report.html';
export const REPORT_MARKDOWN = 'report.md';

/**
 * Read and validate results files, render them, and write `report.html` and `report.md` into `outDir`, each
 * atomically. A missing or invalid file throws an `InputError` naming it before anything is written. An existing
 * report.html / report.md that Parry did not write is refused unless `force` (`guardOutput`); other files in the
 * folder are left alone.
 */
export async function writeReport(files: string[], outDir: string, options: RenderOptions & { force?: boolean } = {}): Promise<WrittenReport> {
  guardOutput(outDir, { kind: 'report', flag: '-o', force: options.force, protect: files.map((f) => ({ path: f, flag: 'results file' })) });
  if (files.length === 0) throw new UsageError('no results file given; pass one or more, e.g. `parry report runs/results.json -o runs/report`');
  const sources = files.map((file) => ({ file, results: readResults(file) }));
  const { html, markdown } = await renderReport(sources, options);
  const written = { html: path.join(outDir, REPORT_HTML), markdown: path.join(outDir, REPORT_MARKDOWN) };
  writeFileAtomic(written.markdown, markdown);
  writeFileAtomic(written.html, html);
  // record the two files as Parry's, so the next report may replace them (and nothing else in the folder)
  const manifest = readOutputManifest(outDir);
  const listed = manifest?.kind === 'report' ? manifest.files : [];
  writeFileAtomic(path.join(outDir, OUTPUT_MANIFEST), `${JSON.stringify({ format: 'parry-output', version: 1, kind: 'report', files: [...new Set([...listed, ...REPORT_FILES])].sort(), createdAt: new Date().toISOString() }, null, 2)}\n`);
  return written;
}
