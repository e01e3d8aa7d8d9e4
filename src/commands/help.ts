/**
 * pcapd's usage texts: the top-level one (every command with a line, and the
 * daemon's flags) and the own usage of each command that has no module of
 * its own (`request`, `spool` and `files` keep theirs beside their parsers). A
 * mistyped command is answered with the nearest known one.
 */
import { daemonFlagsUsage } from '../config/flags.js';
import { PcapdError } from '../errors.js';
import { didYouMean } from '../text.js';

/** The spellings that ask a command for its usage (Go's flag package takes -h and -help, too). */
export const HELP_FLAGS: readonly string[] = ['--help', '-help', '-h'];

export function isHelpFlag(arg: string | undefined): boolean {
  return arg !== undefined && HELP_FLAGS.includes(arg);
}

interface CommandLine {
  /** The command and its arguments, as the top-level usage shows them. */
  synopsis: string;
  summary: string;
}

/** Every command, in the order the usage lists them; the keys are what `pcapd COMMAND` takes. */
export const COMMANDS = {
  run: { synopsis: 'run [flags]', summary: 'run the daemon (the default: pcapd [flags] does the same)' },
  'check-config': {
    synopsis: 'check-config [FILE] [flags]',
    summary: 'print the effective config, or every error with its key path; warn about paths the unit cannot write',
  },
  interfaces: { synopsis: 'interfaces', summary: 'list the interfaces libpcap can capture on (JSON)' },
  schema: { synopsis: 'schema', summary: 'print the capture request JSON Schema' },
  request: { synopsis: 'request [flags] [--wait]', summary: 'send a capture request through a listener, and wait for its result' },
  spool: { synopsis: 'spool list|retry|cull', summary: 'the captures waiting in the spool for a sink' },
  files: { synopsis: 'files list|prune [--dry-run]', summary: 'the capture files under general.localdir; apply [retention] once' },
  version: { synopsis: 'version', summary: 'pcapd, libpcap and Node.js versions (also --version)' },
  help: { synopsis: 'help [COMMAND]', summary: "this text, or COMMAND's (also --help, -h, COMMAND --help)" },
} as const satisfies Record<string, CommandLine>;

export type CommandName = keyof typeof COMMANDS;

export function isCommand(word: string): word is CommandName {
  return Object.hasOwn(COMMANDS, word);
}

function commandLines(): string {
  const entries = Object.values(COMMANDS);
  const width = Math.max(...entries.map((entry) => entry.synopsis.length)) + 2;
  return entries.map((entry) => `  ${entry.synopsis.padEnd(width)}${entry.summary}`).join('\n');
}

const FLAG_SYNTAX = `pcapdaemon's, in Go's syntax: -flag value, -flag=value, --flag; written into
the config before it is validated, so a bad value is reported with its key`;

export function topLevelUsage(): string {
  return `usage: pcapd [command] [flags]
       pcapd COMMAND --help          a command's own usage, options and examples

commands:
${commandLines()}

daemon flags (${FLAG_SYNTAX}):
${daemonFlagsUsage()}

Every config key is described in README.md and in config.example.toml.

examples:
  pcapd -config /etc/pcapd/config.toml            run the daemon
  pcapd check-config /etc/pcapd/config.toml       check a config before starting or reloading
  pcapd request --node any --interface eth1 --packets 100 --wait`;
}

function runUsage(): string {
  return `usage: pcapd [run] [-config FILE] [flags]

Runs the daemon: reads the config, starts its listeners (HTTP API, Redis,
Kafka, SQS), captures what they request and delivers it to the sinks, until
SIGTERM (captures end early and are delivered or spooled). SIGHUP reloads the
config. Without -config, the file is $PCAPD_CONFIG, else /etc/pcapd/config.toml,
else the embedded default (config.example.toml: HTTP API on loopback and the
local-disk sink).

flags (${FLAG_SYNTAX}):
${daemonFlagsUsage()}

examples:
  pcapd -config /etc/pcapd/config.toml
  pcapd -config /etc/pcapd/config.toml -writelocal -destdir /var/lib/pcapd/captures`;
}

