/**
 * pcapd as a drop-in for pcapdaemon: every message and config from
 * pcapdaemon's repository (test/compat/fixtures/pcapdaemon/, verbatim) is
 * read by pcapd as pcapdaemon read it. A message is accepted on every host
 * where pcapdaemon would have captured it, on the interfaces it would have
 * used; a config loads with the values it says. Where pcapd deliberately
 * differs, the test says so and the README's "Coming from pcapdaemon" part
 * documents it. One message of each kind also runs end to end through a
 * running pcapd, on a veth named as in the message.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Clock } from '../../src/clock.js';
import { loadConfigFile, parseConfigText } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { PcapdError } from '../../src/errors.js';
import type { CaptureJob } from '../../src/model/job.js';
import { parseRequest, type ParseContext, type ParseResult } from '../../src/requests/parse.js';
import { capinfos, readPackets } from '../helpers/capture-files.js';
import { editToml, PCAPD_BIN, REPO, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { run } from '../helpers/exec.js';
import { writeTrafficPcap } from '../helpers/frames.js';
import { createTestLink, type TestLink } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const FIXTURES = join(REPO, 'test/compat/fixtures/pcapdaemon');
const fixture = (name: string): Promise<string> => readFile(join(FIXTURES, name), 'utf8');

// --- the fixtures as pcapdaemon received them ----------------------------------

/** tests/*.json and tests/publish.msg are redis-cli lines: `PUBLISH <channel> '<message>'`. */
function publishedMessage(line: string): { channel: string; body: string } {
  const match = /^PUBLISH (\S+) '([^']*)'\s*$/.exec(line);
  if (!match?.[1] || match[2] === undefined) throw new Error(`not a redis-cli PUBLISH line: ${line}`);
  return { channel: match[1], body: match[2] };
}

const PUBLISHED = ['durationtest.json', 'logreqtest.json', 'packetdebug.json', 'sizetest.json', 'publish.msg'];

interface Message {
  name: string;
  /** The text pcapd receives, exactly as pcapdaemon received it. */
  body: string;
}

async function repositoryMessages(): Promise<Message[]> {
  const messages: Message[] = [{ name: 'tests/msg.json', body: await fixture('tests/msg.json') }];
  for (const name of PUBLISHED) {
    const { channel, body } = publishedMessage(await fixture(`tests/${name}`));
    expect(channel).toBe('capture'); // [redis] channel in both example configs
    messages.push({ name: `tests/${name}`, body });
  }
  return messages;
}

/**
 * The README's example lists every field, both of each pair its rules say to
 * choose from ("Use either node or nodere but not both", "Must supply either
 * interface or alias but not both"). A sender keeps one of each and leaves the
 * other out, or, from Go, sends its zero value or null: all three are here.
 */
function readmeVariants(text: string): Message[] {
  const variants: Message[] = [];
  const absentAs: Array<[string, (field: string) => unknown]> = [
    ['left out', () => undefined],
    ['null', () => null],
    ['Go zero value', (field) => (field === 'interface' || field === 'alias' ? [] : '')],
  ];
  for (const target of ['node', 'nodere'] as const) {
    for (const ifaces of ['interface', 'alias'] as const) {
      for (const [how, absent] of absentAs) {
        const message = JSON.parse(text) as Record<string, unknown>;
        for (const dropped of [target === 'node' ? 'nodere' : 'node', ifaces === 'interface' ? 'alias' : 'interface']) {
          const value = absent(dropped);
          if (value === undefined) delete message[dropped];
          else message[dropped] = value;
        }
        variants.push({ name: `README example, ${target} + ${ifaces}, the other two ${how}`, body: JSON.stringify(message) });
      }
    }
  }
  return variants;
}

// --- pcapdaemon's rules (capture.go captureToBuffer, redis.go subToRedis), as a model ---

interface Host {
  name: string;
  interfaces: readonly string[];
}

/**
 * Hosts of a fleet, named and equipped to meet the messages' targets: the
 * README's "node name" and a node "node regex" matches, pcapdaemon's author's
 * laptop (enp0s25), servers with eth0, with both, with bonds, and one with
 * none of the named interfaces.
 */
const HOSTS: readonly Host[] = [
  { name: 'node name', interfaces: ['lo', 'eth0', 'bond1'] },
  { name: 'edge-node regex-7', interfaces: ['lo', 'eth0', 'bond1', 'bond2'] },
  { name: 'laptop', interfaces: ['lo', 'enp0s25'] },
  { name: 'sensor', interfaces: ['lo', 'eth0', 'enp0s25'] },
  { name: 'bare', interfaces: ['lo', 'ens3'] },
];

