#!/usr/bin/env node
/** The `baton` bin: runs the CLI on this process's arguments and streams (logic in run.ts). */
import { runCli } from './run.js';

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
process.exitCode = code;
