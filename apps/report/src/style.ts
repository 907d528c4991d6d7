/** The report's stylesheet (inline; no web fonts, no external files). */
export const STYLE = `
:root { color-scheme: light; --fg: #1d232a; --muted: #5b6570; --line: #d9dee3; --bad: #c0392b; --good: #1e7d46; --bg2: #f5f7f9; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); margin: 0 auto; max-width: 1180px; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 32px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; } h3 { font-size: 15px; margin: 18px 0 6px; }
.meta { color: var(--muted); margin: 4px 0 12px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin-bottom: 12px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 260px; background: var(--bg2); }
.card h3 { margin: 0 0 6px; overflow-wrap: anywhere; } .card p { margin: 2px 0; }
.big { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; margin-right: 4px; }
.table-wrap { overflow-x: auto; margin: 8px 0 16px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 4px 0; color: var(--muted); }
th, td { border-bottom: 1px solid var(--line); padding: 3px 10px; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: var(--bg2); white-space: nowrap; } td.n { text-align: right; white-space: nowrap; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; } figcaption { font-weight: 600; color: var(--muted); margin: 4px 0; }
figure.chart svg { max-width: 100%; height: auto; display: block; }
table.images td { text-align: center; border: none; padding: 2px 3px; }
table.images img { image-rendering: pixelated; display: block; border: 2px solid transparent; }
table.images td.fooled img { border-color: var(--bad); } table.images td.held img { border-color: var(--good); } table.images td.wrong img { border-color: #aab2ba; }
.cap { display: block; font-size: 12px; color: var(--muted); white-space: nowrap; }
table.fit { font-size: 12.5px; width: 100%; } table.fit th { white-space: normal; vertical-align: bottom; overflow-wrap: normal; } table.fit th, table.fit td { padding: 3px 6px; } table.fit td { overflow-wrap: normal; }
ul.texts { list-style: none; padding: 0; } ul.texts li { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; margin: 8px 0; }
ul.texts li.fooled, table.across td.fooled { border-left: 4px solid var(--bad); } ul.texts li.held, table.across td.held { border-left: 4px solid var(--good); }
.muted { color: var(--muted); }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.side { display: block; font-size: 11px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.orig, .adv { white-space: pre-wrap; overflow-wrap: anywhere; margin-top: 4px; }
table.across { width: 100%; table-layout: fixed; } table.across td { font-size: 13px; } table.across th { white-space: normal; }
del { background: #fbe0dc; color: #8e1f12; } ins { background: #d9f2e1; color: #135c31; text-decoration: none; font-weight: 600; }
@media (max-width: 720px) { .pair { grid-template-columns: 1fr; } }
`;