type PcapdaemonVerdict = { kind: 'other-node' } | { kind: 'refused'; why: string } | { kind: 'captures'; interfaces: string[] };

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '' && !(Array.isArray(value) && value.length === 0);
}

function pcapdaemonVerdict(message: Record<string, unknown>, host: Host, config: Config): PcapdaemonVerdict {
  const strings = (value: unknown): string[] => (Array.isArray(value) ? (value as string[]) : []);
  const { node, nodere, interface: names, alias: aliases, packets } = message;
  if (isSet(names) === isSet(aliases)) return { kind: 'refused', why: 'interface and alias: exactly one' };
  if (isSet(node) === isSet(nodere)) return { kind: 'refused', why: 'node and nodere: exactly one' };
  if (!isSet(packets) || packets === 0) return { kind: 'refused', why: 'packets 0' };
  const matches = isSet(node) ? node === host.name || node === 'any' : new RegExp(String(nodere)).test(host.name);
  if (!matches) return { kind: 'other-node' };
  // Each named interface this host has is captured (a goroutine each); the others are logged and skipped.
  const wanted = isSet(names)
    ? strings(names)
    : strings(aliases).flatMap((alias) => config.interface.filter((block) => block.alias.includes(alias)).map((block) => block.name));
  const present = [...new Set(wanted)].filter((name) => host.interfaces.includes(name));
  return present.length === 0 ? { kind: 'refused', why: 'no named interface here' } : { kind: 'captures', interfaces: present };
}

/** pcapdaemon exits at start when an [[interface]] block names an interface the host lacks (main.go). */
function pcapdaemonStarts(host: Host, config: Config): boolean {
  return config.interface.every((block) => host.interfaces.includes(block.name));
}

// --- pcapd ---------------------------------------------------------------------

const clock: Clock = { nowMs: () => Date.parse('2026-11-25T14:00:00Z'), monotonicMs: () => 0 };

function pcapdParse(message: Message, host: Host, config: Config): ParseResult | PcapdError {
  let ids = 0;
  const ctx: ParseContext = {
    config,
    node: host.name,
    source: 'redis',
    clock,
    interfaceExists: (name) => host.interfaces.includes(name),
    newId: () => `compat-${++ids}`,
  };
  try {
    return parseRequest(message.body, ctx);
  } catch (err: unknown) {
    if (err instanceof PcapdError) return err;
    throw err;
  }
}

function acceptedJob(outcome: ParseResult | PcapdError, what: string): CaptureJob {
  if (outcome instanceof PcapdError) throw new Error(`${what}: refused with ${outcome.code}: ${outcome.message}`);
  if (outcome.kind !== 'accepted') throw new Error(`${what}: ${outcome.kind}`);
  return outcome.job;
}

/** The limits pcapdaemon would have used: the message's, else the config's (capture.go). */
function expectLimitsAsPcapdaemon(job: CaptureJob, message: Record<string, unknown>, config: Config): void {
  const { general } = config;
  const given = (field: string, fallback: number): number => (typeof message[field] === 'number' && message[field] !== 0 ? message[field] : fallback);
  expect(job.limits).toMatchObject({
    packets: given('packets', general.maxpackets),
    timeoutSeconds: given('timeout', general.defaulttimeout),
    durationSeconds: given('duration', general.maxduration),
    bytes: given('bytes', general.maxbytes),
  });
  expect(job.snaplenBytes).toBe(given('snap', general.snaplength));
  expect(job.clamps).toEqual([]);
  expect(job.filter).toBe(message['bpf'] ?? '');
  expect(job.tags).toEqual(
    String(message['tags'] ?? '')
      .split(',')
      .filter((tag) => tag !== ''),
  );
  expect(job.customer).toBe(message['customer']);
  expect(job.alertid).toBe(message['alertid']);
  expect(job.packetDebug).toBe(message['packetdebug'] === true || general.packetdebug);
  expect(job.logRequest).toBe(message['logrequest'] === true || general.logrequests);
}

// -------------------------------------------------------------------------------

let readmeConfigText: string;
/** pcapdaemon's README config, as pcapd loads it: S3 upload on, no allowlists. */
let pcapdaemonConfig: Config;
/** The same with S3 off: the S3 fields of a message steer nothing. */
let withoutS3: Config;
/** The same with the README message's bucket and ACL allowlisted. */
let withAllowlists: Config;
let messages: Message[];

