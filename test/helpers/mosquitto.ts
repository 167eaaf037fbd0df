import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { freePort } from './daemon.js';

export interface Broker {
  port: number;
  url: string;
  caFile: string;
  stop: () => Promise<void>;
  stderr: () => string;
}

/**
 * Debian's mosquitto on a free loopback port, TLS with throwaway certificates made by openssl (a CA and a server
 * certificate for 127.0.0.1), and the given users (mosquitto_passwd); anonymous clients refused.
 */
export async function startMosquitto(dir: string, users: Record<string, string>, tls = true): Promise<Broker> {
  const ssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=asicd test CA']);
  ssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  ssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial'].concat([
      '-out',
      'server.crt',
      '-days',
      '2',
      '-extfile',
      'san.ext',
    ]),
  );
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, '', { mode: 0o600 });
  for (const [u, p] of Object.entries(users)) execFileSync('mosquitto_passwd', ['-b', passwd, u, p], { stdio: 'pipe' });
  const port = await freePort();
  const conf = [
    `listener ${port} 127.0.0.1`,
    ...(tls ? [`certfile ${join(dir, 'server.crt')}`, `keyfile ${join(dir, 'server.key')}`] : []),
    'allow_anonymous false',
    `password_file ${passwd}`,
    'persistence false',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    // as root, mosquitto would drop to its own user, which cannot read the temp folder
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    'max_queued_messages 10000',
  ];
  writeFileSync(join(dir, 'mosquitto.conf'), `${conf.join('\n')}\n`);
  // Debian puts the broker in /usr/sbin, which a non-root PATH may lack
  const bin = existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto';
  const child: ChildProcess = spawn(bin, ['-c', join(dir, 'mosquitto.conf')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise((r) => child.once('exit', r));
  const t0 = Date.now();
  for (;;) {
    const up = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (up) break;
    if (child.exitCode !== null || Date.now() - t0 > 10_000) {
      child.kill();
      throw new Error(`mosquitto did not start: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    url: `${tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    caFile: join(dir, 'ca.crt'),
    stderr: () => err,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
