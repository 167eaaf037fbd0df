import { VERSION } from '../version.js';
import type { Reply, Section } from './cgminer-format.js';

// cgminer API status sections and message codes (api.c), shared by the server and the command table.

export const API_VERSION = '3.7';
export const DESCRIPTION = `asicd ${VERSION}`;

export type Severity = 'S' | 'E' | 'W' | 'I';

export const MSG = {
  POOL: 7,
  NOPOOL: 8,
  DEVS: 9,
  NODEVS: 10,
  SUMM: 11,
  INVCMD: 14,
  MISID: 15,
  VERSION: 22,
  INVJSON: 23,
  MISPID: 25,
  INVPID: 26,
  SWITCHP: 27,
  MINECONFIG: 33,
  BADFN: 43,
  SAVED: 44,
  ACCDENY: 45,
  ACCOK: 46,
  ENAPOOL: 47,
  DISPOOL: 48,
  ALRENAP: 49,
  ALRDISP: 50,
  DISLASTP: 51,
  MISPDP: 52,
  INVPDP: 53,
  TOOMANYP: 54,
  ADDPOOL: 55,
  REMLASTP: 66,
  ACTPOOL: 67,
  REMPOOL: 68,
  DEVDETAILS: 69,
  MINESTATS: 70,
  MISCHK: 71,
  CHECK: 72,
  POOLPRIO: 73,
  DUPPID: 74,
  MISBOOL: 75,
  INVBOOL: 76,
  FOO: 77,
  MINECOIN: 78,
  INVNUM: 84,
  CONPAR: 85,
  ZERMIS: 94,
  ZERINV: 95,
  ZERSUM: 96,
  ZERNOSUM: 97,
  NUMASC: 104,
  ASCNON: 105,
  ASCDEV: 106,
  INVASC: 107,
  ASCLRENA: 108,
  ASCLRDIS: 109,
  ASCENA: 110,
  ASCDIS: 111,
  ASCIDENT: 113,
  MISASCOPT: 116,
  ASCSETINFO: 118,
  ASCSETOK: 119,
  ASCSETERR: 120,
  INVNEG: 121,
  SETQUOTA: 122,
  /** Braiins OS / LuxOS temps and fans commands */
  TEMPS: 201,
  FANS: 202,
} as const;

export function status(sev: Severity, code: number, msg: string, withDescription = true): Section {
  const s: Section = [
    ['STATUS', 'str', sev],
    ['When', 'int', Math.floor(Date.now() / 1000)],
    ['Code', 'int', code],
    ['Msg', 'str', msg],
  ];
  if (withDescription) s.push(['Description', 'str', DESCRIPTION]);
  return s;
}

export const msgOnly = (sev: Severity, code: number, msg: string): Reply => ({ status: status(sev, code, msg) });