const CHECK_CONFIG_USAGE = `usage: pcapd check-config [FILE] [flags]

Validates a config exactly as the daemon would start with it, daemon flags
applied. Prints the effective config (every default filled, secrets shown as
***) on stdout and exits 0; or every error with its key path on stderr and
exits 1. Warns on stderr about directories pcapd writes that the systemd
unit (with its drop-ins) cannot write.

options:
  FILE              the config to check (default: -config FILE, else as for the daemon)
  [flags]           the daemon's flags (pcapd run --help), e.g. -config FILE, -maxpackets N
  --writable-paths  print only the directories pcapd writes, one a line
  --systemd-dropin  print a pcapd.service drop-in that lets the unit write them
  -h, --help        this text

examples:
  pcapd check-config /etc/pcapd/config.toml
  pcapd check-config -config /etc/pcapd/config.toml -writelocal -destdir /srv/pcap
  pcapd check-config /etc/pcapd/config.toml --systemd-dropin`;

const INTERFACES_USAGE = `usage: pcapd interfaces

Lists the interfaces libpcap can capture on, as JSON: name, description,
loopback, up, running, wireless, connection and addresses (the list
GET /interfaces serves). Capturing needs CAP_NET_RAW and CAP_NET_ADMIN;
listing does not.

options:
  -h, --help      this text

example:
  pcapd interfaces | jq -r '.[] | select(.up) | .name'`;

const SCHEMA_USAGE = `usage: pcapd schema

Prints the JSON Schema (draft 2020-12) of a capture request: the one schema
every listener validates with, also served at GET /schema/request.

options:
  -h, --help      this text

example:
  pcapd schema > pcapd-request.schema.json`;

const VERSION_USAGE = `usage: pcapd version
       pcapd --version

Prints pcapd's version, the libpcap it captures with and the Node.js it runs on.

options:
  -h, --help      this text

example:
  pcapd version   # pcapd 0.1.0 (libpcap version 1.10.3 (with TPACKET_V3), Node.js v24.11.1)`;

const HELP_USAGE = `usage: pcapd help [COMMAND]

Prints the commands and the daemon's flags, or COMMAND's own usage (the same
as pcapd COMMAND --help).

options:
  COMMAND         one of: ${Object.keys(COMMANDS).join(', ')}
  -h, --help      this text

examples:
  pcapd help
  pcapd help request`;

/** The usage of a command whose text lives here (request, spool and files answer --help themselves). */
export function commandUsage(command: Exclude<CommandName, 'request' | 'spool' | 'files'>): string {
  switch (command) {
    case 'run':
      return runUsage();
    case 'check-config':
      return CHECK_CONFIG_USAGE;
    case 'interfaces':
      return INTERFACES_USAGE;
    case 'schema':
      return SCHEMA_USAGE;
    case 'version':
      return VERSION_USAGE;
    case 'help':
      return HELP_USAGE;
    default: {
      const unreachable: never = command;
      return unreachable;
    }
  }
}

export function unknownCommand(word: string): PcapdError {
  const suggestion = didYouMean(word, Object.keys(COMMANDS));
  return new PcapdError('PCAPD_ERR_USAGE', `unknown command ${JSON.stringify(word)}${suggestion} (pcapd --help lists the commands)`);
}

/**
 * The arguments of a command that takes none but --help: true when help was
 * asked for; anything else is a usage error naming the nearest spelling.
 */
export function helpOnly(command: CommandName, args: readonly string[]): boolean {
  if (args.length === 0) return false;
  const stray = args.find((arg) => !isHelpFlag(arg));
  if (stray === undefined) return true;
  const suggestion = stray.startsWith('-') ? didYouMean(stray, HELP_FLAGS) : '';
  return usage(`${command} takes no ${stray.startsWith('-') ? 'option' : 'argument'} ${JSON.stringify(stray)}${suggestion} (pcapd ${command} --help)`);
}

function usage(message: string): never {
  throw new PcapdError('PCAPD_ERR_USAGE', message);
}
