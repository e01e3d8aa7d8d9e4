/**
 * Burst capture benchmark: pcapd against tcpdump on the same veth link, the
 * same filter and the same pcap replayed at tcpreplay's top speed.
 *
 *   npx tsx bench/capture-burst.ts
 *   BENCH_SAMPLES=3 BENCH_PACKETS_64=100000 npx tsx bench/capture-burst.ts
 *
 * Besides the cold scenarios (one capture, its own handle and ring), a warm
 * one: four captures with four different filters that all match the burst,
 * attached to one warm interface's shared reader (src/capture/warm-interfaces.ts);
 * its "captured" is the fewest any of the four caught, its CPU the reader
 * thread's plus the captures' prefetch threads.
 *
 *   BENCH_SCENARIOS=warm npx tsx bench/capture-burst.ts     only the warm one
 *
 * The warm scenario replays BENCH_PACKETS_WARM packets (default 50,000) at
 * both frame sizes, on the kernel ring a warm interface gets by default.
 *
 * Every figure is printed beside tcpdump's figure from the same invocation and
 * as a ratio, because absolute numbers on a shared 2-core machine mean little
 * on their own. The targets are reported (met / MISSED), never asserted: the
 * exit code is 0 whenever the benchmark itself ran.
 *
 * Needs root (network namespaces, raw capture), tcpdump and tcpreplay, and the
 * native addon (`npm run build:native`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

import { DEFAULT_KERNEL_BUFFER_BYTES, startCapture, type CaptureHandle } from '../src/capture/capture.js';
import { libpcapVersion } from '../src/capture/devices.js';
import { WARM_BUFFER_BYTES_DEFAULT, WARM_LOOKBACK_BYTES_DEFAULT } from '../src/config/schema.js';
import { WarmInterfaces } from '../src/capture/warm-interfaces.js';
import { createLogger } from '../src/log/logger.js';
import { Metrics } from '../src/metrics/metrics.js';
import { run } from '../test/helpers/exec.js';
import { TEST_FILTER, writeTrafficPcap } from '../test/helpers/frames.js';
import { createTestLink, type TestLink } from '../test/helpers/netns.js';
import { CLOCK_TICK_MS, processCpuMs } from './lib/proc.js';
import { formatSpread, pairedRatios, spread, type Spread } from './lib/stats.js';

// ---------------------------------------------------------------------------
// Settings

const MIB = 1024 * 1024;
const SNAPLEN_BYTES = 262_144;
/** libpcap's default ring, which tcpdump uses unless given -B. */
const TCPDUMP_DEFAULT_BUFFER_BYTES = 2 * MIB;
const FRAME_SIZES_BYTES = [64, 1514] as const;
/**
 * Each tool at its own default first (what a user gets), then both on the
 * same ring: 8 MiB, and a 1 MiB ring of four 256 KiB blocks, small enough that
 * tcpdump drops 1514 B bursts, to show behaviour under pressure. pcapd's 1 ms
 * block timeout retires blocks part-full, so on an equal small ring it has
 * fewer packets of slack than tcpdump's 1000 ms timeout: the price of
 * delivering a finished capture at once.
 */
const RINGS: ReadonlyArray<{ label: string; tcpdumpBytes: number; pcapdBytes: number; warm: boolean }> = [
  { label: 'defaults', tcpdumpBytes: TCPDUMP_DEFAULT_BUFFER_BYTES, pcapdBytes: DEFAULT_KERNEL_BUFFER_BYTES, warm: false },
  { label: 'equal ring', tcpdumpBytes: 8 * MIB, pcapdBytes: 8 * MIB, warm: false },
  { label: 'equal small ring', tcpdumpBytes: 1 * MIB, pcapdBytes: 1 * MIB, warm: false },
  { label: 'warm, 4 captures', tcpdumpBytes: TCPDUMP_DEFAULT_BUFFER_BYTES, pcapdBytes: WARM_BUFFER_BYTES_DEFAULT, warm: true },
];
/** The warm scenario's four captures: different programs, each matching every frame of the burst. */
const WARM_FILTERS = [TEST_FILTER, 'udp', 'ip', 'dst host 10.99.0.2'] as const;

