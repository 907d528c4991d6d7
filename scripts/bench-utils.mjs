/** Shared pieces of the benchmark scripts: run the built `parry` CLI, and replace a marked section of docs/benchmarks.md. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
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

/** Replace the text between the `<!-- name:start -->` and `<!-- name:end -->` markers (appending the section when absent). */
export function writeDocsSection(name, lines) {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const section = [start, '', ...lines, '', end].join('\n');
  const text = fs.existsSync(docs) ? fs.readFileSync(docs, 'utf8') : '# Benchmarks\n';
  const next = text.includes(start) ? text.replace(new RegExp(`${start}[\\s\\S]*?${end}`), () => section) : `${text.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(docs, next);
  process.stderr.write(`updated ${docs} (${name})\n`);
}
