/**
 * Shared pieces of the benchmark scripts: run the built `parry` CLI, replace a marked section of docs/benchmarks.md,
 * and the alternating Parry-against-PyTorch harness (one fresh process per measurement, engine order reversed every
 * round, the load average recorded before each run, medians over the rounds).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const cli = path.join(root, 'apps/cli/dist/bin.js');
export const docs = path.join(root, 'docs/benchmarks.md');
/** Real datasets: PARRY_DATA_DIR, else ../shared/data next to the repository. */
export const dataRoot = path.resolve(process.env.PARRY_DATA_DIR ?? path.join(root, '../shared/data'));

/** Run `parry <args>` (logging the command to stderr) and return its stdout; throws on a non-zero exit. */
export function parry(args) {
  process.stderr.write(`$ parry ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`parry ${args[0]} failed with exit code ${r.status}`);
  return r.stdout;
}

/** A JSON file's content, or undefined when it does not exist. */
export function readJson(file) {
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
}

/**
 * Replace the text between the `<!-- name:start -->` and `<!-- name:end -->` markers (appending the section when
 * absent), written atomically (temporary file + rename). `file` defaults to docs/benchmarks.md.
 */
export function writeDocsSection(name, lines, file = docs) {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const section = [start, '', ...lines, '', end].join('\n');
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  const next = text.includes(start) ? text.replace(new RegExp(`${start}[\\s\\S]*?${end}`), () => section) : `${text.trimEnd()}\n\n${section}\n`;
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, next);
  fs.renameSync(tmp, file);
  process.stderr.write(`updated ${file} (${name})\n`);
}

// ---------------------------------------------------------------------------------------------------------------
// Parry against PyTorch, alternating runs

export const CORES = os.cpus().length;
/** A run that starts at a 1-minute load average above this competed for the CPU: its cell is marked busy. */
export const BUSY_LOAD = CORES + 0.5;
/**
 * A run that starts while other processes used more than this many cores (sampled over the 2 s before it, from
 * /proc/stat) competed for the CPU: its cell is marked busy. Preferred to the load average where /proc/stat exists:
 * the 1-minute load average still counts the bench's own previous run for a minute or more after it ended.
 */
export const BUSY_CPU = 0.5;

/** Cores in use (all processes) over `ms` milliseconds, from /proc/stat; undefined where /proc/stat is missing. */
export function cpuInUse(ms = 2000) {
  const sample = () => {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  };
  try {
    const a = sample();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    const b = sample();
    const total = b.total - a.total;
    return total > 0 ? (CORES * (total - (b.idle - a.idle))) / total : 0;
  } catch {
    return undefined;
  }
}

/** Whether a run started on a busy machine: by its CPU sample when it has one, else by its load average. */
export const startedBusy = (run) => (run.cpuBefore != null ? run.cpuBefore > BUSY_CPU : run.loadBefore[0] > BUSY_LOAD);
/** Debian's python3-torch lives in the system Python, which a pyenv or venv `python3` on PATH may hide. */
export const PYTHON = process.env.PARRY_PYTHON ?? (fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

/** The median of a list of numbers (the mean of the middle two for an even count). */
export function median(values) {
  const x = [...values].sort((a, b) => a - b);
  const h = Math.floor(x.length / 2);
  return x.length % 2 ? x[h] : (x[h - 1] + x[h]) / 2;
}

/** The engines in the order a round runs them: as given on even rounds, reversed on odd ones. */
export function roundOrder(engines, round) {
  return round % 2 === 0 ? [...engines] : [...engines].reverse();
}

/**
 * One measurement in a fresh process: runs `cmd args` with OMP_NUM_THREADS = `threads`, parses the last stdout line
 * as JSON (on failure: `{ ...fallback, error }`), adds `extra`, the 1/5/15-minute load average before the run
 * (`loadBefore`) and the time (`at`), appends it to the JSON-lines `log` and prints `label: describe(out)` to stderr.
 */
export function runMeasurement(cmd, args, { threads, log, label, fallback = {}, extra = {}, describe = () => '', timeoutMs = 20 * 60_000 }) {
  const cpuBefore = cpuInUse();
  const loadBefore = os.loadavg();
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 26, env: { ...process.env, OMP_NUM_THREADS: String(threads) } });
  const line = (r.stdout ?? '').trim().split('\n').pop();
  let out;
  try {
    out = JSON.parse(line);
  } catch {
    out = { ...fallback, threads, error: `${(r.stderr ?? '').trim().split('\n').slice(-1)[0] || `exit ${r.status}`}` };
  }
  Object.assign(out, extra);
  out.loadBefore = loadBefore;
  if (cpuBefore !== undefined) out.cpuBefore = cpuBefore;
  out.at = new Date().toISOString();
  fs.mkdirSync(path.dirname(log), { recursive: true });
  fs.appendFileSync(log, `${JSON.stringify(out)}\n`);
  const busy = startedBusy(out) ? ', busy' : '';
  const cpu = cpuBefore !== undefined ? `, other CPU use before ${cpuBefore.toFixed(2)} cores` : '';
  process.stderr.write(`${label}: ${out.error ?? describe(out)} (load ${loadBefore[0].toFixed(1)}${cpu}${busy})\n`);
  return out;
}

/** The runs of a JSON-lines log (none when the file is missing). */
export function readRuns(log) {
  if (!fs.existsSync(log)) return [];
  return fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

/**
 * Why a PyTorch probe run must not be compared, or undefined when it may: it failed, or torch mapped no optimised
 * BLAS (Debian's python3-torch falls back to the reference BLAS, several times slower, without libopenblas0-pthread).
 */
export function torchBlasProblem(probe) {
  if (probe.error) return probe.error;
  if ((probe.blasLibs ?? []).some((l) => /openblas|mkl|blis/i.test(l))) return undefined;
  return `torch uses ${probe.blas} (${(probe.blasLibs ?? []).join(', ') || 'no optimised BLAS mapped'}); apt-get install libopenblas0-pthread`;
}

/**
 * The load range of some runs for a table cell (with the range of CPU in use before them where sampled), and whether
 * any of them started on a busy machine (`startedBusy`).
 */
export function loadRange(runs) {
  const loads = runs.map((r) => r.loadBefore[0]);
  const cpus = runs.map((r) => r.cpuBefore).filter((c) => c != null);
  const cpu = cpus.length === runs.length ? `; CPU in use before: ${Math.min(...cpus).toFixed(2)}–${Math.max(...cpus).toFixed(2)} cores` : '';
  return { text: `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}${cpu}`, busy: runs.some(startedBusy) };
}
