/**
 * The pcapd command.
 *
 *   pcapd [-config FILE] [pcapdaemon flags]   run the daemon
 *   pcapd check-config [FILE]                 print the effective config, or every error with its key path
 *   pcapd interfaces                          list capturable interfaces
 *   pcapd schema                              print the request JSON Schema
 *   pcapd spool list|retry|cull [--dry-run]   the spool of captures waiting for a sink (src/commands/spool.ts)
 *   pcapd request [flags] [--wait]            send a capture request through a listener (src/commands/request.ts)
 *   pcapd version
 *   pcapd help | --help | -h                  the usage text
 *
 * Without -config, the file is $PCAPD_CONFIG, else /etc/pcapd/config.toml,
 * else the embedded default (config.example.toml: HTTP API on loopback and
 * the local-disk sink).
 */
import { existsSync } from 'node:fs';

import { libpcapVersion, listDevices } from './capture/devices.js';
import { checkConfig } from './config/check-config.js';
import { parseDaemonFlags } from './config/flags.js';
import { DEFAULT_CONFIG_PATH } from './config/load.js';
import { Daemon } from './daemon.js';
import { errorMessage } from './errors.js';
import { requestJsonSchema } from './requests/schema.js';
import { VERSION } from './version.js';

const SYSTEM_CONFIG = '/etc/pcapd/config.toml';

const USAGE = `usage: pcapd [command] [flags]

commands:
  (none) | run [-config FILE] [flags]   run the daemon (FILE: $PCAPD_CONFIG, else
                                        /etc/pcapd/config.toml, else the embedded
                                        default: HTTP API on loopback, local disk)
  check-config [FILE]                   print the effective config, or every error
                                        with its key path
  interfaces                            list capturable interfaces
  schema                                print the request JSON Schema
  request [flags] [--wait[=armed]]      send a capture request through a listener
                                        (pcapd request --help)
  spool list|retry|cull [--dry-run]     the captures waiting in the spool for a sink
  version                               pcapd, libpcap and Node.js versions
  help                                  this text

daemon flags: pcapdaemon's, -config FILE and -cshost -csscheme -cstoken -csport
-cstimeout -redischannel -redisnode -redisport -upload -writelocal -destdir
-maxpackets, written into the config before it is validated. Every config key
is described in README.md and in config.example.toml.`;

function defaultConfigPath(): string {
  const fromEnv = process.env['PCAPD_CONFIG'];
  if (fromEnv) return fromEnv;
  return existsSync(SYSTEM_CONFIG) ? SYSTEM_CONFIG : DEFAULT_CONFIG_PATH;
}

async function runDaemon(argv: string[]): Promise<number> {
  const flags = parseDaemonFlags(argv);
  for (const warning of flags.warnings) process.stderr.write(`pcapd: ${warning}\n`);
  const daemon = await Daemon.create({ configPath: flags.configPath ?? defaultConfigPath(), overrides: flags.overrides });
  daemon.installSignalHandlers();
  await daemon.start();
  return new Promise<number>(() => undefined); // runs until a signal ends the process
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'check-config': {
      // `check-config FILE [flags]` or `check-config [flags]` (with -config FILE).
      const [first, ...more] = rest;
      const positional = first !== undefined && !first.startsWith('-') ? first : undefined;
      const flags = parseDaemonFlags(positional === undefined ? rest : more);
      const path = positional ?? flags.configPath ?? defaultConfigPath();
      const result = await checkConfig(path, flags.overrides);
      (result.ok ? process.stdout : process.stderr).write(`${result.text}\n`);
      return result.ok ? 0 : 1;
    }
    case 'interfaces':
      process.stdout.write(`${JSON.stringify(listDevices(), null, 2)}\n`);
      return 0;
    case 'schema':
      process.stdout.write(`${JSON.stringify(requestJsonSchema(), null, 2)}\n`);
      return 0;
    // The commands' modules (request's broker clients) load only when run, not with the daemon.
    case 'spool': {
      const { spoolCommand } = await import('./commands/spool.js');
      return spoolCommand(rest, defaultConfigPath, {
        out: (text) => process.stdout.write(text),
        err: (text) => process.stderr.write(text),
      });
    }
    case 'request': {
      const { requestCommand } = await import('./commands/request.js');
      return requestCommand(rest, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, defaultConfigPath });
    }
    case 'help':
    case '--help':
    case '-help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    case 'version':
    case '--version':
      process.stdout.write(`pcapd ${VERSION} (${libpcapVersion()}, Node.js ${process.version})\n`);
      return 0;
    case 'run':
      return runDaemon(rest);
    default:
      return runDaemon(argv);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`pcapd: ${errorMessage(err)}\n`);
    process.exit(1);
  },
);
