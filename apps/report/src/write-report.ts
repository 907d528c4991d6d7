import * as path from 'node:path';
import { UsageError, writeFileAtomic } from '@parry/core';
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
 * atomically. A missing or invalid file throws an `InputError` naming it before anything is written.
 */
export async function writeReport(files: string[], outDir: string, options: RenderOptions = {}): Promise<WrittenReport> {
  if (files.length === 0) throw new UsageError('no results file given; pass one or more, e.g. `parry report runs/results.json -o runs/report`');
  const sources = files.map((file) => ({ file, results: readResults(file) }));
  const { html, markdown } = await renderReport(sources, options);
  const written = { html: path.join(outDir, REPORT_HTML), markdown: path.join(outDir, REPORT_MARKDOWN) };
  writeFileAtomic(written.markdown, markdown);
  writeFileAtomic(written.html, html);
  return written;
}
