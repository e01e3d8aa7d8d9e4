/**
 * `pcapd files list|prune`: the capture files the local sink keeps under
 * general.localdir of the pcapd configured in -config FILE (or the default
 * config).
 *
 *   pcapd files list [--json] [filters]   what GET /files lists, every page
 *   pcapd files prune [--dry-run]         apply [retention] once, as the daemon's pass does
 *
 * Both read the directory themselves, whether a pcapd runs on it or not: a
 * removal is an unlink, which a running pcapd's own pass and downloads
 * tolerate (a file being served stays readable until its download ends).
 * Removals made here are printed, not counted in the running pcapd's metrics.
 */
import type { Config } from '../config/schema.js';
import { loadConfigFile } from '../config/load.js';
import { errorMessage, PcapdError } from '../errors.js';
import { fileQueryOf } from '../http/files.js';
import { listLocalFiles, type LocalFile } from '../sinks/local-files.js';
import { applyRetention, planRetention, retentionEnabled, retentionLimits, storedFiles, type RetentionItem } from '../sinks/local-retention.js';
import { createLogger } from '../log/logger.js';
import { ageText, bytesText, didYouMean } from '../text.js';
import { HELP_FLAGS, isHelpFlag } from './help.js';
import { argsOrExit, UsageError, type CommandIo } from './subcommand.js';

const ACTIONS = ['list', 'prune'] as const;
type FilesAction = (typeof ACTIONS)[number];

const CONFIG_OPTION = '  -config FILE      the config whose general.localdir and [retention] to use (default: as for the daemon)';
const HELP_OPTION = '  -h, --help        this text';

const USAGE = `usage: pcapd files list [--json] [--id ID] [--name NAME] [--interface IF] [--from TIME] [--to TIME] [-config FILE]
       pcapd files prune [--dry-run] [-config FILE]

The capture files the local sink wrote under general.localdir and still holds.

commands:
  list     every capture file (path, size, time, request id, interfaces), as GET /files lists them
  prune    remove the oldest files past [retention] maxage and maxbytes now, as
           the daemon's periodic pass does

options:
${CONFIG_OPTION}
${HELP_OPTION}   (pcapd files COMMAND --help: that command's)

example:
  pcapd files prune --dry-run -config /etc/pcapd/config.toml`;

const ACTION_USAGE: Record<FilesAction, string> = {
  list: `usage: pcapd files list [--json] [--id ID] [--name NAME] [--interface IF] [--from TIME] [--to TIME] [-config FILE]

Lists the capture files under general.localdir in path order: path, size,
modification time, and from the sidecar the local sink writes beside each
file, the request id, name and interfaces.

options:
  --json            one JSON document on stdout instead of text
  --id ID           only files of this request id
  --name NAME       only files of this named capture
  --interface IF    only files holding this interface
  --from TIME       only files holding time at or after TIME (ISO 8601)
  --to TIME         only files holding time at or before TIME (ISO 8601)
${CONFIG_OPTION}
${HELP_OPTION}

example:
  pcapd files list --interface eth1 --from 2026-05-04T00:00:00Z`,
  prune: `usage: pcapd files prune [--dry-run] [-config FILE]

Applies [retention] once: removes capture files older than retention.maxage
seconds, then the oldest files until the rest fit in retention.maxbytes (a
file written in the last 5 seconds is kept). Nothing is removed while both
are 0.

options:
  --dry-run         print what would be removed; remove nothing
${CONFIG_OPTION}
${HELP_OPTION}

example:
  pcapd files prune --dry-run`,
};

/** Each option that takes a value, and the GET /files parameter it becomes. */
const LIST_FILTERS: Readonly<Record<string, string>> = { '--id': 'id', '--name': 'name', '--interface': 'interface', '--from': 'from', '--to': 'to' };

const ACTION_OPTIONS: Record<FilesAction, readonly string[]> = {
  list: ['--json', ...Object.keys(LIST_FILTERS), '-config', ...HELP_FLAGS],
  prune: ['--dry-run', '-config', ...HELP_FLAGS],
};

/** Pages the listing reads at a time. */
const PAGE_FILES = 1000;

interface FilesArgs {
  action: FilesAction;
  configPath: string | undefined;
  json: boolean;
  dryRun: boolean;
  filters: Record<string, string>;
}

function isAction(word: string): word is FilesAction {
  return (ACTIONS as readonly string[]).includes(word);
}

function valueAfter(rest: readonly string[], i: number, option: string): string {
  const value = rest[i + 1];
  if (value === undefined) throw new UsageError(`${option} needs a value`);
  return value;
}

