// Preloaded into every child the reliability suite spawns (`node --require`): on exit, write the process' peak
// resident set size (kB, from getrusage) to the file named by PARRY_RSS_FILE. The parent also polls /proc for a
// child it has to kill, which never reaches 'exit'.
'use strict';
const file = process.env.PARRY_RSS_FILE;
if (file) {
  process.on('exit', () => {
    try {
      require('node:fs').writeFileSync(file, String(process.resourceUsage().maxRSS));
    } catch {
      // the parent falls back to its /proc samples
    }
  });
}