beforeAll(async () => {
  readmeConfigText = await fixture('readme-config.toml');
  pcapdaemonConfig = parseConfigText(readmeConfigText, 'readme-config.toml');
  withoutS3 = parseConfigText(editToml(readmeConfigText, { s3: { upload: 'false' } }), 'without-s3');
  withAllowlists = parseConfigText(editToml(readmeConfigText, { s3: { allowbuckets: '["mybucket"]', allowacls: '["public-read"]' } }), 'with-allowlists');
  messages = [...readmeVariants(await fixture('readme-message.json')), ...(await repositoryMessages())];
});

describe("pcapdaemon's messages", () => {
  it('refuses the README example as printed, naming both node and nodere, as pcapdaemon did', async () => {
    const printed = { name: 'README example', body: await fixture('readme-message.json') };
    const outcome = pcapdParse(printed, HOSTS[0]!, withoutS3);
    expect(outcome).toBeInstanceOf(PcapdError);
    expect((outcome as PcapdError).code).toBe('PCAPD_ERR_REQUEST_TARGET');
    expect(pcapdaemonVerdict(JSON.parse(printed.body) as Record<string, unknown>, HOSTS[0]!, withoutS3).kind).toBe('refused');
  });

  it.each([
    ['S3 off', () => withoutS3],
    ['S3 on with the overrides allowlisted', () => withAllowlists],
  ])('is accepted on every host where pcapdaemon captured it, on the same interfaces, with its limits (%s)', (_, configOf) => {
    const config = configOf();
    for (const message of messages) {
      let captured = 0;
      const fields = JSON.parse(message.body) as Record<string, unknown>;
      for (const host of HOSTS) {
        const what = `${message.name} on ${host.name}`;
        const verdict = pcapdaemonVerdict(fields, host, config);
        const outcome = pcapdParse(message, host, config);
        if (verdict.kind === 'other-node') {
          expect(outcome, what).toEqual({ kind: 'ignored', why: 'other-node' });
        } else if (verdict.kind === 'refused') {
          // pcapdaemon logged and captured nothing; pcapd refuses with a code.
          expect(outcome, what).toBeInstanceOf(PcapdError);
          expect((outcome as PcapdError).code, what).toMatch(/^PCAPD_ERR_(INTERFACE_UNKNOWN|REQUEST_TARGET|REQUEST_INTERFACE)$/);
        } else if (fields['alias'] !== undefined && isSet(fields['alias']) && !pcapdaemonStarts(host, config)) {
          // pcapdaemon would not have started on this host with this config; pcapd starts and
          // refuses the alias whose interface is missing.
          expect((outcome as PcapdError).code, what).toBe('PCAPD_ERR_INTERFACE_UNKNOWN');
        } else {
          const job = acceptedJob(outcome, what);
          captured += 1;
          expect(
            job.interfaces.map((iface) => iface.name),
            what,
          ).toEqual(verdict.interfaces);
          expectLimitsAsPcapdaemon(job, fields, config);
        }
      }
      // Every message of pcapdaemon's is one some host of the fleet captures.
      expect(captured, message.name).toBeGreaterThan(0);
    }
  });

  it('says, in the job notes, which S3 fields it ignores while S3 is off and which named interfaces this host lacks', () => {
    const msg = messages.find((message) => message.name === 'tests/msg.json')!;
    const onLaptop = acceptedJob(pcapdParse(msg, HOSTS[2]!, withoutS3), 'msg.json on laptop');
    expect(onLaptop.notes).toEqual(['S3 is not enabled here (s3.upload = false): bucket, acl, region, endpoint, encryption ignored']);
    const duration = messages.find((message) => message.name === 'tests/durationtest.json')!;
    const onServer = acceptedJob(pcapdParse(duration, HOSTS[0]!, withoutS3), 'durationtest.json on node name');
    expect(onServer.interfaces).toEqual([{ name: 'eth0' }]);
    expect(onServer.notes).toEqual(['not on this host, skipped: enp0s25']);
  });

  it('differs deliberately: with S3 on, a bucket or ACL other than the configured one needs an allowlist', () => {
    // pcapdaemon uploaded wherever a message said, with the configured credentials. The README
    // message's region and endpoint equal the config's, so only bucket and acl are named.
    const cases: Array<[Message, Host]> = [
      [messages.find((m) => m.name === 'README example, node + interface, the other two left out')!, HOSTS[0]!],
      [messages.find((m) => m.name === 'tests/msg.json')!, HOSTS[3]!],
    ];
    for (const [message, host] of cases) {
      const outcome = pcapdParse(message, host, pcapdaemonConfig);
      expect(outcome, message.name).toBeInstanceOf(PcapdError);
      const err = outcome as PcapdError;
      expect(err.code).toBe('PCAPD_ERR_OVERRIDE_NOT_ALLOWED');
      expect(err.message).toMatch(/bucket/);
      expect(err.message).toMatch(/acl/);
      expect(err.message).not.toMatch(/region|endpoint/);
      // Allowlisted, the same message is accepted.
      expect(pcapdParse(message, host, withAllowlists), message.name).toMatchObject({ kind: 'accepted' });
    }
    // The repository's other messages carry no S3 field: accepted with S3 on as they are.
    for (const message of messages.filter((m) => PUBLISHED.some((name) => m.name === `tests/${name}`))) {
      expect(pcapdParse(message, HOSTS[3]!, pcapdaemonConfig), message.name).toMatchObject({ kind: 'accepted' });
    }
  });
});

