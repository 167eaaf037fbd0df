import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MODEL } from '../sim/board/physics.js';
import { FAULT_KINDS, Simulator } from '../sim/board/simulator.js';
import { intArg, numberArg } from './args.js';

const HELP = `asicd sim — the Maijie L7 scale-model simulator

Options:
  --boards N         hash boards (default 3)          --chips M        chips per board (default 76)
  --seed S           seed of the per-chip spread (1)  --scale-shift s  hash 2^s slower than a real chip (30)
  --link pty|tcp     chain links as socat pseudo-terminals (default) or tcp:// listeners
  --dir DIR          folder for the ptys and the hwmon folder (default: a temp folder, removed on exit)
  --fans N           controller fans (default 4)
  --control-port P   loopback port of the fault/oracle endpoint (default 0 = any)
  --base-port P      fixed ports: board i's MCU on P+2i, its tcp:// UART on P+2i+1 (default: any free ports)
  --thermal-tau S    thermal time constant of chips and boards in seconds (default ${MODEL.thermalTauS})
  --noise RATE       UART byte corruption rate on every board (default 0)
  --broken-chain K   chain 0 broken at chip K          --dead-chip K    chip K of board 0 dead
  --stuck-fan N      fan N does not turn               --supply-sag     board 0's supply sags
  --over-temp        board 0 overheats                 --fans-lost      the fans' hwmon readings vanish
  --inlet C          inlet air temperature in °C (default ${MODEL.inletC})
  --exhaustion       chips run out of work at their real-equivalent rate (the oracle reports their idle time)

Prints one JSON line with the boards' uart/spi paths, the hwmon folder and the control URL, then runs until
SIGINT/SIGTERM. Control: GET /oracle, GET /oracle/best?board=0&power_w=800, POST /fault {"kind":…}.
Fault kinds: ${FAULT_KINDS.join(', ')} ("board": N where it is a board's; "on": false undoes it).
`;

export async function runSim(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      boards: { type: 'string', default: '3' },
      chips: { type: 'string', default: '76' },
      seed: { type: 'string', default: '1' },
      'scale-shift': { type: 'string', default: '30' },
      link: { type: 'string', default: 'pty' },
      dir: { type: 'string' },
      fans: { type: 'string', default: '4' },
      'thermal-tau': { type: 'string' },
      'control-port': { type: 'string', default: '0' },
      'base-port': { type: 'string' },
      noise: { type: 'string' },
      'broken-chain': { type: 'string' },
      'dead-chip': { type: 'string' },
      'stuck-fan': { type: 'string' },
      'fans-lost': { type: 'boolean' },
      inlet: { type: 'string' },
      'supply-sag': { type: 'boolean' },
      'over-temp': { type: 'boolean' },
      exhaustion: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  let sim: Simulator;
  let inlet: number | undefined;
  // a folder we made is ours to remove; one the user named is left as it was
  let ownDir: string | undefined;
  const removeOwnDir = () => {
    if (ownDir) rmSync(ownDir, { recursive: true, force: true });
  };
  try {
    if (values.inlet !== undefined) inlet = numberArg('inlet', values.inlet, -10, 60);
    if (values.link !== 'pty' && values.link !== 'tcp') throw new RangeError('--link: expected pty or tcp');
    const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'asicd-sim-'));
    if (values.dir === undefined) ownDir = dir;
    sim = new Simulator({
      boards: intArg('boards', values.boards, 1, 4),
      chips: intArg('chips', values.chips, 1, 256),
      seed: intArg('seed', values.seed, 0, 2 ** 31),
      scaleShift: intArg('scale-shift', values['scale-shift'], 0, 40),
      link: values.link,
      dir,
      fans: intArg('fans', values.fans, 0, 8),
      controlPort: intArg('control-port', values['control-port'], 0, 65535),
      basePort: values['base-port'] === undefined ? undefined : intArg('base-port', values['base-port'], 1024, 65000),
      thermalTauS:
        values['thermal-tau'] === undefined ? undefined : numberArg('thermal-tau', values['thermal-tau'], 0.5, 600),
      exhaustion: values.exhaustion === true,
    });
  } catch (err) {
    removeOwnDir();
    process.stderr.write(`asicd sim: ${(err as Error).message}\n`);
    return 2;
  }
  try {
    await sim.start();
  } catch (err) {
    await sim.stop().catch(() => {});
    removeOwnDir();
    throw err;
  }
  if (values.noise)
    for (let b = 0; b < sim.boards.length; b++)
      await sim.fault({ kind: 'uart-noise', board: b, rate: Number(values.noise) });
  if (values['broken-chain']) await sim.fault({ kind: 'broken-chain', board: 0, at: Number(values['broken-chain']) });
  if (values['dead-chip']) await sim.fault({ kind: 'dead-chip', board: 0, chip: Number(values['dead-chip']) });
  if (values['stuck-fan']) await sim.fault({ kind: 'stuck-fan', fan: Number(values['stuck-fan']) });
  if (inlet !== undefined) await sim.fault({ kind: 'inlet', celsius: inlet });
  if (values['fans-lost']) await sim.fault({ kind: 'fans-lost' });
  if (values['supply-sag']) await sim.fault({ kind: 'supply-sag', board: 0 });
  if (values['over-temp']) await sim.fault({ kind: 'over-temp', board: 0 });
  process.stdout.write(
    `${JSON.stringify({ msg: 'simulator ready', boards: sim.info(), hwmon: sim.hwmonDir, control: sim.controlUrl, fans: sim.o.fans })}\n`,
  );
  await new Promise<void>((res) => {
    process.once('SIGINT', res);
    process.once('SIGTERM', res);
  });
  await sim.stop();
  removeOwnDir();
  return 0;
}
