/**
 * Makes `npx baton` work in a checkout: npm links a package's `bin` for its dependents, never
 * for the package itself, so after the build this links node_modules/.bin/baton to the compiled
 * CLI (and marks it executable). Run by `npm run build`; skipped where node_modules is absent
 * (the Docker image runs `node dist/src/cli/main.js`).
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, symlinkSync, unlinkSync } from 'node:fs';

const cli = new URL('../dist/src/cli/main.js', import.meta.url);
const binDir = new URL('../node_modules/.bin/', import.meta.url);
const link = new URL('baton', binDir);

chmodSync(cli, 0o755);
if (existsSync(new URL('../node_modules/', import.meta.url))) {
  mkdirSync(binDir, { recursive: true });
  try {
    if (lstatSync(link)) unlinkSync(link);
  } catch {
    // no previous link
  }
  symlinkSync('../../dist/src/cli/main.js', link);
  process.stdout.write('link-bin: node_modules/.bin/baton -> dist/src/cli/main.js\n');
}
