import { UsageError } from '@parry/core';

/** `--eps 0.1,0.2,0.3` -> numbers; one line naming the bad value otherwise. */
export function parseNumberList(flag: string, text: string): number[] {
  const parts = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new UsageError(`${flag} needs at least one number, e.g. ${flag} 0.1,0.3`);
  return parts.map((p) => {
    const v = Number(p);
    if (!Number.isFinite(v)) throw new UsageError(`${flag}: "${p}" is not a number; e.g. ${flag} 0.1,0.3`);
    return v;
  });
}

export function parseInteger(flag: string, text: string, min = 1): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < min) throw new UsageError(`${flag} must be an integer >= ${min}, got "${text}"`);
  return v;
}

export function parsePositive(flag: string, text: string): number {
  const v = Number(text);
  if (!(Number.isFinite(v) && v > 0)) throw new UsageError(`${flag} must be a number > 0, got "${text}"`);
  return v;
}

export function parseRate(flag: string, text: string): number {
  const v = Number(text);
  if (!(Number.isFinite(v) && v >= 0 && v < 1)) throw new UsageError(`${flag} must be a number in [0, 1), got "${text}"`);
  return v;
}
