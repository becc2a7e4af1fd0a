/**
 * Prints README's configuration table (and the rules between settings), generated from the settings table (src/config/settings.ts);
 * with `--write`, puts it into README.md between its markers instead.
 * Run: `npx tsx scripts/config-table.ts [--write]`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { configSection, withTable } from '../src/config/table.js';

const readme = new URL('../README.md', import.meta.url);

if (process.argv.includes('--write')) {
  writeFileSync(readme, withTable(readFileSync(readme, 'utf8')));
  process.stdout.write('config-table: README.md updated\n');
} else {
  process.stdout.write(`${configSection()}\n`);
}
