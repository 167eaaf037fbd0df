import { type Role, roleAtLeast } from '../api/auth.js';
import type { Config } from '../config/schema.js';
import type { Miner } from '../miner.js';

export interface CommandResult {
  command: string;
  ok: boolean;
  message: string;
}

/** The role each command needs: the same as its REST route. */
const NEEDS: Record<string, Role> = {
  pause: 'operator',
  resume: 'operator',
  mining: 'operator',
  switch_pool: 'operator',
  tuning_mode: 'operator',
};
const TUNING_MODES = ['off', 'efficiency', 'hashrate', 'power'];

/** Reads `{"key": v}`, a bare JSON value, or plain text. */
function arg(payload: string, key: string): unknown {
  const text = payload.trim();
  try {
    const v = JSON.parse(text) as unknown;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return (v as Record<string, unknown>)[key];
    return v;
  } catch {
    return text;
  }
}

/**
 * One command from <prefix>/<node>/cmd/<name>. `role` is what the config grants the broker's publishers
 * (mqtt.command_role); below the route's role the command is refused and nothing changes.
 */
export async function runCommand(
  miner: Miner,
  role: Role | 'none',
  name: string,
  payload: string,
): Promise<CommandResult> {
  const need = NEEDS[name];
  if (!need) return { command: name, ok: false, message: `unknown command; known: ${Object.keys(NEEDS).join(', ')}` };
  if (role === 'none' || !roleAtLeast(role, need))
    return {
      command: name,
      ok: false,
      message: `refused: ${name} needs the ${need} role (mqtt.command_role is ${role})`,
    };
  let command = name;
  if (name === 'mining') {
    const v = String(arg(payload, 'state')).toUpperCase();
    if (v !== 'ON' && v !== 'OFF') return { command: name, ok: false, message: 'expected ON or OFF' };
    command = v === 'ON' ? 'resume' : 'pause';
  }
  switch (command) {
    case 'pause':
      await miner.pause();
      return { command: name, ok: true, message: 'boards powered off' };
    case 'resume':
      await miner.resume();
      return { command: name, ok: true, message: 'boards coming back up' };
    case 'switch_pool': {
      // a number, or digits: an empty payload, true or [] must not read as pool 0 or 1
      const v = arg(payload, 'pool');
      const id = typeof v === 'number' || (typeof v === 'string' && /^[0-9]{1,3}$/.test(v)) ? Number(v) : Number.NaN;
      if (!Number.isInteger(id) || id < 0)
        return { command: name, ok: false, message: 'expected a pool id, e.g. {"pool": 1}' };
      try {
        miner.pools.switchTo(id);
      } catch (err) {
        return { command: name, ok: false, message: (err as Error).message };
      }
      return { command: name, ok: true, message: `pool ${id}: switch done` };
    }
    default: {
      const mode = String(arg(payload, 'mode'));
      if (!TUNING_MODES.includes(mode))
        return { command: name, ok: false, message: `expected one of ${TUNING_MODES.join(', ')}` };
      try {
        // saved through the config store like a REST change, so it survives a restart
        miner.store.update('mqtt tuning_mode', (c) => {
          const next = c as Config;
          return { ...next, tuning: { ...next.tuning, mode: mode as Config['tuning']['mode'] } };
        });
      } catch (err) {
        return { command: name, ok: false, message: (err as Error).message };
      }
      return { command: name, ok: true, message: `tuning mode ${mode}` };
    }
  }
}