/** pcapd stops this long after the last packet; tcpdump gets the same grace. */
const IDLE_MS = 300;
/**
 * tcpdump runs libpcap with its default 1000 ms packet-buffer timeout, so on a
 * TPACKET_V3 ring the last, partly filled block only reaches tcpdump when the
 * kernel retires it after up to 1 s. Interrupting it earlier would count that
 * tail as "received by filter" but not "captured" and flatter pcapd (which
 * uses a 1 ms timeout), so tcpdump is given the idle grace plus one timeout
 * (measured on a 50 000-packet burst: 4 short at +300 ms, none at +1300 ms).
 * Its CPU is sampled at the same moment; it sleeps in poll meanwhile.
 */
const TCPDUMP_BLOCK_TIMEOUT_MS = 1000;
const TCPDUMP_TAIL_MS = IDLE_MS + TCPDUMP_BLOCK_TIMEOUT_MS;

// Bounds: every wait below has one, so a wedged tool cannot hang the run.
const CAPTURE_DURATION_MS = 120_000;
const ARM_TIMEOUT_MS = 10_000;
const REPLAY_TIMEOUT_MS = 120_000;
const DONE_TIMEOUT_MS = CAPTURE_DURATION_MS + 10_000;
const TCPDUMP_EXIT_TIMEOUT_MS = 10_000;
const SETTLE_BETWEEN_RUNS_MS = 200;

const PCAPD_CPU_TARGET_NS = 100;
const CAPTURED_RATIO_TARGET = 1.0;
const CAPTURED_RATIO_GOAL_UNDER_DROPS = 1.2;

// A name per invocation, so concurrent runs and other users of /dev/shm are untouched.
const SHM_PREFIX = `/dev/shm/pcapd-bench-${process.pid}`;

interface BenchConfig {
  packetsByFrameBytes: ReadonlyMap<number, number>;
  /** The warm scenario's burst, at both frame sizes: the 50,000 packets its goal names. */
  warmPackets: number;
  samples: number;
}

function envCount(name: string, fallback: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new Error(`${name}=${raw}: expected an integer from 1 to ${max}`);
  }
  return value;
}

function readConfig(): BenchConfig {
  // The packet caps keep a generated pcap (built in one Buffer) well under 2 GiB.
  return {
    packetsByFrameBytes: new Map([
      [64, envCount('BENCH_PACKETS_64', 200_000, 5_000_000)],
      [1514, envCount('BENCH_PACKETS_1514', 100_000, 1_000_000)],
    ]),
    warmPackets: envCount('BENCH_PACKETS_WARM', 50_000, 1_000_000),
    samples: envCount('BENCH_SAMPLES', 5, 50),
  };
}

// ---------------------------------------------------------------------------
// Cleanup: everything the run creates is registered here, so the finally block
// and the SIGINT handler can remove it whichever step was in progress.

const active = {
  link: undefined as TestLink | undefined,
  tcpdump: undefined as ChildProcess | undefined,
  capture: undefined as CaptureHandle | undefined,
  files: new Set<string>(),
};
let interrupted = false;

async function cleanup(): Promise<void> {
  const { tcpdump, capture, link } = active;
  active.tcpdump = undefined;
  active.capture = undefined;
  active.link = undefined;
  if (tcpdump !== undefined && tcpdump.exitCode === null && tcpdump.signalCode === null) tcpdump.kill('SIGKILL');
  capture?.cancel('cancelled');
  // Destroying the link also ends a tcpreplay still sending into it.
  await link?.destroy();
  const files = [...active.files];
  active.files.clear();
  await Promise.all(files.map((path) => rm(path, { force: true })));
}

function onSigint(): void {
  if (interrupted) return;
  interrupted = true;
  console.error('\ninterrupted: stopping tcpdump and pcapd, removing the test link and files');
  void cleanup().finally(() => process.exit(130));
}

// ---------------------------------------------------------------------------
// Small helpers

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function matchNumber(text: string, pattern: RegExp, what: string): number {
  const match = pattern.exec(text);
  if (match?.[1] === undefined) throw new Error(`could not find ${what} in:\n${text}`);
  return Number(match[1]);
}

function mib(bytes: number): string {
  return `${bytes / MIB} MiB`;
}

// ---------------------------------------------------------------------------
// Machine

