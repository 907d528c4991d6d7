import { perturbedText, type TextExample } from '@parry/metrics';

/** A run of text that is unchanged or changed between the original and the adversarial. */
export interface Segment {
  text: string;
  changed: boolean;
}

/** Aligned text: a stretch both sides share, or a word (or words) the attack swapped, removed or inserted. */
export type Part = { same: string } | { before: string; after: string };

type Op = { kind: 'same' | 'del' | 'ins'; a?: number; b?: number };

/** Longest-common-subsequence diff of two token lists (O(n*m); fine for sentences and short paragraphs). */
function lcsDiff<T>(a: T[], b: T[]): Op[] {
  const n = a.length;
  const m = b.length;
  const table = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) table[i][j] = a[i] === b[j] ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) ops.push({ kind: 'same', a: i++, b: j++ });
    else if (table[i + 1][j] >= table[i][j + 1]) ops.push({ kind: 'del', a: i++ });
    else ops.push({ kind: 'ins', b: j++ });
  }
  while (i < n) ops.push({ kind: 'del', a: i++ });
  while (j < m) ops.push({ kind: 'ins', b: j++ });
  return ops;
}

function pushSame(out: Part[], text: string): void {
  if (!text) return;
  const last = out[out.length - 1];
  if (last && 'same' in last) last.same += text;
  else out.push({ same: text });
}

const MAX_TOKENS = 2000;

/**
 * Align two texts by words, keeping whitespace as it was: a replaced word is one swap (`before` → `after`), whole
 * words only, never a character-level diff inside a word (so "Return" → "Retrovert" reads as one swapped word).
 */
export function alignTexts(original: string, adversarial: string): Part[] {
  if (original === adversarial) return original ? [{ same: original }] : [];
  const split = (s: string) => s.split(/(\s+)/).filter((t) => t !== '');
  const a = split(original);
  const b = split(adversarial);
  if (a.length > MAX_TOKENS || b.length > MAX_TOKENS) return [{ before: original, after: adversarial }];
  const out: Part[] = [];
  const ops = lcsDiff(a, b);
  for (let k = 0; k < ops.length; ) {
    if (ops[k].kind === 'same') {
      pushSame(out, a[ops[k++].a!]);
      continue;
    }
    // a block of deletions and insertions: word by word when both sides have the same words and spacing, else one swap
    const dels: string[] = [];
    const ins: string[] = [];
    while (k < ops.length && ops[k].kind !== 'same') {
      const op = ops[k++];
      if (op.kind === 'del') dels.push(a[op.a!]);
      else ins.push(b[op.b!]);
    }
    const spaces = (xs: string[]) => xs.filter((t) => !/\S/.test(t)).join('|');
    const words = (xs: string[]) => xs.filter((t) => /\S/.test(t));
    if (words(dels).length === words(ins).length && spaces(dels) === spaces(ins) && dels.length === ins.length) {
      dels.forEach((t, p) => (/\S/.test(t) ? out.push({ before: t, after: ins[p] }) : pushSame(out, t)));
    } else out.push({ before: dels.join(''), after: ins.join('') });
  }
  return out;
}

/**
 * The aligned text of a results example: from its recorded word changes (offsets in the original) when they are
 * consistent, else from a word diff of the original and the perturbed text.
 */
export function exampleParts(x: Pick<TextExample, 'original' | 'perturbed' | 'changed'>): Part[] {
  const adversarial = perturbedText(x);
  const parts: Part[] = [];
  let pos = 0;
  let ok = true;
  for (const c of x.changed) {
    if (c.start < pos || c.end < c.start || c.end > x.original.length || x.original.slice(c.start, c.end) !== c.before) {
      ok = false;
      break;
    }
    pushSame(parts, x.original.slice(pos, c.start));
    if (c.before !== c.after) parts.push({ before: c.before, after: c.after });
    else pushSame(parts, c.before);
    pos = c.end;
  }
  if (ok) {
    pushSame(parts, x.original.slice(pos));
    const rebuilt = parts.map((p) => ('same' in p ? p.same : p.after)).join('');
    if (rebuilt === adversarial) return parts;
  }
  return alignTexts(x.original, adversarial);
}

/** The original text with the words that any of several attacks changed marked (for a side-by-side row). */
export function markedOriginal(original: string, spans: readonly { start: number; end: number; before: string }[]): Part[] {
  const sorted = spans.filter((c) => c.end > c.start && c.end <= original.length && original.slice(c.start, c.end) === c.before).sort((a, b) => a.start - b.start || b.end - a.end);
  const parts: Part[] = [];
  let pos = 0;
  for (const c of sorted) {
    if (c.start < pos) continue;
    pushSame(parts, original.slice(pos, c.start));
    parts.push({ before: c.before, after: c.before });
    pos = c.end;
  }
  pushSame(parts, original.slice(pos));
  return parts;
}

/**
 * Shorten long unchanged stretches to `context` words on each side of a change ("…" in between), the same on both
 * sides, so a long e-mail shows its swaps rather than pages of text.
 */
export function elide(parts: Part[], context = 15): Part[] {
  if (!parts.some((p) => !('same' in p))) return parts.map((p) => ('same' in p ? { same: clipWords(p.same, 2 * context, 0, true, true) } : p));
  return parts.map((p, i) => {
    if (!('same' in p)) return p;
    const first = i === 0;
    const last = i === parts.length - 1;
    return { same: clipWords(p.same, first ? 0 : context, last ? 0 : context, first, last) };
  });
}

/** Offsets of the words (non-space runs) of `s`. */
const wordSpans = (s: string) => [...s.matchAll(/\S+/g)].map((m) => ({ start: m.index, end: m.index + m[0].length }));

/**
 * Keep the first `head` and the last `tail` words of `s` with the spacing around them, "…" for what is left out;
 * `atStart` (the text before the first change) keeps only its last `tail` words, `atEnd` only its first `head`.
 */
function clipWords(s: string, head: number, tail: number, atStart = false, atEnd = false): string {
  const w = wordSpans(s);
  if (atStart && atEnd) return w.length > head + tail ? `${s.slice(0, w[head + tail - 1].end)} …` : s;
  if (atStart) return w.length > tail ? `… ${s.slice(w[w.length - tail].start)}` : s;
  if (atEnd) return w.length > head ? `${s.slice(0, w[head - 1].end)} …` : s;
  if (w.length <= head + tail + 4) return s;
  return `${s.slice(0, w[head - 1].end)} … ${s.slice(w[w.length - tail].start)}`;
}

/** One side of aligned text as segments: `original` (swapped words as before) or `adversarial` (as after). */
export function sideSegments(parts: Part[], side: 'original' | 'adversarial'): Segment[] {
  const out: Segment[] = [];
  for (const p of parts) {
    const text = 'same' in p ? p.same : side === 'original' ? p.before : p.after;
    const changed = !('same' in p) && /\S/.test(text);
    if (!text) continue;
    const last = out[out.length - 1];
    if (last && last.changed === changed && !changed) last.text += text;
    else out.push({ text, changed });
  }
  return out;
}

/**
 * Diff two texts by words, keeping whitespace as it was; returns the original and the adversarial as segments whose
 * `changed` parts (whole words) the report highlights.
 */
export function diffText(original: string, adversarial: string): { original: Segment[]; adversarial: Segment[] } {
  const parts = alignTexts(original, adversarial);
  return { original: sideSegments(parts, 'original'), adversarial: sideSegments(parts, 'adversarial') };
}
