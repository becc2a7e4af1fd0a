#!/usr/bin/env node
/** The `baton` bin: runs the CLI on this process's arguments and streams (logic in run.ts). */
import { runCli } from './run.js';

// `tail --follow` and `demo-feed` run until interrupted: the first signal ends them cleanly.
const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => stop.abort());
}
// `baton tail | head`: a closed pipe ends the command quietly, as it does for other Unix tools.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  stop.abort();
  process.exit(0);
});
const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: stop.signal,
});
process.exitCode = code;
