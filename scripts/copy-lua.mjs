/**
 * Copies the store's Lua scripts next to the compiled RedisStore (dist/src/store/lua/), which
 * reads them relative to its own module URL. Run by `npm run build` after tsc.
 */
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';

const from = new URL('../src/store/lua/', import.meta.url);
const to = new URL('../dist/src/store/lua/', import.meta.url);

// Start clean so a script deleted or renamed in src does not linger in dist.
rmSync(to, { recursive: true, force: true });
mkdirSync(to, { recursive: true });
const files = readdirSync(from).filter((file) => file.endsWith('.lua'));
if (files.length === 0) throw new Error(`no .lua files in ${from.pathname}`);
for (const file of files) copyFileSync(new URL(file, from), new URL(file, to));
process.stdout.write(`copy-lua: ${files.length} scripts -> ${to.pathname}\n`);
