import { describe, expect, it } from 'vitest';
import { diffText, type Segment } from './text-diff.js';

const changed = (s: Segment[]) => s.filter((x) => x.changed).map((x) => x.text);
const join = (s: Segment[]) => s.map((x) => x.text).join('');

describe('diffText', () => {
  it('marks a swapped word whole and keeps the rest, whitespace included', () => {
    const d = diffText('a  truly wonderful film', 'a  truly wonderful movie');
    expect(join(d.original)).toBe('a  truly wonderful film');
    expect(join(d.adversarial)).toBe('a  truly wonderful movie');
    expect(changed(d.original)).toEqual(['film']);
    expect(changed(d.adversarial)).toEqual(['movie']);
  });

  it('marks only the changed characters of a typo-style edit', () => {
    const d = diffText('a wonderful film', 'a wondreful film');
    expect(join(d.adversarial)).toBe('a wondreful film');
    expect(changed(d.adversarial).join('')).toHaveLength(1);
    expect(changed(d.original).join('')).toHaveLength(1);
  });

  it('handles insertions, deletions and identical texts', () => {
    expect(changed(diffText('good film', 'good bad film').adversarial)).toEqual(['bad']);
    expect(changed(diffText('good bad film', 'good film').original)).toEqual(['bad']);
    expect(changed(diffText('same text', 'same text').original)).toEqual([]);
    expect(diffText('', 'new').adversarial).toEqual([{ text: 'new', changed: true }]);
  });
});
