import { parseArgs } from 'node:util';
import { checkConfigFile } from './config/check.js';
import { configurationMarkdown, defaultToml } from './config/document.js';
import { ConfigError } from './config/load.js';
import { VERSION } from './version.js';

const HELP = `asicd ${VERSION} — firmware daemon for Maijie L7 hash boards

Usage:
  asicd run [--config FILE] [--pretty]   run the daemon (default config /etc/asicd/asicd.toml; asicd run --help)
  asicd demo [options]                   simulator + test pool + daemon on loopback, mining (asicd demo --help)
  asicd sim [options]                    run the hash-board simulator (asicd sim --help)
  asicd pool [options]                   run the Stratum v1 test pool (asicd pool --help)
  asicd config check FILE                validate FILE and print every problem (exit 1 on errors)
  asicd config defaults                  print a complete, commented default config
  asicd config docs                      print docs/configuration.md
  asicd --version | --help

Exit codes: 0 ok, 1 failure or crash, 2 bad configuration or a board held by another daemon.
`;

type Handler = (args: string[]) => Promise<number>;

const RUN_HELP = `asicd run — the daemon

Options:
  -c, --config FILE   configuration file (default /etc/asicd/asicd.toml; asicd config defaults prints one)
  --pretty            human-readable logs instead of JSON lines (default when stdout is a terminal)

Runs until SIGTERM/SIGINT (boards powered off first); SIGHUP re-reads the config.
Exit codes: 0 clean stop, 1 failure or crash, 2 bad configuration or boards held by another daemon.
`;

const commands: Record<string, Handler> = {
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        config: { type: 'string', short: 'c' },
        pretty: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(RUN_HELP);
      return 0;
    }
    const { runDaemon } = await import('./commands/run.js');
    const { buildComponents } = await import('./components.js');
    return runDaemon({
      configFile: values.config ?? '/etc/asicd/asicd.toml',
      pretty: values.pretty,
      factory: buildComponents,
    });
  },
  async config(args) {
    const [sub, file] = args;
    if (sub === 'defaults') {
      process.stdout.write(defaultToml());
      return 0;
    }
    if (sub === 'docs') {
      process.stdout.write(configurationMarkdown());
      return 0;
    }
    if (sub === 'check') {
      if (!file) {
        process.stderr.write('asicd config check: give the file to check\n');
        return 2;
      }
      try {
        const { warnings } = checkConfigFile(file);
        for (const w of warnings) process.stderr.write(`${file}: warning: ${w}\n`);
        process.stdout.write(`${file}: ok\n`);
        return 0;
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(`${err.message}\n${err.issues.length} problem(s) in ${file}\n`);
        return 1;
      }
    }
    process.stderr.write('asicd config: expected check FILE, defaults or docs\n');
    return 2;
  },
  async demo(args) {
    const { runDemo } = await import('./commands/demo.js');
    return runDemo(args);
  },
  async sim(args) {
    const { runSim } = await import('./commands/sim.js');
    return runSim(args);
  },
  async pool(args) {
    const { runPool } = await import('./commands/pool.js');
    return runPool(args);
  },
};

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === '--version' || cmd === '-V' || cmd === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(HELP);
    return cmd === undefined ? 2 : 0;
  }
  const handler = commands[cmd];
  if (!handler) {
    process.stderr.write(`asicd: unknown command "${cmd}"\n\n${HELP}`);
    return 2;
  }
  try {
    return await handler(rest);
  } catch (err) {
    if (err instanceof TypeError && (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`asicd ${cmd}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

// Run directly (tsx src/cli.ts …) as well as through bin/asicd.js.
if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
