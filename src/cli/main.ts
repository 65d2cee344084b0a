#!/usr/bin/env node
// directorctl: the operator's command line for directord (see `directorctl help` and docs/operations.md).
import { runCli } from './run';

runCli(process.argv.slice(2), { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`directorctl: internal error: ${String(e)}\n`);
    process.exitCode = 1;
  },
);
