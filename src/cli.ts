/**
 * The pcapd command: `pcapd [flags]` or `pcapd run [flags]` runs the daemon;
 * `pcapd COMMAND …` runs one of the commands listed, with their usage texts,
 * in src/commands/help.ts (`pcapd --help`, `pcapd COMMAND --help`).
 *
 * Without -config, the file is $PCAPD_CONFIG, else /etc/pcapd/config.toml,
 * else the embedded default (config.example.toml: HTTP API on loopback and
 * the local-disk sink).
 */
import { existsSync } from 'node:fs';

import { libpcapVersion, listDevices } from './capture/devices.js';
import { commandUsage, helpOnly, isCommand, isHelpFlag, topLevelUsage, unknownCommand } from './commands/help.js';
import { checkConfig, type CheckConfigOutput } from './config/check-config.js';
import { parseDaemonFlags } from './config/flags.js';
import { DEFAULT_CONFIG_PATH } from './config/load.js';
import { Daemon } from './daemon.js';
import { errorCodeOf, errorMessage, PcapdError } from './errors.js';
import { requestJsonSchema } from './model/request.js';
import { VERSION } from './version.js';

const SYSTEM_CONFIG = '/etc/pcapd/config.toml';
/** Go's flag package exits 2 on a usage error; so do pcapd's commands. */
const EXIT_USAGE = 2;

const CHECK_CONFIG_OUTPUTS = new Map<string, CheckConfigOutput>([
  ['--writable-paths', 'writable-paths'],
  ['--systemd-dropin', 'systemd-dropin'],
]);

function checkConfigOutput(args: readonly string[]): CheckConfigOutput {
  const asked = args.filter((arg) => CHECK_CONFIG_OUTPUTS.has(arg));
  if (asked.length > 1) throw new PcapdError('PCAPD_ERR_USAGE', `check-config: ${asked.join(' and ')} cannot be combined`);
  return CHECK_CONFIG_OUTPUTS.get(asked[0] ?? '') ?? 'config';
}

function defaultConfigPath(): string {
  const fromEnv = process.env['PCAPD_CONFIG'];
  if (fromEnv) return fromEnv;
  return existsSync(SYSTEM_CONFIG) ? SYSTEM_CONFIG : DEFAULT_CONFIG_PATH;
}

async function runDaemon(argv: string[]): Promise<number> {
  const flags = parseDaemonFlags(argv);
  if (flags.help) return printed(commandUsage('run'));
  for (const warning of flags.warnings) process.stderr.write(`pcapd: ${warning}\n`);
  const daemon = await Daemon.create({ configPath: flags.configPath ?? defaultConfigPath(), overrides: flags.overrides });
  daemon.installSignalHandlers();
  await daemon.start();
  return new Promise<number>(() => undefined); // runs until a signal ends the process
}

function printed(text: string): number {
  process.stdout.write(`${text}\n`);
  return 0;
}

/** `pcapd help [COMMAND]`. */
async function help(args: readonly string[]): Promise<number> {
  const [topic, ...extra] = args;
  if (topic === undefined) return printed(topLevelUsage());
  if (isHelpFlag(topic)) return printed(commandUsage('help'));
  if (!isCommand(topic)) throw unknownCommand(topic);
  if (extra.length > 0) helpOnly('help', extra);
  // request, spool and files answer --help themselves, with their own texts.
  return topic === 'request' || topic === 'spool' || topic === 'files' ? main([topic, '--help']) : printed(commandUsage(topic));
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'check-config': {
      // `check-config FILE [flags]` or `check-config [flags]` (with -config FILE).
      const output = checkConfigOutput(rest);
      const args = rest.filter((arg) => !CHECK_CONFIG_OUTPUTS.has(arg));
      const [first, ...more] = args;
      const positional = first !== undefined && !first.startsWith('-') ? first : undefined;
      const flags = parseDaemonFlags(positional === undefined ? args : more);
      if (flags.help) return printed(commandUsage('check-config'));
      const path = positional ?? flags.configPath ?? defaultConfigPath();
      const result = await checkConfig(path, flags.overrides, output);
      if (result.ok) for (const warning of result.warnings) process.stderr.write(`pcapd: warning: ${warning}\n`);
      (result.ok ? process.stdout : process.stderr).write(`${result.text}\n`);
      return result.ok ? 0 : 1;
    }
    case 'interfaces':
      if (helpOnly(command, rest)) return printed(commandUsage(command));
      return printed(JSON.stringify(listDevices(), null, 2));
    case 'schema':
      if (helpOnly(command, rest)) return printed(commandUsage(command));
      return printed(JSON.stringify(requestJsonSchema(), null, 2));
    // The commands' modules (request's broker clients) load only when run, not with the daemon.
    case 'spool': {
      const { spoolCommand } = await import('./commands/spool.js');
      return spoolCommand(rest, defaultConfigPath, {
        out: (text) => process.stdout.write(text),
        err: (text) => process.stderr.write(text),
      });
    }
    case 'files': {
      const { filesCommand } = await import('./commands/files.js');
      return filesCommand(rest, defaultConfigPath, {
        out: (text) => process.stdout.write(text),
        err: (text) => process.stderr.write(text),
      });
    }
    case 'request': {
      const { requestCommand } = await import('./commands/request.js');
      return requestCommand(rest, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, defaultConfigPath });
    }
    case 'help':
      return help(rest);
    case '--help':
    case '-help':
    case '-h':
      // `pcapd --help COMMAND` as `pcapd help COMMAND`; otherwise, as Go's -h, the usage whatever follows.
      return rest[0] !== undefined && isCommand(rest[0]) ? help(rest) : printed(topLevelUsage());
    case 'version':
    case '--version':
      if (helpOnly('version', rest)) return printed(commandUsage('version'));
      return printed(`pcapd ${VERSION} (${libpcapVersion()}, Node.js ${process.version})`);
    case 'run':
      return runDaemon(rest);
    default:
      // Flags alone run the daemon, as pcapdaemon did; a word is a command.
      if (command === undefined || command.startsWith('-')) return runDaemon(argv);
      throw unknownCommand(command);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`pcapd: ${errorMessage(err)}\n`);
    process.exit(errorCodeOf(err) === 'PCAPD_ERR_USAGE' ? EXIT_USAGE : 1);
  },
);