function parseArgs(argv: readonly string[]): FilesArgs | { usage: string } {
  const [action, ...rest] = argv;
  if (isHelpFlag(action)) return { usage: USAGE };
  if (action === undefined) throw new UsageError('name a files command');
  if (!isAction(action)) throw new UsageError(`unknown files command ${JSON.stringify(action)}${didYouMean(action, ACTIONS)}`);
  if (rest.some(isHelpFlag)) return { usage: ACTION_USAGE[action] };
  const args: FilesArgs = { action, configPath: undefined, json: false, dryRun: false, filters: {} };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] ?? '';
    const filter = action === 'list' ? LIST_FILTERS[arg] : undefined;
    if (arg === '-config' || arg === '--config') args.configPath = valueAfter(rest, i++, arg);
    else if (filter !== undefined) args.filters[filter] = valueAfter(rest, i++, arg);
    else if (arg === '--json' && action === 'list') args.json = true;
    else if (arg === '--dry-run' && action === 'prune') args.dryRun = true;
    else if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg} for files ${action}${didYouMean(arg, ACTION_OPTIONS[action])}`);
    else throw new UsageError(`files ${action} takes no ${JSON.stringify(arg)}`);
  }
  return args;
}

function fileText(file: LocalFile): string {
  const about = [file.id === undefined ? '' : `id ${file.id}`, file.name === undefined ? '' : `name ${file.name}`, file.interfaces?.join('+') ?? ''].filter(
    (part) => part !== '',
  );
  return `${file.path}  ${bytesText(file.bytes)}  ${file.modifiedAt}${about.length > 0 ? `  ${about.join('  ')}` : ''}`;
}

async function list(config: Config, args: FilesArgs, io: CommandIo): Promise<number> {
  const root = config.general.localdir;
  const files: LocalFile[] = [];
  let after: string | undefined;
  do {
    const page = await listLocalFiles(root, { ...fileQueryOf({ ...args.filters, limit: String(PAGE_FILES) }), ...(after === undefined ? {} : { after }) });
    if (args.json) files.push(...page.files);
    else for (const file of page.files) io.out(`${fileText(file)}\n`);
    after = page.next;
  } while (after !== undefined);
  if (args.json) io.out(`${JSON.stringify({ dir: root, files }, null, 2)}\n`);
  return 0;
}

function pruneText(item: RetentionItem, nowMs: number, dryRun: boolean): string {
  return `${dryRun ? 'would remove' : 'removed'} ${item.path} (${item.reason}, ${bytesText(item.bytes)}, ${ageText(nowMs - item.mtimeMs)} old)`;
}

async function prune(config: Config, args: FilesArgs, io: CommandIo): Promise<number> {
  const limits = retentionLimits(config);
  const root = config.general.localdir;
  if (!retentionEnabled(limits)) {
    io.out(`retention is off (retention.maxbytes and retention.maxage are 0): nothing removed from ${root}\n`);
    return 0;
  }
  const nowMs = Date.now();
  const plan = planRetention(await storedFiles(root), nowMs, limits);
  if (args.dryRun) {
    io.out(`${root}: ${plan.files} file(s), ${bytesText(plan.bytes)}; ${plan.remove.length} would be removed\n`);
    for (const item of plan.remove) io.out(`${pruneText(item, nowMs, true)}\n`);
    return 0;
  }
  const { log } = createLogger({ level: 'error', destination: { write: (line: string) => io.err(line) } });
  const removed = await applyRetention(root, plan, log);
  io.out(`${root}: ${plan.files} file(s), ${bytesText(plan.bytes)}; ${removed.length} removed\n`);
  for (const item of removed) io.out(`${pruneText(item, nowMs, false)}\n`);
  return removed.length === plan.remove.length ? 0 : 1;
}

export async function filesCommand(argv: readonly string[], defaultConfigPath: () => string, io: CommandIo): Promise<number> {
  const args = argsOrExit(parseArgs, argv, USAGE, io);
  if (typeof args === 'number') return args;
  const config = await loadConfigFile(args.configPath ?? defaultConfigPath());
  try {
    switch (args.action) {
      case 'list':
        return await list(config, args, io);
      case 'prune':
        return await prune(config, args, io);
      default: {
        const unreachable: never = args.action;
        return unreachable;
      }
    }
  } catch (err: unknown) {
    io.err(`pcapd: files ${args.action}: ${errorMessage(err)}\n`);
    return err instanceof PcapdError && err.code === 'PCAPD_ERR_REQUEST_INVALID' ? 2 : 1;
  }
}
