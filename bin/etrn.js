#!/usr/bin/env node
// etrn: start a remote mail queue run (RFC 1985). See `etrn --help`.
import { main } from '../dist/bundle/main.js';

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error) => {
    process.stderr.write(`etrn: internal error: ${error?.message ?? error}\n`);
    process.exitCode = 70;
  },
);
