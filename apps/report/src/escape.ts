const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/**
 * Controls that change text direction: embeddings and overrides (U+202A–U+202E), isolates (U+2066–U+2069), the
 * left-to-right and right-to-left marks (U+200E, U+200F) and the Arabic letter mark (U+061C). In data they can
 * visually reorder a line of the report (a headline, a table row), so they are never passed through.
 */
export const BIDI_CONTROLS: readonly string[] = ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069', '\u200E', '\u200F', '\u061C'];
const BIDI_RE = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/g;

/** Show each bidi control as its code point, `[U+202E]`: the text keeps its order and the reader sees what was there. */
export function neutraliseBidi(value: unknown): string {
  return String(value).replace(BIDI_RE, (c) => `[U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`);
}

/**
 * Escape any value for HTML text and for double- or single-quoted attribute values: `<script>` shows as text and
 * `" onerror="x` cannot close an attribute. Every string that comes from a results file goes through here;
 * bidi controls are shown as code points (`neutraliseBidi`).
 */
export function escapeHtml(value: unknown): string {
  return neutraliseBidi(value).replace(/[&<>"'`]/g, (c) => HTML_ENTITIES[c]);
}

/**
 * Escape a value for Markdown text and table cells with backslashes only (CommonMark escapes any ASCII punctuation):
 * `\<script>` shows as text and never opens raw HTML, `\&amp;` shows as typed, Markdown syntax characters stay
 * literal; no HTML entities, so the Markdown reads the same as text. Line breaks become spaces; bidi controls are
 * shown as code points (before the brackets are escaped, so they never form a link).
 */
export function escapeMarkdown(value: unknown): string {
  return neutraliseBidi(value)
    .replace(/\r?\n|\r/g, ' ')
    .replace(/[\\`*_[\]|~<>&]/g, (c) => `\\${c}`);
}
