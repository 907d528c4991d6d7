/** Character-level resources: QWERTY neighbours (typo noise) and homoglyphs (visual look-alikes). */

const KEYBOARD_ROWS = ['qwertyuiop', 'asdfghjkl', 'zxcvbnm'];
/** QWERTY neighbours of each lower-case letter: same row left/right, and the keys above/below at offsets 0 and +-1. */
export const KEYBOARD_NEIGHBOURS: Readonly<Record<string, string>> = (() => {
  const pos = new Map<string, [number, number]>();
  KEYBOARD_ROWS.forEach((row, r) => [...row].forEach((c, i) => pos.set(c, [r, i])));
  const out: Record<string, string> = {};
  for (const [c, [r, i]] of pos) {
    let n = '';
    for (const [d, e] of pos) {
      if (d === c) continue;
      const [r2, i2] = e;
      const near = (r2 === r && Math.abs(i2 - i) === 1) || (Math.abs(r2 - r) === 1 && (i2 - i === 0 || i2 - i === (r2 > r ? -1 : 1)));
      if (near) n += d;
    }
    out[c] = n;
  }
  return out;
})();

/** Latin letters and a visually identical Cyrillic/Greek/other code point. */
export const HOMOGLYPHS: Readonly<Record<string, string>> = {
  a: '\u0430', c: '\u0441', d: '\u0501', e: '\u0435', h: '\u04bb', i: '\u0456', j: '\u0458', l: '\u04cf', o: '\u043e', p: '\u0440',
  s: '\u0455', x: '\u0445', y: '\u0443', A: '\u0410', B: '\u0412', C: '\u0421', E: '\u0415', H: '\u041d', K: '\u041a', M: '\u041c',
  O: '\u041e', P: '\u0420', T: '\u0422', X: '\u0425',
};