describe("pcapdaemon's configs", () => {
  it.each(['readme-config.toml', 'pcapdaemon.conf.example'])('%s loads with every value it sets', async (name) => {
    const path = join(FIXTURES, name);
    const config = await loadConfigFile(path);
    // What the file says, read by a TOML parser alone: pcapd must hold every key at the same value.
    const written = parseToml(await fixture(name)) as Record<string, unknown>;
    expect(config).toMatchObject(written);
    // pcapdaemon's own defaults (main.go validateOptions) for what these files leave out agree with pcapd's.
    expect(config.cloudshark).toMatchObject({ scheme: 'https', port: 443 });
    expect(config.redis.port).toBe(6379);
    expect(config.syslog).toMatchObject({ priority: 25, tag: 'pcapdaemon' });
  });

  it('differs deliberately: the S3 folder is read from folder, and pcapd adds a loopback HTTP API and a spool', () => {
    // pcapdaemon's S3 struct read its folder from a key named "pcaps" (structs.go), so the
    // example's folder = "pcaps" was never used; pcapd reads folder, as pcapdaemon documented.
    expect(pcapdaemonConfig.s3.folder).toBe('pcaps');
    expect(pcapdaemonConfig.http).toMatchObject({ listen: true, host: '127.0.0.1', port: 8347 });
    expect(pcapdaemonConfig.spool.dir).toBe('/var/lib/pcapd/spool');
    // pcapdaemon refused to start unless a listener and a sink were enabled; pcapd's HTTP API is
    // a listener, and a node without a sink still captures (results and downloads from the API).
    expect(parseConfigText(editToml(readmeConfigText, { s3: { upload: 'false' }, cloudshark: { upload: 'false' } }), 'no-sink').general.writelocal).toBe(false);
  });

  it('pcapd check-config prints the effective config of each and exits 0', async () => {
    for (const name of ['readme-config.toml', 'pcapdaemon.conf.example']) {
      const output = await run(PCAPD_BIN, ['check-config', join(FIXTURES, name)]);
      expect(output).toMatch(/^# effective configuration of /);
      expect(output).toMatch(/^localdir = "\/tmp"$/m);
      expect(output).toMatch(/^token = "\*\*\*"$/m);
    }
  });
});

// --- end to end ----------------------------------------------------------------

describe("pcapdaemon's messages through a running pcapd", () => {
  let link: TestLink;
  let daemon: RunningDaemon;
  let port: number;

  /** The API from inside the capture namespace, where pcapd listens on its loopback. */
  async function api(path: string, bodyFile?: string): Promise<{ status: number; body: any }> {
    const data = bodyFile === undefined ? [] : ['--data-binary', `@${bodyFile}`];
    const out = await run('ip', ['netns', 'exec', link.captureNs!, 'curl', '-s', '-w', '\n%{http_code}', ...data, `http://127.0.0.1:${port}${path}`]);
    const cut = out.lastIndexOf('\n');
    return { status: Number(out.slice(cut + 1)), body: JSON.parse(out.slice(0, cut)) };
  }

  /** POSTs the message in `bodyFile` as it is and waits until its capture records; its id. */
  async function submitArmed(bodyFile: string): Promise<string> {
    const submitted = await api('/captures', bodyFile);
    expect(submitted.status).toBe(202);
    const { id } = submitted.body as { id: string };
    await waitFor('the capture to arm', async () => ((await api(`/captures/${id}`)).body.state === 'capturing' ? true : undefined));
    return id;
  }

  /** A redis-cli PUBLISH line's message, as a file to POST. */
  async function publishedBodyFile(name: string): Promise<string> {
    const path = join(daemon.dir, name);
    await writeFile(path, publishedMessage(await fixture(`tests/${name}`)).body);
    return path;
  }

  async function finished(id: string): Promise<any> {
    return waitFor(`capture ${id} to finish`, async () => {
      const { body } = await api(`/captures/${id}`);
      return body.state === 'done' || body.state === 'failed' ? body : undefined;
    });
  }

  beforeAll(async () => {
    // The capture side is named as on pcapdaemon's author's laptop, in a namespace of its own.
    link = await createTestLink({ captureNamespace: true, hostIf: 'enp0s25' });
    daemon = await startDaemon({ prefix: ['ip', 'netns', 'exec', link.captureNs!], edits: { general: { node: '"laptop"' } } });
    const started = daemon.logs.find((line) => line.msg === 'pcapd started');
    port = (started?.['http'] as { port: number }).port;
  }, 60_000);

  afterAll(async () => {
    await daemon?.stop();
    await link?.destroy();
  });

  it('captures tests/msg.json as sent, S3 fields noted as ignored, and tshark reads its 25 packets', async () => {
    const id = await submitArmed(join(FIXTURES, 'tests/msg.json'));
    const traffic = join(daemon.dir, 'port22.pcap');
    await writeTrafficPcap(traffic, 40, 120, { dstPort: 22 }); // "bpf": "port 22"
    await link.replay(traffic);
    const outcome = await finished(id);
    expect(outcome).toMatchObject({
      state: 'done',
      reason: 'packets',
      packets: 25,
      alertid: 655443,
      customer: 'importantcustomer',
      tags: ['blah', 'tagme', 'stuff'],
    });
    expect(outcome.notes).toEqual(['S3 is not enabled here (s3.upload = false): bucket, acl, region, endpoint, encryption ignored']);
    const path = outcome.deliveries[0].locations[0] as string;
    const packets = await readPackets(path);
    expect(packets.map((packet) => packet.sequence)).toEqual([...Array(25).keys()]);
    expect((await capinfos(path)).interfaces[0]?.['Capture length']).toBe('1500'); // "snap": 1500
  });

  it('captures tests/durationtest.json on the one of its two interfaces this host has', async () => {
    const id = await submitArmed(await publishedBodyFile('durationtest.json'));
    const traffic = join(daemon.dir, 'google-dns.pcap');
    await writeTrafficPcap(traffic, 120, 100, { dstAddress: '8.8.8.8' }); // "bpf": "host 8.8.8.8"
    await link.replay(traffic);
    const outcome = await finished(id);
    expect(outcome).toMatchObject({ state: 'done', reason: 'packets', packets: 100, customer: 'blah' });
    expect(outcome.notes).toEqual(['not on this host, skipped: eth0']);
    expect(outcome.interfaces.map((iface: { name: string }) => iface.name)).toEqual(['enp0s25']);
    const packets = await readPackets(outcome.deliveries[0].locations[0]);
    expect(packets).toHaveLength(100);
    expect(new Set(packets.map((packet) => packet.interfaceName))).toEqual(new Set(['enp0s25']));
  });

  it('differs deliberately on tests/sizetest.json: the file stays within bytes 900, where pcapdaemon went past it', async () => {
    const id = await submitArmed(await publishedBodyFile('sizetest.json'));
    const traffic = join(daemon.dir, 'google-dns-2.pcap');
    await writeTrafficPcap(traffic, 20, 100, { dstAddress: '8.8.8.8' });
    await link.replay(traffic);
    const outcome = await finished(id);
    // pcapdaemon stopped after the packet that crossed the limit; pcapd stops before it.
    expect(outcome).toMatchObject({ state: 'done', reason: 'bytes', limits: { bytes: 900 } });
    const path = outcome.deliveries[0].locations[0] as string;
    const { size } = await stat(path);
    expect(size).toBe(outcome.bytes);
    expect(size).toBeLessThanOrEqual(900);
    expect(await readPackets(path)).toHaveLength(outcome.packets);
    expect(outcome.packets).toBeGreaterThan(0);
  });
});
