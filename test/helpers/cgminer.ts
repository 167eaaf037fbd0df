import net from 'node:net';

/** One cgminer API request on its own connection; the reply without its closing NUL ('' when the server hangs up). */
export function cgminerAsk(port: number, request: string, localAddress = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    let out = '';
    s.on('data', (c) => {
      out += c.toString();
    });
    s.on('error', reject);
    s.on('close', () => resolve(out.replace(/\0$/, '')));
    s.end(request);
  });
}
