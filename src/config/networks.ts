import net from 'node:net';

/** One --api-allow rule: a network, and whether it grants privileged (W:) commands. */
export interface AllowRule {
  net: net.BlockList;
  write: boolean;
}

/**
 * cgminer's --api-allow: "W:127.0.0.1/32,R:10.0.0.0/8,192.168.1.5"; W grants privileged commands. Throws an Error
 * naming the bad entry; `config check` and `run` both read it here, so one cannot accept what the other refuses.
 */
export function parseAllow(spec: string): AllowRule[] {
  const out: AllowRule[] = [];
  for (const raw of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^(?:([WR]):)?(.+)$/i.exec(raw);
    if (!m) continue;
    const write = (m[1] ?? 'R').toUpperCase() === 'W';
    const [addr, bitsText, extra] = m[2].split('/');
    const v6 = net.isIPv6(addr);
    if (!net.isIP(addr) || extra !== undefined) throw new Error(`"${raw}" is not an address or network`);
    const maxBits = v6 ? 128 : 32;
    if (bitsText !== undefined && !/^[0-9]{1,3}$/.test(bitsText))
      throw new Error(`"${raw}": the prefix length must be 0-${maxBits}`);
    const bits = bitsText === undefined ? maxBits : Number(bitsText);
    if (bits > maxBits) throw new Error(`"${raw}": the prefix length must be 0-${maxBits}`);
    const list = new net.BlockList();
    list.addSubnet(addr, bits, v6 ? 'ipv6' : 'ipv4');
    out.push({ net: list, write });
  }
  return out;
}
