#!/usr/bin/env node
// Runs the built daemon; `npm run build` makes dist/.
import('../dist/cli.js').then((m) => m.main(process.argv.slice(2))).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
