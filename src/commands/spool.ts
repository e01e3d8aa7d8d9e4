/**
 * `pcapd spool list|retry|cull`: look at and act on the spool of the pcapd
 * configured in -config FILE (or the default config).
 *
 *   pcapd spool list [--json]            every spooled capture and where it stands with each sink
 *   pcapd spool retry [KEY|ID ...]       try now (all, or the named captures), failed ones included
 *   pcapd spool cull [--dry-run]         remove delivered captures, and undelivered ones past
 *                                        spool.maxage or beyond spool.maxbytes
 *
 * While pcapd runs it holds the spool, so retry and cull are handed to it
 * (a request file in <spool>/control/ that it serves within a second) and
 * its answer is printed: one process decides what is retried and removed,
 * and its log and metrics count every removal. Without a running pcapd
 * the command acts itself, holding the spool's lock meanwhile.
 */
import type { Config } from '../config/schema.js';
import { loadConfigFile } from '../config/load.js';
import { errorMessage } from '../errors.js';
import { ageText, bytesText, didYouMean } from '../text.js';
import { planCull, type CullItem } from '../spool/cull.js';
import { SpoolStore, undeliveredSinks, type SpoolEntry, type ValidEntry } from '../spool/store.js';
import type { ControlRequest, ControlResult } from '../spool/control.js';
import { HELP_FLAGS, isHelpFlag } from './help.js';
import { argsOrExit, UsageError, type CommandIo } from './subcommand.js';

const ACTIONS = ['list', 'retry', 'cull'] as const;
type SpoolAction = (typeof ACTIONS)[number];

const CONFIG_OPTION = '  -config FILE      the config whose spool.dir to use (default: as for the daemon)';
const HELP_OPTION = '  -h, --help        this text';

const USAGE = `usage: pcapd spool list [--json] [-config FILE]
       pcapd spool retry [KEY|ID ...] [-config FILE]
       pcapd spool cull [--dry-run] [-config FILE]

The spool (spool.dir) keeps finished captures until every sink has them.
While pcapd runs, retry and cull are handed to it and its answer is printed;
otherwise the command acts itself.

commands:
  list     every spooled capture and where it stands with each sink
  retry    try now (all, or the named captures), failed ones included
  cull     remove delivered captures, and undelivered ones past spool.maxage
           or beyond spool.maxbytes

options:
${CONFIG_OPTION}
${HELP_OPTION}   (pcapd spool COMMAND --help: that command's)

example:
  pcapd spool list -config /etc/pcapd/config.toml`;

const ACTION_USAGE: Record<SpoolAction, string> = {
  list: `usage: pcapd spool list [--json] [-config FILE]

Lists every spooled capture: key, request id, segment, size and age, and with
each sink whether it is delivered, retrying (attempts, next try, last error
code) or failed (waits for a reload or pcapd spool retry); and whether a
running pcapd holds the spool.

options:
  --json            one JSON document on stdout instead of text
${CONFIG_OPTION}
${HELP_OPTION}

example:
  pcapd spool list --json -config /etc/pcapd/config.toml | jq '.captures[].sinks'`,
  retry: `usage: pcapd spool retry [KEY|ID ...] [-config FILE]

Tries again now every spooled capture (or those named by spool key or request
id) with each sink that does not have it yet, failed ones included.

options:
  KEY|ID            a spool key (as pcapd spool list shows it) or a request id
${CONFIG_OPTION}
${HELP_OPTION}

examples:
  pcapd spool retry
  pcapd spool retry alert-655443 -config /etc/pcapd/config.toml`,
  cull: `usage: pcapd spool cull [--dry-run] [-config FILE]

Applies the cull rules now: removes delivered captures, and undelivered ones
older than spool.maxage or, oldest first, beyond spool.maxbytes (each such
removal is logged and counted).

options:
  --dry-run         print what would be removed; remove nothing
${CONFIG_OPTION}
${HELP_OPTION}

example:
  pcapd spool cull --dry-run`,
};

/** Each command's options, for the nearest match to a mistyped one. */
const ACTION_OPTIONS: Record<SpoolAction, readonly string[]> = {
  list: ['--json', '-config', ...HELP_FLAGS],
  retry: ['-config', ...HELP_FLAGS],
  cull: ['--dry-run', '-config', ...HELP_FLAGS],
};

/** How long retry/cull wait for the running pcapd to answer. */
const ANSWER_TIMEOUT_MS = 30_000;

interface SpoolArgs {
  action: SpoolAction;
  configPath: string | undefined;
  json: boolean;
  dryRun: boolean;
  targets: string[];
}

function isAction(word: string): word is SpoolAction {
  return (ACTIONS as readonly string[]).includes(word);
}