async function firstLine(command: string, args: readonly string[]): Promise<string> {
  try {
    return (await run(command, args)).split('\n')[0]?.trim() ?? '';
  } catch (err: unknown) {
    return `unavailable (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`;
  }
}

/** `<tool> --version`, whichever stream the tool writes it to (tcpreplay uses stderr; run() keeps stdout). */
function versionLine(tool: 'tcpdump' | 'tcpreplay'): Promise<string> {
  return firstLine('sh', ['-c', `${tool} --version 2>&1`]);
}

async function printMachine(): Promise<void> {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8');
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? 'unknown';
  const rows: Array<[string, string]> = [
    ['CPU', cpuModel],
    ['nproc', await firstLine('nproc', [])],
    ['kernel', await firstLine('uname', ['-r'])],
    ['Node', process.version],
    ['libpcap (pcapd)', libpcapVersion()],
    ['tcpdump', await versionLine('tcpdump')],
    ['tcpreplay', await versionLine('tcpreplay')],
    // The machine is shared; a busy neighbour shows up as spread, so say how busy it was.
    [
      'load average',
      loadavg()
        .map((load) => load.toFixed(2))
        .join(' '),
    ],
  ];
  console.log('Machine');
  for (const [name, value] of rows) console.log(`  ${name.padEnd(16)} ${value}`);
}

// ---------------------------------------------------------------------------
// Traffic

interface ReplayFigures {
  /** Frames tcpreplay handed to the kernel successfully. */
  sentPackets: number;
  failedPackets: number;
  pps: number;
}

/** Replays `pcapPath` at top speed from inside the namespace and returns tcpreplay's own figures. */
async function replayTopspeed(link: TestLink, pcapPath: string): Promise<ReplayFigures> {
  // link.replay() discards tcpreplay's report, and the rate is part of the result here.
  const stdout = await run('ip', ['netns', 'exec', link.ns, 'tcpreplay', '-i', link.nsIf, '--topspeed', pcapPath], REPLAY_TIMEOUT_MS);
  return {
    sentPackets: matchNumber(stdout, /Successful packets:\s+(\d+)/, 'tcpreplay successful packets'),
    failedPackets: matchNumber(stdout, /Failed packets:\s+(\d+)/, 'tcpreplay failed packets'),
    pps: matchNumber(stdout, /Rated:.*?([\d.]+) pps/, 'tcpreplay rate'),
  };
}

// ---------------------------------------------------------------------------
// One capture run per tool

interface RunFigures {
  replay: ReplayFigures;
  captured: number;
  /** ps_recv: packets that passed the kernel filter, dropped ones included. */
  receivedByFilter: number;
  kernelDrops: number;
  /** tcpdump: utime + stime in clock ticks; pcapd: the capture thread's CPU clock. */
  cpuNs: number;
  cpuNsPerPacket: number;
  /** tcpdump: the scheduler's ns run time (schedstat); pcapd: the same thread CPU clock as `cpuNs`. */
  schedCpuNs: number;
  schedCpuNsPerPacket: number;
}

interface Scenario {
  warm: boolean;
  frameBytes: number;
  packets: number;
  pcapPath: string;
  ringLabel: string;
  tcpdumpBufferBytes: number;
  pcapdBufferBytes: number;
}

/**
 * On-CPU time of all of a process's threads from the scheduler's own ns
 * accounting (the clock pcapd's CLOCK_THREAD_CPUTIME_ID reads). Sampled while
 * tcpdump sleeps in poll, when the figure is current. It complements the tick
 * count, whose 10 ms steps are tens of ns per packet even at 200 000 packets.
 */
async function processSchedNs(pid: number): Promise<number> {
  let totalNs = 0;
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const schedstat = await readFile(`/proc/${pid}/task/${tid}/schedstat`, 'utf8');
    const runNs = Number(schedstat.split(' ')[0]);
    if (!Number.isFinite(runNs)) throw new Error(`unexpected schedstat for ${pid}/${tid}: ${schedstat}`);
    totalNs += runNs;
  }
  return totalNs;
}

function perPacket(ns: number, packets: number): number {
  return packets === 0 ? NaN : ns / packets;
}

