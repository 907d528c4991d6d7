import { describe, expect, it } from 'vitest';
import { escapeHtml, escapeMarkdown } from './escape.js';
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
    expect(escapeMarkdown(HOSTILE.script)).toBe('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(escapeMarkdown(HOSTILE.md)).toBe('\\| \\*\\*bold\\*\\* \\[link\\](javascript:alert(1)) \\`code\\`');
    expect(escapeMarkdown('two\nlines\r\nhere')).toBe('two lines here');
    expect(escapeMarkdown('a\\b')).toBe('a\\\\b');
  });
});
