/**
 * README's configuration table, generated from the settings table so the two cannot drift.
 * `scripts/config-table.ts` prints or writes it; a unit test fails when README's copy is stale.
 */
import { CROSS_FIELD_RULES, envOf, PRESENCE_RULES } from './rules.js';
import { type Setting, settingEntries } from './settings.js';

/** The command that rewrites README's table. */
export const CONFIG_TABLE_COMMAND = 'npx tsx scripts/config-table.ts --write';

/** The comments README's generated table sits between. */
export const CONFIG_TABLE_MARKERS = {
  start: '<!-- config-table:start (generated from src/config/settings.ts) -->',
  end: '<!-- config-table:end -->',
} as const;

/** The markdown table: variable, default, meaning; one row per setting, in table order. */
export function configTable(): string {
  const rows = settingEntries().map(({ setting }) => [
    `\`${setting.env}\``,
    shownDefault(setting),
    setting.contract ? setting.doc : `${setting.doc} (not contract)`,
  ]);
  const all = [['variable', 'default', 'meaning'], ...rows];
  const widths = [0, 1, 2].map((i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const rule = `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`;
  return [line(all[0]!), rule, ...rows.map(line)].join('\n');
}

/** The table, then the settings that must agree with each other (the cross-field rules). */
export function configSection(): string {
  const rules = CROSS_FIELD_RULES.map(
    (r) =>
      `- \`${envOf(r.left)}\` must ${r.relation} \`${envOf(r.right)}\`${r.reason ? ` ${r.reason}` : ''}.`,
  );
  for (const rule of PRESENCE_RULES) rules.push(`- ${rule.doc}.`);
  return [
    configTable(),
    '',
    'Settings that cannot work together also stop the process:',
    '',
    ...rules,
  ].join('\n');
}

/** What README holds between the markers, or null when a marker is missing. */
export function tableInReadme(readme: string): string | null {
  const start = readme.indexOf(CONFIG_TABLE_MARKERS.start);
  const end = readme.indexOf(CONFIG_TABLE_MARKERS.end);
  if (start < 0 || end < start) return null;
  return readme.slice(start + CONFIG_TABLE_MARKERS.start.length, end).trim();
}

/** `readme` with the generated table between the markers (which must be there). */
export function withTable(readme: string): string {
  const start = readme.indexOf(CONFIG_TABLE_MARKERS.start);
  const end = readme.indexOf(CONFIG_TABLE_MARKERS.end);
  if (start < 0 || end < start) {
    throw new Error(
      `README lacks the markers ${Object.values(CONFIG_TABLE_MARKERS).join(' ... ')}`,
    );
  }
  const head = readme.slice(0, start + CONFIG_TABLE_MARKERS.start.length);
  return `${head}\n\n${configSection()}\n\n${readme.slice(end)}`;
}

/** The default as README shows it: numbers bare, strings as code, `unset` for none. */
function shownDefault(setting: Setting): string {
  if (setting.shownDefault) return setting.shownDefault;
  const parsed = setting.schema.safeParse(undefined);
  const value = parsed.success ? parsed.data : undefined;
  if (value === undefined) return 'unset';
  return typeof value === 'number' ? String(value) : `\`${String(value)}\``;
}
