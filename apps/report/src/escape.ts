const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/**
 * Escape any value for HTML text and for double- or single-quoted attribute values: `<script>` shows as text and
 * `" onerror="x` cannot close an attribute. Every string that comes from a results file goes through here.
 */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'`]/g, (c) => HTML_ENTITIES[c]);
}

/**
 * Escape a value for Markdown text and table cells: HTML-significant characters become entities (so raw HTML in
 * data is never interpreted), Markdown syntax characters are backslash-escaped, and line breaks become spaces.
 */
export function escapeMarkdown(value: unknown): string {
  return String(value)
    .replace(/\r?\n|\r/g, ' ')
    .replace(/[\\`*_[\]|~]/g, (c) => `\\${c}`)
    .replace(/[&<>"]/g, (c) => HTML_ENTITIES[c]);
}
