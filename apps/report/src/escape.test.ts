import { describe, expect, it } from 'vitest';
import { BIDI_CONTROLS, escapeHtml, escapeMarkdown, neutraliseBidi } from './escape.js';
import { HOSTILE } from './testing/fixtures.js';

describe('escaping', () => {
  it('turns every HTML-significant character into an entity', () => {
    expect(escapeHtml(HOSTILE.script)).toBe('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(escapeHtml(HOSTILE.attr)).toBe('&quot; onerror=&quot;alert(1)');
    expect(escapeHtml(HOSTILE.single)).toBe('&#39; onmouseover=&#39;alert(1)');
    expect(escapeHtml('a & b `c`')).toBe('a &amp; b &#96;c&#96;');
    expect(escapeHtml(42)).toBe('42');
    for (const s of Object.values(HOSTILE)) expect(escapeHtml(s)).not.toMatch(/[<>"'`]/);
  });

  it('keeps Markdown from interpreting HTML, tables, links and emphasis in data', () => {
    // backslash escapes only (CommonMark): no HTML entities in the Markdown, and no raw HTML either
    expect(escapeMarkdown(HOSTILE.script)).toBe('\\<script\\>alert(1)\\</script\\>');
    expect(escapeMarkdown('fish &amp; chips & "peas"')).toBe('fish \\&amp; chips \\& "peas"');
    for (const s of Object.values(HOSTILE)) {
      expect(escapeMarkdown(s)).not.toMatch(/&[a-z#0-9]+;/i);
      expect(escapeMarkdown(s)).not.toMatch(/(^|[^\\])[<>&]/); // every < > & is escaped
    }
    expect(escapeMarkdown(HOSTILE.md)).toBe('\\| \\*\\*bold\\*\\* \\[link\\](javascript:alert(1)) \\`code\\`');
    expect(escapeMarkdown('two\nlines\r\nhere')).toBe('two lines here');
    expect(escapeMarkdown('a\\b')).toBe('a\\\\b');
  });
});

describe('bidi controls (issue 14)', () => {
  it('escapeHtml and escapeMarkdown neutralise every control that changes text direction (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F, U+061C)', () => {
    const all = [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f, 0x061c].map((c) => String.fromCodePoint(c));
    expect(new Set(BIDI_CONTROLS)).toEqual(new Set(all));
    for (const c of all) {
      const name = `[U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`;
      expect(escapeHtml(`a${c}b`)).toBe(`a${name}b`);
      expect(escapeMarkdown(`a${c}b`)).toBe(`a\\${name.slice(0, -1)}\\]b`);
    }
    // a control followed by "(...)" must not become a Markdown link
    expect(escapeMarkdown('\u202E(javascript:alert(1))')).toBe('\\[U+202E\\](javascript:alert(1))');
    expect(neutraliseBidi('plain \u05d0\u05d1 text')).toBe('plain \u05d0\u05d1 text'); // RTL letters themselves stay
  });
});
