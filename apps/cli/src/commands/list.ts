import { out } from '../context.js';
import { pluginRegistry } from '../plugins.js';
import { listTextAttackComponents } from './text-attack.js';

/** `parry list`: every registered plugin with its options and defaults. */
export async function listCommand(o: { json?: boolean; plugin?: string[] }): Promise<void> {
  const info = (await pluginRegistry({ plugin: o.plugin })).registry.info();
  const text = listTextAttackComponents();
  if (o.json) {
    out(JSON.stringify([...info, ...text.map((t) => ({ ...t, kind: `text-${t.kind}`, facts: {} }))], null, 2));
    return;
  }
  for (const p of info) {
    out(`${p.name}  (${p.kind}) ${p.summary}`);
    const facts = Object.entries(p.facts).map(([k, v]) => `${k}: ${v}`).join('; ');
    if (facts) out(`  ${facts}`);
    for (const opt of p.options) {
      const def = opt.default === undefined ? '' : ` = ${JSON.stringify(opt.default)}`;
      out(`    --opt ${p.name.split('/')[1]}.${opt.name}  ${opt.type}${def}${opt.description ? `  ${opt.description}` : ''}`);
    }
    out('');
  }
  out('Text attacks (`parry eval --model <text model> --attack <recipe>`): recipes and the components they are built from');
  out('');
  for (const t of text) {
    out(`${t.name}  (text ${t.kind}) ${t.summary}`);
    for (const opt of t.options) {
      const def = opt.default === undefined ? '' : ` = ${JSON.stringify(opt.default)}`;
      out(`    ${opt.name}  ${opt.type}${def}${opt.description ? `  ${opt.description}` : ''}`);
    }
  }
}
