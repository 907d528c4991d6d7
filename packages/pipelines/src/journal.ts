/**
 * The per-example record journal of a resumable evaluation (`parry eval --resume`): an append-only file next to the
 * results file (`<results>.records.jsonl`). Its first line names the run (its configuration); every further line is one
 * finished unit of one attack (text: an example; image: a batch). Each line is written with one `write` and carries a SHA-256 checksum of its content,
 * so a line cut by `kill -9` (or damaged later) is recognised and that example is simply attacked again.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { type TextAttackRecord, UsageError } from '@parry/core';

export const JOURNAL_KIND = 'parry-eval-journal';
const JOURNAL_VERSION = 1;

const checksum = (body: string) => createHash('sha256').update(body).digest('hex').slice(0, 16);

/** One journal line: the JSON of `value` with its checksum. */
function line(value: unknown): string {
  const body = JSON.stringify(value);
  return `${JSON.stringify({ sum: checksum(body), body })}\n`;
}

/** The value of one journal line, or undefined when it is cut, damaged or not JSON. */
function parseLine(text: string): unknown {
  try {
    const { sum, body } = JSON.parse(text) as { sum?: unknown; body?: unknown };
    if (typeof body !== 'string' || sum !== checksum(body)) return undefined;
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** The journal file of a results file. */
export const journalPath = (resultsFile: string) => `${resultsFile}.records.jsonl`;

/** A journal record: a finished unit of work with its position in the run (text: an example; image: a batch). */
export interface JournalRecord {
  index: number;
}

export interface Journal<R extends JournalRecord = TextAttackRecord> {
  file: string;
  /** Records of finished units per attack (by attack position), keyed by their `index` in the run. */
  done(attack: number): Map<number, R>;
  /** Append one finished unit (one write). */
  append(attack: number, record: R): void;
  /** Examples read back from an earlier run, and lines dropped as cut or damaged. */
  resumed: { records: number; dropped: number };
  close(): void;
  /** Close and delete the journal (the results file now holds everything). */
  remove(): void;
}

/**
 * Open the journal of a run whose configuration is `config`: with `resume`, read back the examples an earlier run of
 * the same configuration finished (refused in one line when the journal is of another run); without it, refuse a
 * journal that holds finished examples (`--resume` continues it, `--force` starts over) and start a new one.
 */
export function openJournal<R extends JournalRecord = TextAttackRecord>(resultsFile: string, config: unknown, o: { resume?: boolean; force?: boolean }): Journal<R> {
  const file = journalPath(resultsFile);
  const head = { kind: JOURNAL_KIND, version: JOURNAL_VERSION, config };
  const done = new Map<number, Map<number, R>>();
  const resumed = { records: 0, dropped: 0 };
  let fresh = true;
  if (fs.existsSync(file)) {
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
    const first = lines.length ? (parseLine(lines[0]) as { kind?: unknown; config?: unknown } | undefined) : undefined;
    const same = first?.kind === JOURNAL_KIND && JSON.stringify(first.config) === JSON.stringify(config);
    if (o.resume) {
      if (first && !same) throw new UsageError(`--resume: ${file} is the record journal of another run (other model, data, attacks, seed or options); repeat that run's command, or delete the journal to start over`);
      if (first) {
        fresh = false;
        for (const l of lines.slice(1)) {
          const v = parseLine(l) as { attack?: unknown; record?: R } | undefined;
          if (!v || typeof v.attack !== 'number' || !v.record || typeof v.record.index !== 'number') {
            resumed.dropped++;
            continue;
          }
          let m = done.get(v.attack);
          if (!m) done.set(v.attack, (m = new Map()));
          if (!m.has(v.record.index)) resumed.records++;
          m.set(v.record.index, v.record);
        }
      }
    } else if (lines.length > 1 && !o.force) {
      throw new UsageError(`${file} holds ${lines.length - 1} finished examples of an interrupted run; pass --resume to continue it, or --force to start over`);
    }
  }
  if (fresh) fs.writeFileSync(file, line(head));
  else {
    // a cut last line would glue onto the next append: end the file on a line break
    const text = fs.readFileSync(file, 'utf8');
    if (!text.endsWith('\n')) fs.appendFileSync(file, '\n');
  }
  const fd = fs.openSync(file, 'a');
  let open = true;
  return {
    file,
    resumed,
    done: (attack) => new Map(done.get(attack) ?? []),
    append(attack, record) {
      fs.writeSync(fd, line({ attack, record }));
    },
    close() {
      if (open) fs.closeSync(fd);
      open = false;
    },
    remove() {
      this.close();
      fs.rmSync(file, { force: true });
    },
  };
}
