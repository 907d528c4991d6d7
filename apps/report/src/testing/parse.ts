// Read tables and headline numbers back out of a rendered report, for tests that compare the HTML and the Markdown.

export interface ParsedTable {
  caption: string;
  columns: string[];
  rows: string[][];
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#96;': '`', '&nbsp;': '\u00a0' };
export const unescapeHtml = (s: string) => s.replace(/&(amp|lt|gt|quot|#39|#96|nbsp);/g, (e) => ENTITIES[e]);
/** Markdown cells use backslash escapes only (no entities): undo them. */
const unescapeMarkdown = (s: string) => s.replace(/\\([\\`*_[\]|~<>&])/g, '$1');

/** Every `<table data-table=...>` of a report. */
export function htmlTables(html: string): ParsedTable[] {
  const out: ParsedTable[] = [];
  for (const m of html.matchAll(/<table id="table-[^"]*" data-table="[^"]*"[^>]*><caption>(.*?)<\/caption><thead><tr>(.*?)<\/tr><\/thead><tbody>(.*?)<\/tbody><\/table>/gs)) {
    const cells = (row: string) => [...row.matchAll(/<t[hd][^>]*>(.*?)<\/t[hd]>/gs)].map((c) => unescapeHtml(c[1]));
    out.push({ caption: unescapeHtml(m[1]), columns: cells(m[2]), rows: [...m[3].matchAll(/<tr>(.*?)<\/tr>/gs)].map((r) => cells(r[1])) });
  }
  return out;
}

/** Every table of a Markdown report (a `**caption**` line, a header row, a separator and rows). */
export function markdownTables(markdown: string): ParsedTable[] {
  const lines = markdown.split('\n');
  const out: ParsedTable[] = [];
  const split = (line: string) =>
    line
      .slice(2, -2)
      .split(/(?<!\\) \| /)
      .map((c) => unescapeMarkdown(c));
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith('| ') && lines[i + 1]?.startsWith('|---')) {
      const caption = unescapeMarkdown(lines[i - 2].replace(/^\*\*(.*)\*\*$/, '$1'));
      const rows: string[][] = [];
      let j = i + 2;
      for (; j < lines.length && lines[j].startsWith('| '); j++) rows.push(split(lines[j]));
      out.push({ caption, columns: split(lines[i]), rows });
      i = j;
    }
  }
  return out;
}

/** All numbers in a list of strings (percentages as written, e.g. "97.20"). */
export const numbers = (cells: string[]) => cells.flatMap((c) => [...c.matchAll(/-?\d+(?:\.\d+)?/g)].map((m) => m[0]));
