/** A run of text that is unchanged or changed between the original and the adversarial. */
export interface Segment {
  text: string;
  changed: boolean;
}

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

function push(out: Segment[], text: string, changed: boolean): void {
  if (!text) return;
  const last = out[out.length - 1];
  if (last && last.changed === changed) last.text += text;
  else out.push({ text, changed });
}

/** Character-level segments of a word that was edited in place (a typo-style attack), from its original and new form. */
function charSegments(from: string, to: string): [Segment[], Segment[]] {
  const a = [...from];
  const b = [...to];
  const left: Segment[] = [];
  const right: Segment[] = [];
  for (const op of lcsDiff(a, b)) {
    if (op.kind === 'same') {
      push(left, a[op.a!], false);
      push(right, b[op.b!], false);
    } else if (op.kind === 'del') push(left, a[op.a!], true);
    else push(right, b[op.b!], true);
  }
  return [left, right];
}

const MAX_TOKENS = 2000;

/**
 * Diff two texts by words, keeping whitespace as it was. A word replaced by a similar word (most characters kept, as
 * character-level attacks do) is marked character by character; other replaced, removed or inserted words whole.
 * Returns the original and the adversarial as segments whose `changed` parts the report highlights.
 */
export function diffText(original: string, adversarial: string): { original: Segment[]; adversarial: Segment[] } {
  const split = (s: string) => s.split(/(\s+)/).filter((t) => t !== '');
  const a = split(original);
  const b = split(adversarial);
  if (a.length > MAX_TOKENS || b.length > MAX_TOKENS) {
    const same = original === adversarial;
    return { original: [{ text: original, changed: !same }], adversarial: [{ text: adversarial, changed: !same }] };
  }
  const left: Segment[] = [];
  const right: Segment[] = [];
  const ops = lcsDiff(a, b);
  for (let k = 0; k < ops.length; ) {
    const op = ops[k];
    if (op.kind === 'same') {
      push(left, a[op.a!], false);
      push(right, b[op.b!], false);
      k++;
      continue;
    }
    // a block of deletions and insertions: pair them up in order, like a replacement
    const dels: number[] = [];
    const ins: number[] = [];
    while (k < ops.length && ops[k].kind !== 'same') {
      if (ops[k].kind === 'del') dels.push(ops[k].a!);
      else ins.push(ops[k].b!);
      k++;
    }
    const pairs = Math.max(dels.length, ins.length);
    for (let p = 0; p < pairs; p++) {
      const from = p < dels.length ? a[dels[p]] : undefined;
      const to = p < ins.length ? b[ins[p]] : undefined;
      if (from !== undefined && to !== undefined && /\S/.test(from) && /\S/.test(to) && similar(from, to)) {
        const [l, r] = charSegments(from, to);
        for (const s of l) push(left, s.text, s.changed);
        for (const s of r) push(right, s.text, s.changed);
      } else {
        if (from !== undefined) push(left, from, /\S/.test(from));
        if (to !== undefined) push(right, to, /\S/.test(to));
      }
    }
  }
  return { original: left, adversarial: right };
}

/** Two words count as one edited word when at least half of the longer one's characters are shared in order. */
function similar(a: string, b: string): boolean {
  const same = lcsDiff([...a], [...b]).filter((o) => o.kind === 'same').length;
  return same * 2 >= Math.max([...a].length, [...b].length) && same > 0;
}