/** The arguments, or the usage text asked for with --help. */
function parseArgs(argv: readonly string[]): SpoolArgs | { usage: string } {
  const [action, ...rest] = argv;
  if (isHelpFlag(action)) return { usage: USAGE };
  if (action === undefined) throw new UsageError('name a spool command');
  if (!isAction(action)) throw new UsageError(`unknown spool command ${JSON.stringify(action)}${didYouMean(action, ACTIONS)}`);
  if (rest.some(isHelpFlag)) return { usage: ACTION_USAGE[action] };
  const args: SpoolArgs = { action, configPath: undefined, json: false, dryRun: false, targets: [] };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] ?? '';
    if (arg === '-config' || arg === '--config') {
      args.configPath = rest[++i];
      if (args.configPath === undefined) throw new UsageError(`${arg} needs a file`);
    } else if (arg === '--json' && action === 'list') args.json = true;
    else if (arg === '--dry-run' && action === 'cull') args.dryRun = true;
    else if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg} for spool ${action}${didYouMean(arg, ACTION_OPTIONS[action])}`);
    else if (action === 'retry') args.targets.push(arg);
    else throw new UsageError(`spool ${action} takes no ${JSON.stringify(arg)}`);
  }
  return args;
}

/** One sink's standing, as `spool list` shows and --json carries it. */
interface SinkStatus {
  sink: string;
  state: 'delivered' | 'retrying' | 'failed';
  attempts?: number;
  nextAttemptAt?: string;
  code?: string;
  message?: string;
  locations?: string[];
}

function sinkStatuses(entry: ValidEntry): SinkStatus[] {
  return entry.record.sinks.map((sink): SinkStatus => {
    const marker = entry.delivered.get(sink);
    if (marker !== undefined) return { sink, state: 'delivered', locations: marker.delivery.locations };
    const state = entry.state.sinks[sink];
    if (state === undefined) return { sink, state: 'retrying', attempts: 0 };
    return {
      sink,
      state: state.failed ? 'failed' : 'retrying',
      attempts: state.failures,
      nextAttemptAt: state.nextAttemptAt,
      code: state.code,
      message: state.message,
    };
  });
}

function entryJson(entry: SpoolEntry, nowMs: number): Record<string, unknown> {
  if (entry.kind === 'invalid') return { key: entry.key, invalid: entry.problem, bytes: entry.bytes, ageSeconds: Math.round((nowMs - entry.mtimeMs) / 1000) };
  const { record } = entry;
  return {
    key: entry.key,
    id: record.id,
    segment: record.segment,
    spooledAt: record.spooledAt,
    ageSeconds: Math.round((nowMs - Date.parse(record.spooledAt)) / 1000),
    bytes: entry.bytes,
    files: record.files.map((file) => file.name),
    sinks: sinkStatuses(entry),
  };
}

function statusText(status: SinkStatus): string {
  switch (status.state) {
    case 'delivered':
      return `${status.sink}: delivered`;
    case 'retrying':
      return `${status.sink}: retrying (${status.attempts ?? 0} failed, next ${status.nextAttemptAt ?? 'now'}${status.code ? `, ${status.code}` : ''})`;
    case 'failed':
      return `${status.sink}: FAILED (${status.code ?? ''}: ${status.message ?? ''}; waits for pcapd spool retry)`;
    default: {
      const unreachable: never = status.state;
      return unreachable;
    }
  }
}

function entryText(entry: SpoolEntry, nowMs: number): string {
  if (entry.kind === 'invalid') return `${entry.key}  DAMAGED (${entry.problem})  ${bytesText(entry.bytes)}  ${ageText(nowMs - entry.mtimeMs)} old`;
  const { record } = entry;
  const head = `${entry.key}  id ${record.id}  segment ${record.segment}  ${bytesText(entry.bytes)}  ${ageText(nowMs - Date.parse(record.spooledAt))} old`;
  return [head, ...sinkStatuses(entry).map((status) => `    ${statusText(status)}`)].join('\n');
}

function cullText(item: CullItem, dryRun: boolean): string {
  const verb = dryRun ? 'would remove' : 'removed';
  const lost = item.undelivered.length === 0 ? '' : `, never delivered to ${item.undelivered.join(', ')}`;
  return `${verb} ${item.key} (${item.reason}, ${bytesText(item.bytes)}, ${ageText(item.ageMs)} old${lost})`;
}

async function holderText(store: SpoolStore): Promise<string> {
  const holder = await store.lock.holder();
  if (holder === undefined) return 'no pcapd is running on it';
  return holder.role === 'daemon' ? `held by the running pcapd (pid ${holder.pid})` : `held by a pcapd spool command (pid ${holder.pid})`;
}

async function list(store: SpoolStore, args: SpoolArgs, io: CommandIo): Promise<number> {
  const entries = await store.list();
  const now = Date.now();
  if (args.json) {
    io.out(`${JSON.stringify({ dir: store.dir, captures: entries.map((entry) => entryJson(entry, now)) }, null, 2)}\n`);
    return 0;
  }
  const bytes = entries.reduce((sum, entry) => sum + entry.bytes, 0);
  io.out(`spool ${store.dir}: ${entries.length} capture(s), ${bytesText(bytes)}; ${await holderText(store)}\n`);
  for (const entry of entries) io.out(`${entryText(entry, now)}\n`);
  return 0;
}

/** Hands the request to the running pcapd and prints its answer. */
async function askDaemon(store: SpoolStore, request: ControlRequest, pid: number, io: CommandIo): Promise<number> {
  const id = await store.control.writeRequest(request);
  const deadline = Date.now() + ANSWER_TIMEOUT_MS;
  let result: ControlResult | undefined;
  while (result === undefined && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    result = await store.control.takeResult(id);
  }
  if (result === undefined) {
    await store.control.withdrawRequest(id);
    io.err(`pcapd: the running pcapd (pid ${pid}) did not answer within ${ANSWER_TIMEOUT_MS / 1000} s; request withdrawn\n`);
    return 1;
  }
  io.out(`${result.message}\n`);
  for (const key of result.rearmed ?? []) io.out(`retrying ${key}\n`);
  for (const removed of result.removed ?? []) io.out(`removed ${removed.key} (${removed.reason})\n`);
  return result.ok ? 0 : 1;
}

/** Runs `act` holding the spool's lock (no pcapd may start on it meanwhile). */
async function whileLocked<T>(store: SpoolStore, act: () => Promise<T>): Promise<T> {
  await store.lock.acquire('cli');
  try {
    return await act();
  } finally {
    await store.lock.release();
  }
}

async function retry(store: SpoolStore, args: SpoolArgs, io: CommandIo): Promise<number> {
  const holder = await store.lock.holder();
  if (holder?.role === 'daemon') return askDaemon(store, { action: 'retry', targets: args.targets, requestedAt: new Date().toISOString() }, holder.pid, io);
  const rearmed = await whileLocked(store, async () => {
    const now = new Date().toISOString();
    const keys: string[] = [];
    for (const entry of await store.list()) {
      if (entry.kind !== 'valid') continue;
      if (args.targets.length > 0 && !args.targets.includes(entry.key) && !args.targets.includes(entry.record.id)) continue;
      const sinks = undeliveredSinks(entry);
      if (sinks.length === 0) continue;
      for (const sink of sinks) {
        const state = entry.state.sinks[sink];
        if (state !== undefined) Object.assign(state, { failed: false, nextAttemptAt: now });
      }
      await store.writeState(entry.key, entry.state);
      keys.push(entry.key);
    }
    return keys;
  });
  io.out(`no pcapd is running: ${rearmed.length} capture(s) re-armed; pcapd tries every spooled capture when it starts\n`);
  for (const key of rearmed) io.out(`re-armed ${key}\n`);
  return 0;
}

async function cull(store: SpoolStore, config: Config, args: SpoolArgs, io: CommandIo): Promise<number> {
  const limits = { maxAgeMs: config.spool.maxage * 1000, maxBytes: config.spool.maxbytes };
  const holder = await store.lock.holder();
  if (args.dryRun) {
    const plan = planCull(await store.list(), Date.now(), limits);
    io.out(`${plan.length} capture(s) would be removed\n`);
    for (const item of plan) io.out(`${cullText(item, true)}\n`);
    return 0;
  }
  if (holder?.role === 'daemon') return askDaemon(store, { action: 'cull', targets: [], requestedAt: new Date().toISOString() }, holder.pid, io);
  const removed = await whileLocked(store, async () => {
    const plan = planCull(await store.list(), Date.now(), limits);
    const done: CullItem[] = [];
    for (const item of plan) if (await store.remove(item.key)) done.push(item);
    return done;
  });
  io.out(`${removed.length} capture(s) removed\n`);
  for (const item of removed) io.out(`${cullText(item, false)}\n`);
  return 0;
}

export async function spoolCommand(argv: readonly string[], defaultConfigPath: () => string, io: CommandIo): Promise<number> {
  const args = argsOrExit(parseArgs, argv, USAGE, io);
  if (typeof args === 'number') return args;
  const config = await loadConfigFile(args.configPath ?? defaultConfigPath());
  const store = new SpoolStore(config.spool.dir);
  try {
    switch (args.action) {
      case 'list':
        return await list(store, args, io);
      case 'retry':
        return await retry(store, args, io);
      case 'cull':
        return await cull(store, config, args, io);
      default: {
        const unreachable: never = args.action;
        return unreachable;
      }
    }
  } catch (err: unknown) {
    io.err(`pcapd: spool ${args.action}: ${errorMessage(err)}\n`);
    return 1;
  }
}