/** Resolves once tcpdump has opened the interface and installed its filter. */
function waitUntilListening(tcpdump: ChildProcess, stderr: () => string): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve, reject) => {
      const onData = (): void => {
        if (!stderr().includes('listening on')) return;
        detach();
        resolve();
      };
      const onExit = (): void => {
        detach();
        reject(new Error(`tcpdump exited before listening:\n${stderr()}`));
      };
      const detach = (): void => {
        tcpdump.stderr?.off('data', onData);
        tcpdump.off('exit', onExit);
      };
      tcpdump.stderr?.on('data', onData);
      tcpdump.once('exit', onExit);
      onData(); // the line may already be in
    }),
    ARM_TIMEOUT_MS,
    'tcpdump listening',
  );
}

async function stopTcpdump(tcpdump: ChildProcess): Promise<void> {
  if (tcpdump.exitCode !== null || tcpdump.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => tcpdump.once('exit', () => resolve()));
  // SIGINT, not SIGTERM: tcpdump then flushes its file and prints its statistics.
  tcpdump.kill('SIGINT');
  try {
    await withTimeout(exited, TCPDUMP_EXIT_TIMEOUT_MS, 'tcpdump exit after SIGINT');
  } catch (err: unknown) {
    tcpdump.kill('SIGKILL');
    throw err;
  }
}

