// A hostile cgminer API client mix, run in its own process by bench/api.ts: `node --import tsx bench/hostile-cgminer.ts
// PORT CLIENTS SECONDS`. A third joins 1,300 stats per request and never reads the reply, a third dribbles a byte
// a second (slowloris), a third polls summary+pools+devs+stats as fast as it is answered.
import net from 'node:net';

const [port, clients, seconds] = process.argv.slice(2).map(Number);
const until = Date.now() + seconds * 1000;
const joined = JSON.stringify({ command: Array.from({ length: 1300 }, () => 'stats').join('+') });
let replies = 0;
let refused = 0;

function loop(kind: number): void {
  if (Date.now() > until) return;
  const s = net.connect(port, '127.0.0.1');
  let got = 0;
  s.on('error', () => {});
  s.on('close', () => {
    if (got === 0) refused++;
    else replies++;
    setTimeout(() => loop(kind), kind === 2 ? 0 : 50);
  });
  s.on('data', (b) => {
    got += b.length;
  });
  if (kind === 0) {
    s.on('connect', () => {
      s.write(joined);
      s.pause(); // never reads
    });
  } else if (kind === 1) {
    const t = setInterval(() => (s.destroyed ? clearInterval(t) : s.write(' ')), 1000);
  } else {
    s.on('connect', () => s.end('{"command":"summary+pools+devs+stats"}'));
  }
}
for (let i = 0; i < clients; i++) loop(i % 3);
setTimeout(
  () => {
    process.stdout.write(JSON.stringify({ replies, refused }));
    process.exit(0);
  },
  seconds * 1000 + 500,
);
