/**
 * Builds the dashboard once before the browser tests (CI runs `npm test` without `npm run build`),
 * so the service under test serves the same dist/ui that `npm start` would.
 */
import { execFileSync } from 'node:child_process';

/** Vitest global setup: `npm run build:ui`, failing the run if the build fails. */
export default function setup(): void {
  execFileSync('npm', ['run', '--silent', 'build:ui'], { stdio: 'inherit' });
}