async function runTcpdump(link: TestLink, scenario: Scenario, outPath: string): Promise<RunFigures> {
  const bufferKiB = scenario.tcpdumpBufferBytes / 1024;
  const args = ['-i', link.hostIf, '-n', '-w', outPath, '-B', String(bufferKiB), '-s', String(SNAPLEN_BYTES), TEST_FILTER];
  active.files.add(outPath);
  const tcpdump = spawn('tcpdump', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  active.tcpdump = tcpdump;
  let stderrText = '';
  tcpdump.stderr.setEncoding('utf8');
  tcpdump.stderr.on('data', (chunk: string) => {
    stderrText += chunk;
  });
  try {
    await waitUntilListening(tcpdump, () => stderrText);
    const pid = tcpdump.pid;
    if (pid === undefined) throw new Error('tcpdump has no pid');
    const cpuBeforeNs = processCpuMs(pid) * 1e6;
    const schedBeforeNs = await processSchedNs(pid);
    const replay = await replayTopspeed(link, scenario.pcapPath);
    await sleep(TCPDUMP_TAIL_MS);
    const cpuNs = processCpuMs(pid) * 1e6 - cpuBeforeNs;
    const schedCpuNs = (await processSchedNs(pid)) - schedBeforeNs;
    await stopTcpdump(tcpdump);
    const captured = matchNumber(stderrText, /(\d+) packets? captured/, 'tcpdump packets captured');
    return {
      replay,
      captured,
      receivedByFilter: matchNumber(stderrText, /(\d+) packets? received by filter/, 'tcpdump received by filter'),
      kernelDrops: matchNumber(stderrText, /(\d+) packets? dropped by kernel/, 'tcpdump kernel drops'),
      cpuNs,
      cpuNsPerPacket: perPacket(cpuNs, captured),
      schedCpuNs,
      schedCpuNsPerPacket: perPacket(schedCpuNs, captured),
    };
  } finally {
    if (tcpdump.exitCode === null && tcpdump.signalCode === null) tcpdump.kill('SIGKILL');
    active.tcpdump = undefined;
    await rm(outPath, { force: true });
    active.files.delete(outPath);
  }
}

async function runPcapd(link: TestLink, scenario: Scenario): Promise<RunFigures> {
  const capture = startCapture({
    interfaces: [{ name: link.hostIf }],
    filter: TEST_FILTER,
    snaplenBytes: SNAPLEN_BYTES,
    format: 'pcapng',
    bufferBytes: scenario.pcapdBufferBytes,
    limits: { packets: 0, bytes: 0, durationMs: CAPTURE_DURATION_MS, idleMs: IDLE_MS },
  });
  active.capture = capture;
  // If arming fails, `done` rejects too; it is awaited below only on the success path.
  capture.done.catch(() => undefined);
  try {
    await withTimeout(capture.armed, ARM_TIMEOUT_MS, 'pcapd armed');
    const replay = await replayTopspeed(link, scenario.pcapPath);
    const result = await withTimeout(capture.done, DONE_TIMEOUT_MS, 'pcapd done');
    if (result.reason === 'error') throw new Error(`pcapd capture failed: ${result.error ?? 'no message'}`);
    const iface = result.interfaces[0];
    if (iface === undefined) throw new Error('pcapd result has no interface counters');
    return {
      replay,
      captured: result.packets,
      receivedByFilter: iface.received,
      kernelDrops: iface.dropped,
      cpuNs: result.captureCpuNs,
      cpuNsPerPacket: perPacket(result.captureCpuNs, result.packets),
      // Second row: the whole native core, capture thread plus the helper
      // thread that pre-faults large buffer chunks off the packet path.
      schedCpuNs: result.captureCpuNs + result.prefetchCpuNs,
      schedCpuNsPerPacket: perPacket(result.captureCpuNs + result.prefetchCpuNs, result.packets),
    };
  } catch (err: unknown) {
    capture.cancel('cancelled');
    throw err;
  } finally {
    active.capture = undefined;
  }
}

/** Four captures attached to one warm interface's reader, the same burst. */
async function runPcapdWarm(link: TestLink, scenario: Scenario): Promise<RunFigures> {
  const { log } = createLogger({ level: 'silent' });
  const warm = new WarmInterfaces({ log, metrics: new Metrics({ version: 'bench', libpcap: 'bench', defaults: false }), reopenDelayMs: () => 500 });
  await warm.reconcile([
    {
      name: link.hostIf,
      snaplenBytes: SNAPLEN_BYTES,
      promiscuous: true,
      bufferBytes: scenario.pcapdBufferBytes,
      lookbackBytes: WARM_LOOKBACK_BYTES_DEFAULT,
      lookbackSeconds: 30,
      lookbackFilter: '',
    },
  ]);
  try {
    const deadline = Date.now() + ARM_TIMEOUT_MS;
    while (warm.readerFor(link.hostIf) === undefined) {
      if (Date.now() > deadline) throw new Error('the warm interface did not open');
      await sleep(10);
    }
    const reader = warm.readerFor(link.hostIf);
    const captures = WARM_FILTERS.map((filter) =>
      startCapture({
        interfaces: [{ name: link.hostIf }],
        filter,
        snaplenBytes: SNAPLEN_BYTES,
        format: 'pcapng',
        limits: { packets: 0, bytes: 0, durationMs: CAPTURE_DURATION_MS, idleMs: IDLE_MS },
        ...(reader === undefined ? {} : { warm: reader }),
      }),
    );
    for (const capture of captures) capture.done.catch(() => undefined);
    await withTimeout(Promise.all(captures.map((capture) => capture.armed)), ARM_TIMEOUT_MS, 'pcapd warm captures armed');
    // The reader publishes its CPU clock every 100 ms: read it after a publish on each side.
    await sleep(150);
    const readerBeforeNs = (warm.status()[0]?.readerCpuSeconds ?? 0) * 1e9;
    const replay = await replayTopspeed(link, scenario.pcapPath);
    const results = await withTimeout(Promise.all(captures.map((capture) => capture.done)), DONE_TIMEOUT_MS, 'pcapd warm done');
    await sleep(150);
    const readerNs = (warm.status()[0]?.readerCpuSeconds ?? 0) * 1e9 - readerBeforeNs;
    const failed = results.find((result) => result.reason === 'error');
    if (failed !== undefined) throw new Error(`pcapd warm capture failed: ${failed.error ?? 'no message'}`);
    const captured = Math.min(...results.map((result) => result.packets));
    const prefetchNs = results.reduce((sum, result) => sum + result.prefetchCpuNs, 0);
    const counters = results[0]?.interfaces[0];
    console.log(`    warm captures: ${results.map((result, i) => `${WARM_FILTERS[i]}: ${result.packets}`).join(', ')}`);
    return {
      replay,
      captured,
      receivedByFilter: counters?.received ?? 0,
      kernelDrops: Math.max(...results.map((result) => result.interfaces[0]?.dropped ?? 0)),
      cpuNs: readerNs,
      cpuNsPerPacket: perPacket(readerNs, captured),
      schedCpuNs: readerNs + prefetchNs,
      schedCpuNsPerPacket: perPacket(readerNs + prefetchNs, captured),
    };
  } finally {
    await warm.close();
  }
}

// ---------------------------------------------------------------------------
// Scenarios

interface SamplePair {
  tcpdump: RunFigures;
  pcapd: RunFigures;
}

async function runScenario(link: TestLink, scenario: Scenario, samples: number): Promise<SamplePair[]> {
  const pairs: SamplePair[] = [];
  const tcpdumpOut = `${SHM_PREFIX}-tcpdump.pcap`;
  for (let sample = 0; sample < samples && !interrupted; sample++) {
    // Alternate who goes first so that warm caches or a drifting neighbour
    // load do not favour one tool systematically.
    const tcpdumpFirst = sample % 2 === 0;
    let tcpdump: RunFigures | undefined;
    let pcapd: RunFigures | undefined;
    for (const tool of tcpdumpFirst ? ['tcpdump', 'pcapd'] : ['pcapd', 'tcpdump']) {
      if (tool === 'tcpdump') tcpdump = await runTcpdump(link, scenario, tcpdumpOut);
      else pcapd = scenario.warm ? await runPcapdWarm(link, scenario) : await runPcapd(link, scenario);
      await sleep(SETTLE_BETWEEN_RUNS_MS);
    }
    if (tcpdump === undefined || pcapd === undefined) throw new Error('a sample is missing a run');
    pairs.push({ tcpdump, pcapd });
    console.log(`  sample ${sample + 1}/${samples} (${tcpdumpFirst ? 'tcpdump' : 'pcapd'} first): ${describePair({ tcpdump, pcapd })}`);
  }
  return pairs;
}

function describeRun(figures: RunFigures): string {
  const kpps = (figures.replay.pps / 1000).toFixed(0);
  return `${figures.captured} captured, ${figures.kernelDrops} dropped, ${figures.schedCpuNsPerPacket.toFixed(0)} ns/pkt @ ${kpps} kpps`;
}

function describePair(pair: SamplePair): string {
  return `tcpdump ${describeRun(pair.tcpdump)} | pcapd ${describeRun(pair.pcapd)}`;
}

// ---------------------------------------------------------------------------
// Report

interface ScenarioSummary {
  offeredPackets: Spread | null;
  offeredKpps: Spread | null;
  failedSends: number;
  tcpdump: ToolSummary;
  pcapd: ToolSummary;
  capturedRatio: Spread | null;
  cpuPerPacketRatio: Spread | null;
  schedCpuPerPacketRatio: Spread | null;
  /** Samples in which tcpdump dropped nothing, and of those, how many pcapd dropped in. */
  samplesTcpdumpClean: number;
  samplesPcapdDroppedWhereTcpdumpClean: number;
}

interface ToolSummary {
  captured: Spread | null;
  receivedByFilter: Spread | null;
  kernelDrops: Spread | null;
  cpuNsPerPacket: Spread | null;
  schedCpuNsPerPacket: Spread | null;
}

function summariseTool(runs: readonly RunFigures[]): ToolSummary {
  return {
    captured: spread(runs.map((r) => r.captured)),
    receivedByFilter: spread(runs.map((r) => r.receivedByFilter)),
    kernelDrops: spread(runs.map((r) => r.kernelDrops)),
    cpuNsPerPacket: spread(runs.map((r) => r.cpuNsPerPacket)),
    schedCpuNsPerPacket: spread(runs.map((r) => r.schedCpuNsPerPacket)),
  };
}

function summarise(pairs: readonly SamplePair[]): ScenarioSummary {
  const tcpdumpRuns = pairs.map((pair) => pair.tcpdump);
  const pcapdRuns = pairs.map((pair) => pair.pcapd);
  const allRuns = [...tcpdumpRuns, ...pcapdRuns];
  const clean = pairs.filter((pair) => pair.tcpdump.kernelDrops === 0);
  return {
    offeredPackets: spread(allRuns.map((r) => r.replay.sentPackets)),
    offeredKpps: spread(allRuns.map((r) => r.replay.pps / 1000)),
    failedSends: allRuns.reduce((sum, r) => sum + r.replay.failedPackets, 0),
    tcpdump: summariseTool(tcpdumpRuns),
    pcapd: summariseTool(pcapdRuns),
    // Ratios are taken per sample (the two runs of one sample are neighbours in time), then summarised.
    capturedRatio: spread(
      pairedRatios(
        pcapdRuns.map((r) => r.captured),
        tcpdumpRuns.map((r) => r.captured),
      ),
    ),
    cpuPerPacketRatio: spread(
      pairedRatios(
        pcapdRuns.map((r) => r.cpuNsPerPacket),
        tcpdumpRuns.map((r) => r.cpuNsPerPacket),
      ),
    ),
    schedCpuPerPacketRatio: spread(
      pairedRatios(
        pcapdRuns.map((r) => r.schedCpuNsPerPacket),
        tcpdumpRuns.map((r) => r.schedCpuNsPerPacket),
      ),
    ),
    samplesTcpdumpClean: clean.length,
    samplesPcapdDroppedWhereTcpdumpClean: clean.filter((pair) => pair.pcapd.kernelDrops > 0).length,
  };
}

function printTable(summary: ScenarioSummary): void {
  const row = (name: string, tcpdump: string, pcapd: string, ratio = ''): string => `  ${name.padEnd(22)} ${tcpdump.padEnd(28)} ${pcapd.padEnd(28)} ${ratio}`;
  console.log(`  offered packets        ${formatSpread(summary.offeredPackets)}`);
  console.log(`  offered rate (kpps)    ${formatSpread(summary.offeredKpps, 1)}`);
  if (summary.failedSends > 0) console.log(`  tcpreplay failed sends ${summary.failedSends} (over all runs)`);
  console.log(row('', 'tcpdump', 'pcapd', 'pcapd/tcpdump'));
  console.log(row('captured packets', formatSpread(summary.tcpdump.captured), formatSpread(summary.pcapd.captured), formatSpread(summary.capturedRatio, 3)));
  console.log(row('received by filter', formatSpread(summary.tcpdump.receivedByFilter), formatSpread(summary.pcapd.receivedByFilter)));
  console.log(row('kernel drops', formatSpread(summary.tcpdump.kernelDrops), formatSpread(summary.pcapd.kernelDrops)));
  console.log(
    row('CPU ns/packet', formatSpread(summary.tcpdump.cpuNsPerPacket), formatSpread(summary.pcapd.cpuNsPerPacket), formatSpread(summary.cpuPerPacketRatio, 3)),
  );
  console.log(
    row(
      'CPU ns/packet (sched)',
      formatSpread(summary.tcpdump.schedCpuNsPerPacket),
      formatSpread(summary.pcapd.schedCpuNsPerPacket),
      formatSpread(summary.schedCpuPerPacketRatio, 3),
    ),
  );
}

function verdict(ok: boolean): string {
  return ok ? 'met' : 'MISSED';
}

function printVerdict(summary: ScenarioSummary, samples: number, scenario: Scenario): void {
  const parts: string[] = [];

  if (scenario.warm) {
    // Each sample's "captured" is the fewest any of the four captures caught.
    const worst = (summary.pcapd.captured?.min ?? 0) / scenario.packets;
    parts.push(`each of the four captures caught/offered ≥ 1.000 in every sample: ${verdict(worst >= 1)} (worst ${worst.toFixed(3)})`);
  }

  if (summary.samplesTcpdumpClean === 0) {
    parts.push('zero drops where tcpdump has zero: n/a (tcpdump dropped in every sample)');
  } else {
    const bad = summary.samplesPcapdDroppedWhereTcpdumpClean;
    parts.push(`zero drops where tcpdump has zero: ${verdict(bad === 0)} (pcapd dropped in ${bad} of ${summary.samplesTcpdumpClean})`);
  }

  const ratio = summary.capturedRatio?.median ?? NaN;
  const tcpdumpDrops = (summary.tcpdump.kernelDrops?.median ?? 0) > 0;
  let capturedText = `captured ratio ${ratio.toFixed(3)} ≥ ${CAPTURED_RATIO_TARGET.toFixed(1)}: ${verdict(ratio >= CAPTURED_RATIO_TARGET)}`;
  if (tcpdumpDrops) {
    capturedText += `, goal ${CAPTURED_RATIO_GOAL_UNDER_DROPS.toFixed(1)} (tcpdump drops): ${verdict(ratio >= CAPTURED_RATIO_GOAL_UNDER_DROPS)}`;
  }
  parts.push(capturedText);

  const cpuNs = summary.pcapd.cpuNsPerPacket?.median ?? NaN;
  parts.push(`pcapd CPU ${cpuNs.toFixed(0)} ns/pkt ≤ ${PCAPD_CPU_TARGET_NS}: ${verdict(cpuNs <= PCAPD_CPU_TARGET_NS)}`);

  console.log(`  verdict (medians over ${samples} samples): ${parts.join('; ')}`);
}

/** Says how the two CPU rows were measured and what one tick is worth per packet. */
function printCpuNote(packets: number): void {
  const tickNs = CLOCK_TICK_MS * 1e6;
  console.log(
    `  CPU: tcpdump whole process from listening to burst end + ${TCPDUMP_TAIL_MS} ms, ` +
      `/proc/<pid>/stat ticks (1 tick = ${tickNs / 1e6} ms = ${(tickNs / packets).toFixed(0)} ns/packet here) ` +
      `and schedstat ns (sched row); pcapd: capture thread CPU clock from arming to close (first row), plus its chunk prefetch thread (sched row); ` +
      `warm: the shared reader thread over the burst (first row), plus the four captures' prefetch threads (sched row)`,
  );
}

// ---------------------------------------------------------------------------
// Main

/** Writes each burst the scenarios replay (one file per frame size and packet count). */
async function generatePcaps(list: readonly Scenario[]): Promise<void> {
  const written = new Set<string>();
  for (const scenario of list) {
    if (written.has(scenario.pcapPath)) continue;
    written.add(scenario.pcapPath);
    active.files.add(scenario.pcapPath);
    await writeTrafficPcap(scenario.pcapPath, scenario.packets, scenario.frameBytes);
  }
}

function scenarios(config: BenchConfig): Scenario[] {
  const list: Scenario[] = [];
  const only = process.env['BENCH_SCENARIOS'];
  for (const frameBytes of FRAME_SIZES_BYTES) {
    for (const ring of RINGS) {
      if (only === 'warm' && !ring.warm) continue;
      if (only === 'cold' && ring.warm) continue;
      const packets = ring.warm ? config.warmPackets : config.packetsByFrameBytes.get(frameBytes);
      if (packets === undefined) throw new Error(`no packet count for ${frameBytes} B frames`);
      list.push({
        frameBytes,
        packets,
        pcapPath: `${SHM_PREFIX}-f${frameBytes}-n${packets}.pcap`,
        warm: ring.warm,
        ringLabel: ring.label,
        tcpdumpBufferBytes: ring.tcpdumpBytes,
        pcapdBufferBytes: ring.pcapdBytes,
      });
    }
  }
  return list;
}

async function main(): Promise<void> {
  const config = readConfig();

  await printMachine();
  console.log(`  samples          ${config.samples} per scenario, order alternating (tcpdump first on odd-numbered samples)`);
  console.log(`  filter           ${TEST_FILTER}, snaplen ${SNAPLEN_BYTES}, idle stop ${IDLE_MS} ms`);

  active.link = await createTestLink();
  const link = active.link;
  console.log(`  link             ${link.hostIf} (capture) <- ${link.ns}/${link.nsIf} (tcpreplay --topspeed)`);
  const list = scenarios(config);
  await generatePcaps(list);

  for (const scenario of list) {
    if (interrupted) break;
    console.log(
      `\n== ${scenario.frameBytes} B frames, ${scenario.ringLabel}: tcpdump ${mib(scenario.tcpdumpBufferBytes)}, ` +
        `pcapd ${mib(scenario.pcapdBufferBytes)} kernel buffer, ${scenario.packets} packets per burst ==`,
    );
    const pairs = await runScenario(link, scenario, config.samples);
    if (pairs.length === 0) continue;
    const summary = summarise(pairs);
    printTable(summary);
    printCpuNote(scenario.packets);
    printVerdict(summary, pairs.length, scenario);
  }
  console.log(
    `\nload average at end: ${loadavg()
      .map((load) => load.toFixed(2))
      .join(' ')}`,
  );
}

process.on('SIGINT', onSigint);
try {
  await main();
} catch (err: unknown) {
  // After Ctrl-C the tools fail as their link disappears; that is not news.
  if (!interrupted) {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  }
} finally {
  if (!interrupted) await cleanup();
}
