import { describe, expect, it } from 'vitest';
import { diffText, elide, exampleParts, markedOriginal, type Part, type Segment, sideSegments } from './text-diff.js';

const changed = (s: Segment[]) => s.filter((x) => x.changed).map((x) => x.text);
const join = (s: Segment[]) => s.map((x) => x.text).join('');
const side = (parts: Part[], which: 'original' | 'adversarial') => join(sideSegments(parts, which));

describe('diffText', () => {
  it('marks a swapped word whole and keeps the rest, whitespace included', () => {
    const d = diffText('a  truly wonderful film', 'a  truly wonderful movie');
    expect(join(d.original)).toBe('a  truly wonderful film');
    expect(join(d.adversarial)).toBe('a  truly wonderful movie');
    expect(changed(d.original)).toEqual(['film']);
    expect(changed(d.adversarial)).toEqual(['movie']);
  });

  it('diffs by word, never inside a word: Return → Retrovert and a typo are whole-word swaps', () => {
    const d = diffText('Return the form', 'Retrovert the form');
    expect(changed(d.original)).toEqual(['Return']);
    expect(changed(d.adversarial)).toEqual(['Retrovert']);
    const t = diffText('a wonderful film', 'a wondreful film');
    expect(changed(t.original)).toEqual(['wonderful']);
    expect(changed(t.adversarial)).toEqual(['wondreful']);
  });

  it('handles insertions, deletions and identical texts, keeping the spacing of each side', () => {
    expect(changed(diffText('good film', 'good bad film').adversarial)).toEqual(['bad ']);
    expect(changed(diffText('good bad film', 'good film').original)).toEqual(['bad ']);
    expect(changed(diffText('same text', 'same text').original)).toEqual([]);
    expect(diffText('', 'new').adversarial).toEqual([{ text: 'new', changed: true }]);
    // one word became three: each side is exactly its own text
    const d = diffText('fine <b> here', 'fine <i a=1 b=2> here');
    expect(join(d.original)).toBe('fine <b> here');
    expect(join(d.adversarial)).toBe('fine <i a=1 b=2> here');
  });
});

describe('exampleParts', () => {
  it('uses the recorded word changes of a compact record (no perturbed text stored)', () => {
    const x = { original: 'Return this form for a free prize', changed: [{ start: 0, end: 6, before: 'Return', after: 'Retrovert' }, { start: 23, end: 27, before: 'free', after: 'gratis' }] };
    const parts = exampleParts(x);
    expect(parts.filter((p) => !('same' in p))).toEqual([{ before: 'Return', after: 'Retrovert' }, { before: 'free', after: 'gratis' }]);
    expect(side(parts, 'original')).toBe(x.original);
    expect(side(parts, 'adversarial')).toBe('Retrovert this form for a gratis prize');
  });

  it('falls back to a word diff when the changes do not match the texts', () => {
    const parts = exampleParts({ original: 'a good film', perturbed: 'a fine movie', changed: [{ start: 2, end: 6, before: 'bad', after: 'fine' }] });
    expect(side(parts, 'adversarial')).toBe('a fine movie');
    expect(parts.filter((p) => !('same' in p))).toEqual([{ before: 'good', after: 'fine' }, { before: 'film', after: 'movie' }]);
  });
});

describe('elide', () => {
  const words = (n: number, w = 'w') => Array.from({ length: n }, (_, i) => `${w}${i}`).join(' ');

  it('keeps context words around each change and shortens the rest, the same on both sides', () => {
    const original = `${words(40, 'a')} bad ${words(40, 'b')} worse ${words(40, 'c')}`;
    const start1 = original.indexOf('bad');
    const start2 = original.indexOf('worse');
    const parts = elide(exampleParts({ original, changed: [{ start: start1, end: start1 + 3, before: 'bad', after: 'good' }, { start: start2, end: start2 + 5, before: 'worse', after: 'better' }] }), 5);
    const o = side(parts, 'original');
    const a = side(parts, 'adversarial');
    expect(o).toBe(`… a35 a36 a37 a38 a39 bad b0 b1 b2 b3 b4 … b35 b36 b37 b38 b39 worse c0 c1 c2 c3 c4 …`);
    expect(a).toBe(o.replace('bad', 'good').replace('worse', 'better'));
  });

  it('shortens an unchanged text to its first words and leaves short texts alone', () => {
    expect(side(elide([{ same: words(50) }], 5), 'original')).toBe(`${words(10)} …`);
    expect(side(elide([{ same: 'short text' }, { before: 'x', after: 'y' }], 5), 'original')).toBe('short textx');
  });
});

describe('markedOriginal', () => {
  it('marks the words any run changed, overlapping or repeated spans once', () => {
    const original = 'free prize now';
    const parts = markedOriginal(original, [{ start: 0, end: 4, before: 'free' }, { start: 5, end: 10, before: 'prize' }, { start: 0, end: 4, before: 'free' }, { start: 5, end: 10, before: 'wrong' }]);
    expect(changed(sideSegments(parts, 'original'))).toEqual(['free', 'prize']);
    expect(side(parts, 'original')).toBe(original);
  });
});
