export { renderReport, reportContent, type RenderOptions, type RenderedReport, type ReportContent } from './render.js';
export { writeReport, REPORT_HTML, REPORT_MARKDOWN, type WrittenReport } from './write-report.js';
export { renderSvg, reportCharts, type Chart } from './charts.js';
export { escapeHtml, escapeMarkdown } from './escape.js';
export { diffText, type Segment } from './text-diff.js';
export { groupRuns, type ReportSource, type Run, type Table } from './model.js';
