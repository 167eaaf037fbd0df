#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 node --max-old-space-size=96 --optimize-for-size
// Runs the built daemon; `npm run build` makes dist/. The V8 flags and the malloc settings size it for a 256 MB
// controller (as in the systemd unit): run as ./bin/asicd.js or through the npm bin link; `node bin/asicd.js`
// leaves them to the caller. It runs the daemon's bundle (dist/bundle/, written by the build's last step: ~8 MiB
// less RSS than the module tree); the tree in dist/ is what tests and tools import.
import('../dist/bundle/cli.js').then((m) => m.main(process.argv.slice(2))).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
