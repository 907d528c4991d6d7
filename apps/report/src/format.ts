/** Number formats shared by the HTML and the Markdown, so both print the same digits. */
export const pct = (v: number | undefined | null): string => (v == null || !Number.isFinite(v) ? '-' : `${(100 * v).toFixed(2)}%`);
export const fixed = (v: number | undefined | null, digits: number): string => (v == null || !Number.isFinite(v) ? '-' : v.toFixed(digits));
/** Epsilon as written in the results (`null` is an unbounded minimization attack). */
export const eps = (e: number | null): string => (e === null ? 'unbounded' : String(e));
