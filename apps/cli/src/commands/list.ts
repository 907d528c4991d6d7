import type { PluginInfo } from '@parry/core';
import { cliRegistry, out } from '../context.js';

/** The sections of `parry list`, in order: [title, kind, modality]. */
const SECTIONS: Array<[string, PluginInfo['kind'], PluginInfo['modality']]> = [
  ['Image attacks (`parry eval --model <image model> --attack <name> --opt <name>.<option>=<value>`)', 'attack', 'image'],
  ['Text attacks (`parry eval --model <text model> --attack <recipe> --opt <recipe>.<option>=<value>`)', 'attack', 'text'],
  ['Text attack components: goal functions (for recipes written with composeTextAttack)', 'goal', 'text'],
  ['Text attack components: transformations', 'transformation', 'text'],
  ['Text attack components: constraints', 'constraint', 'text'],
  ['Text attack components: search methods', 'search', 'text'],
  ['Image defenses (`parry train --defense <name> --def-opt <name>.<option>=<value>`)', 'defense', 'image'],
  ['Text defenses (`parry train --model <family|folder> --defense <name>`)', 'defense', 'text'],
];

/** `parry list`: every plugin of the one registry with its options and defaults, grouped by kind and modality. */
export async function listCommand(o: { json?: boolean; plugin?: string[] }): Promise<void> {
  const info = (await cliRegistry(o.plugin)).registry.info();
  if (o.json) {
    out(JSON.stringify(info, null, 2));
    return;
  }
  for (const [title, kind, modality] of SECTIONS) {
    const group = info.filter((p) => p.kind === kind && p.modality === modality);
    if (!group.length) continue;
    out(`== ${title}`);
    out('');
    const flag = kind === 'defense' ? '--def-opt' : kind === 'attack' ? '--opt' : '';
    for (const p of group) {
      out(`${p.name}  (${kind}) ${p.summary}`);
      const facts = Object.entries(p.facts).map(([k, v]) => `${k}: ${v}`).join('; ');
      if (facts) out(`  ${facts}`);
      for (const opt of p.options) {
        const def = opt.default === undefined ? '' : ` = ${JSON.stringify(opt.default)}`;
        const key = flag ? `${flag} ${p.name.split('/')[1]}.${opt.name}` : opt.name;
        out(`    ${key}  ${opt.type}${def}${opt.description ? `  ${opt.description}` : ''}`);
      }
      out('');
    }
  }
}
