import { describe, expect, it } from 'vitest';

import { listDevices } from '../../src/capture/devices.js';
import type { Clock } from '../../src/clock.js';
import { ConfigSchema, type Config } from '../../src/config/schema.js';
import { PcapdError, type ErrorCode } from '../../src/errors.js';
import type { CaptureJob } from '../../src/model/job.js';
import { parseRequest, type ParseContext } from '../../src/requests/parse.js';
import { checkS3Overrides } from '../../src/requests/s3-fields.js';
import { CaptureRequestSchema } from '../../src/model/request.js';

const NODE = 'sensor-01.nyc';
const NOW_MS = Date.parse('2024-05-01T12:00:00Z');
const NOW_SECONDS = NOW_MS / 1000;

const devices = listDevices().map((device) => device.name);
// 'lo' exists everywhere; a second real interface lets aliases name two.
const OTHER_IFACE = devices.find((name) => name !== 'lo') ?? 'lo';

const config: Config = ConfigSchema.parse({
  general: {
    maxpackets: 1000,
    maxbytes: 1_000_000,
    maxduration: 600,
    defaulttimeout: 10,
    maxtimeout: 60,
    snaplength: 1500,
    maxsnaplength: 9000,
    staleafter: 300,
    maxrequestbytes: 4096,
    format: 'pcapng',
    packetdebug: false,
    logrequests: true,
  },
  interface: [
    { name: 'lo', alias: ['local', 'loopback', 'both'] },
    { name: OTHER_IFACE, alias: ['uplink', 'both'] },
  ],
});

const fakeClock: Clock = { nowMs: () => NOW_MS, monotonicMs: () => 0 };

function context(overrides: Partial<ParseContext> = {}): ParseContext {
  let ids = 0;
  return {
    config,
    node: NODE,
    source: 'redis',
    clock: fakeClock,
    interfaceExists: (name) => devices.includes(name),
    newId: () => `generated-${++ids}`,
    ...overrides,
  };
}

const BASE = { node: 'any', interface: ['lo'] };

function parse(body: Record<string, unknown> | string | Buffer, ctx = context()) {
  const raw = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return parseRequest(raw, ctx);
}

function accept(body: Record<string, unknown>, ctx = context()): CaptureJob {
  const result = parse(body, ctx);
  if (result.kind !== 'accepted') throw new Error(`expected accepted, got ${result.kind}`);
  return result.job;
}

function reject(body: Record<string, unknown> | string | Buffer, ctx = context()): PcapdError {
  try {
    parse(body, ctx);
  } catch (err: unknown) {
    if (err instanceof PcapdError) return err;
    throw err;
  }
  throw new Error('expected the request to be rejected');
}

function expectRejected(body: Record<string, unknown> | string | Buffer, code: ErrorCode, message?: string | RegExp, ctx = context()): void {
  const err = reject(body, ctx);
  expect(err.code).toBe(code);
  if (typeof message === 'string') expect(err.message).toBe(message);
  else if (message !== undefined) expect(err.message).toMatch(message);
}

describe('parseRequest: size and JSON', () => {
  it('rejects a request larger than general.maxrequestbytes before parsing it', () => {
    expectRejected('x'.repeat(4097), 'PCAPD_ERR_REQUEST_TOO_LARGE', /4097 bytes.*maxrequestbytes allows 4096/);
  });

  it('measures a string body in UTF-8 bytes, not characters', () => {
    const body = JSON.stringify({ ...BASE, customer: '\u00e9'.repeat(2100) });
    expect(body.length).toBeLessThan(4096);
    expectRejected(body, 'PCAPD_ERR_REQUEST_TOO_LARGE');
  });

  it('measures a Buffer body by its length', () => {
    expectRejected(Buffer.alloc(4097, 0x20), 'PCAPD_ERR_REQUEST_TOO_LARGE');
  });

  it('accepts a request of exactly general.maxrequestbytes', () => {
    const body = JSON.stringify(BASE);
    const padded = body + ' '.repeat(4096 - body.length);
    expect(parse(padded).kind).toBe('accepted');
  });

  it('accepts a UTF-8 Buffer body', () => {
    expect(parse(Buffer.from(JSON.stringify({ ...BASE, customer: 'caf\u00e9' }))).kind).toBe('accepted');
  });

  it('rejects text that is not JSON', () => {
    expectRejected('{"node": "any",', 'PCAPD_ERR_REQUEST_JSON', /^the request is not valid JSON: /);
  });

  it('rejects a Buffer that is not UTF-8', () => {
    expectRejected(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'PCAPD_ERR_REQUEST_JSON', /UTF-8/);
  });

  it.each([
    ['[1, 2]', 'array'],
    ['null', 'null'],
    ['42', 'number'],
    ['"capture"', 'string'],
  ])('rejects the JSON %s: a request must be an object', (body, type) => {
    expectRejected(body, 'PCAPD_ERR_REQUEST_JSON', `the request must be a JSON object, got ${type}`);
  });
});

describe('parseRequest: schema', () => {
  it.each([
    [-5, '/packets: expected an integer >= 0, got -5'],
    [-1, '/packets: expected an integer >= 0, got -1'],
    [1.5, '/packets: expected an integer >= 0, got 1.5'],
    ['50', '/packets: expected an integer >= 0, got string'],
    [true, '/packets: expected an integer >= 0, got boolean'],
  ])('rejects packets %j with its path and the expected type', (packets, message) => {
    expectRejected({ ...BASE, packets }, 'PCAPD_ERR_REQUEST_INVALID', message);
  });

  it('rejects a number for bpf', () => {
    expectRejected({ ...BASE, bpf: 5 }, 'PCAPD_ERR_REQUEST_INVALID', /^\/bpf: expected a string.*, got number$/);
  });

  it('rejects a string for interface instead of an array', () => {
    expectRejected({ node: 'any', interface: 'lo' }, 'PCAPD_ERR_REQUEST_INVALID', /^\/interface: expected an array/);
  });

  it('names the array index of a bad interface name', () => {
    expectRejected({ node: 'any', interface: ['lo', 5] }, 'PCAPD_ERR_REQUEST_INVALID', /^\/interface\/1: /);
  });

  it('rejects a nested value out of range with its path', () => {
    expectRejected({ ...BASE, segment: { bytes: 100 } }, 'PCAPD_ERR_REQUEST_INVALID', '/segment/bytes: expected an integer >= 4096, got 100');
  });

  it('rejects a timestamp that is neither epoch seconds nor ISO 8601', () => {
    const body = { ...BASE, timestamp: 'yesterday' };
    expectRejected(body, 'PCAPD_ERR_REQUEST_INVALID', /^\/timestamp: .*got "yesterday"$/);
  });

  it('rejects an unknown format', () => {
    const message = '/format: expected one of "pcapng", "pcap", got "erf"';
    expectRejected({ ...BASE, format: 'erf' }, 'PCAPD_ERR_REQUEST_INVALID', message);
  });

  it('rejects an unknown top-level field with its path', () => {
    expectRejected({ ...BASE, pakets: 5 }, 'PCAPD_ERR_REQUEST_UNKNOWN_FIELD', '/pakets: unknown field');
  });

  it('rejects an unknown nested field with its path', () => {
    const body = { ...BASE, segment: { bytez: 8192 } };
    expectRejected(body, 'PCAPD_ERR_REQUEST_UNKNOWN_FIELD', '/segment/bytez: unknown field');
  });

  it('reports the same unknown field whatever order the keys were sent in', () => {
    const a = reject('{"node":"any","interface":["lo"],"zeta":1,"alpha":2}');
    const b = reject('{"alpha":2,"node":"any","zeta":1,"interface":["lo"]}');
    expect(a.message).toBe('/alpha: unknown field');
    expect(b.message).toBe(a.message);
  });

  it('reports an unknown field before a bad value (a typo explains the rest)', () => {
    const body = { ...BASE, packets: -1, segment: { bytez: 1 } };
    expectRejected(body, 'PCAPD_ERR_REQUEST_UNKNOWN_FIELD', '/segment/bytez: unknown field');
  });

  it('escapes / and ~ in an unknown field name (RFC 6901)', () => {
    expectRejected({ ...BASE, 'a/b~c': 1 }, 'PCAPD_ERR_REQUEST_UNKNOWN_FIELD', '/a~1b~0c: unknown field');
  });

  it('rejects __proto__ as an unknown field', () => {
    const body = '{"__proto__":{"polluted":1},"node":"any","interface":["lo"]}';
    expectRejected(body, 'PCAPD_ERR_REQUEST_UNKNOWN_FIELD', '/__proto__: unknown field');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('shortens a long unknown field name in the message', () => {
    const err = reject({ ...BASE, ['k'.repeat(500)]: 1 });
    expect(err.message.length).toBeLessThan(100);
  });
});

describe('parseRequest: targets', () => {
  it('rejects a request with both node and nodere', () => {
    expectRejected({ node: NODE, nodere: '^sensor', interface: ['lo'] }, 'PCAPD_ERR_REQUEST_TARGET');
  });

  it('rejects a request with neither node nor nodere', () => {
    expectRejected({ interface: ['lo'] }, 'PCAPD_ERR_REQUEST_TARGET');
  });

  it('rejects a request with both interface and alias', () => {
    expectRejected({ node: 'any', interface: ['lo'], alias: ['local'] }, 'PCAPD_ERR_REQUEST_INTERFACE');
  });

  it('rejects a request with neither interface nor alias', () => {
    expectRejected({ node: 'any' }, 'PCAPD_ERR_REQUEST_INTERFACE');
  });

  it('accepts node "any" on every node', () => {
    expect(parse({ node: 'any', interface: ['lo'] }).kind).toBe('accepted');
    expect(parse({ node: 'any', interface: ['lo'] }, context({ node: 'edge-9' })).kind).toBe('accepted');
  });

  it('accepts a request for this node by exact name', () => {
    expect(accept({ node: NODE, interface: ['lo'] }).node).toBe(NODE);
  });

  it('ignores a request for another node', () => {
    expect(parse({ node: 'sensor-02.nyc', interface: ['lo'] })).toEqual({ kind: 'ignored', why: 'other-node' });
  });

  it('accepts a request whose nodere matches this node', () => {
    expect(parse({ nodere: '^sensor-[0-9]+\\.nyc$', interface: ['lo'] }).kind).toBe('accepted');
  });

  it('ignores a request whose nodere does not match this node', () => {
    expect(parse({ nodere: '\\.lon$', interface: ['lo'] })).toEqual({ kind: 'ignored', why: 'other-node' });
  });

  it("ignores another node's request without judging its interfaces, filter or limits", () => {
    const body = { node: 'other', interface: ['no-such-if0'], bpf: 'not a filter', bucket: 'x', folder: '..' };
    expect(parse(body)).toEqual({ kind: 'ignored', why: 'other-node' });
  });

  it('rejects an invalid nodere', () => {
    const body = { nodere: 'sensor-(', interface: ['lo'] };
    expectRejected(body, 'PCAPD_ERR_NODERE_INVALID', /not a valid RE2 regular expression: missing \)/);
  });

  it('runs a catastrophic-backtracking nodere against a long node name to completion', () => {
    const ctx = context({ node: `${'a'.repeat(200)}b` });
    expect(parse({ nodere: '^(a+)+$', interface: ['lo'] }, ctx)).toEqual({ kind: 'ignored', why: 'other-node' });
  });

  it('rejects a nodere too expensive to compile', () => {
    expectRejected({ nodere: '\\pN{1000}', interface: ['lo'] }, 'PCAPD_ERR_NODERE_INVALID', /too expensive/);
  });
});

describe('parseRequest: stale requests', () => {
  it('rejects a timestamp older than general.staleafter', () => {
    expectRejected({ ...BASE, timestamp: NOW_SECONDS - 301 }, 'PCAPD_ERR_REQUEST_STALE', /301 s old.*300 s/);
  });

  it('rejects an ISO 8601 timestamp older than general.staleafter', () => {
    expectRejected({ ...BASE, timestamp: '2024-05-01T11:00:00Z' }, 'PCAPD_ERR_REQUEST_STALE', /3600 s old/);
  });

  it('accepts a timestamp within general.staleafter', () => {
    expect(parse({ ...BASE, timestamp: NOW_SECONDS - 299 }).kind).toBe('accepted');
    expect(parse({ ...BASE, timestamp: '2024-05-01T13:55:00+02:00' }).kind).toBe('accepted');
  });

  it('rejects a timestamp more than 60 s in the future', () => {
    expectRejected({ ...BASE, timestamp: NOW_SECONDS + 61 }, 'PCAPD_ERR_REQUEST_STALE', /61 s in the future/);
  });

  it('accepts up to 60 s of clock skew into the future', () => {
    expect(parse({ ...BASE, timestamp: NOW_SECONDS + 60 }).kind).toBe('accepted');
  });

  it('says so when a timestamp looks like epoch milliseconds', () => {
    expectRejected({ ...BASE, timestamp: NOW_MS }, 'PCAPD_ERR_REQUEST_STALE', /epoch seconds, not milliseconds/);
  });

  it('accepts any timestamp when general.staleafter is 0', () => {
    const lenient = ConfigSchema.parse({ general: { staleafter: 0 } });
    expect(parse({ ...BASE, timestamp: 0 }, context({ config: lenient })).kind).toBe('accepted');
  });
});

describe('parseRequest: interfaces', () => {
  it('rejects an interface that does not exist, naming it', () => {
    expectRejected({ node: 'any', interface: ['nosuch0'] }, 'PCAPD_ERR_INTERFACE_UNKNOWN', /^interface "nosuch0" does not exist on this host$/);
    expectRejected({ node: 'any', interface: ['nosuch0', 'nosuch1'] }, 'PCAPD_ERR_INTERFACE_UNKNOWN', /"nosuch0" .*nor do the other 1 named/);
  });

  it('skips the named interfaces this host lacks when another exists, and notes them, as pcapdaemon did', () => {
    const job = accept({ node: 'any', interface: ['nosuch0', 'lo', 'nosuch1'] });
    expect(job.interfaces).toEqual([{ name: 'lo' }]);
    expect(job.notes).toEqual(['not on this host, skipped: nosuch0, nosuch1']);
  });

  it('rejects an unknown alias, naming it', () => {
    const body = { node: 'any', alias: ['local', 'dmz'] };
    expectRejected(body, 'PCAPD_ERR_ALIAS_UNKNOWN', /alias "dmz" is not configured/);
  });

  it('rejects an alias whose interface does not exist on this host', () => {
    const ctx = context({ interfaceExists: (name) => name !== OTHER_IFACE });
    expectRejected({ node: 'any', alias: ['uplink'] }, 'PCAPD_ERR_INTERFACE_UNKNOWN', /\(alias "uplink"\)/, ctx);
  });

  it('resolves aliases through [[interface]] blocks', () => {
    const job = accept({ node: 'any', alias: ['uplink', 'local'] });
    // Without a second interface on this host, both aliases lead to lo.
    const expected =
      OTHER_IFACE === 'lo'
        ? [{ name: 'lo', alias: 'uplink' }]
        : [
            { name: OTHER_IFACE, alias: 'uplink' },
            { name: 'lo', alias: 'local' },
          ];
    expect(job.interfaces).toEqual(expected);
  });

  it('resolves an alias listed by two blocks to both interfaces, as pcapdaemon did', () => {
    const job = accept({ node: 'any', alias: ['both'] });
    const expected =
      OTHER_IFACE === 'lo'
        ? [{ name: 'lo', alias: 'both' }]
        : [
            { name: 'lo', alias: 'both' },
            { name: OTHER_IFACE, alias: 'both' },
          ];
    expect(job.interfaces).toEqual(expected);
  });

  it('treats the empty values Go clients send as unset', () => {
    const job = accept({ node: '', nodere: '.', interface: [], alias: ['local'], bucket: '' });
    expect(job.interfaces).toEqual([{ name: 'lo', alias: 'local' }]);
  });

  it('captures an interface once when two aliases name it, keeping the first alias', () => {
    const job = accept({ node: 'any', alias: ['loopback', 'local'] });
    expect(job.interfaces).toEqual([{ name: 'lo', alias: 'loopback' }]);
  });

  it('captures an interface named twice once, without an alias', () => {
    const job = accept({ node: 'any', interface: ['lo', 'lo'] });
    expect(job.interfaces).toEqual([{ name: 'lo' }]);
    expect(job.interfaces[0]).not.toHaveProperty('alias');
  });
});

describe('parseRequest: filter', () => {
  it("rejects a BPF filter that does not compile, with libpcap's message", () => {
    // libpcap: "illegal port number 99999 > 65535"
    expectRejected({ ...BASE, bpf: 'tcp port 99999' }, 'PCAPD_ERR_BPF_INVALID', /^invalid BPF filter: .*99999/);
  });

  it('rejects a BPF filter with a NUL as PCAPD_ERR_BPF_INVALID, not as a native argument error', () => {
    // Found by fuzz/run.ts: "tcp\u0000x" came back as a RangeError coded PCAPD_ERR_NATIVE_ARGUMENT.
    const err = reject({ ...BASE, bpf: 'tcp\u0000x' });
    expect(err).toBeInstanceOf(PcapdError);
    expect(err.code).toBe('PCAPD_ERR_BPF_INVALID');
    expect(err.message).toMatch(/NUL/);
  });

  it('refuses a filter joining more primitives than libpcap optimises quickly', () => {
    // Found by fuzz/run.ts: 600 "port N" joined by "or" (7 KB) held the event loop for 89 s in pcap_compile.
    const ports = (n: number): string => Array.from({ length: n }, (_, i) => `port ${i}`).join(' or ');
    const roomy = context({ config: { ...config, general: { ...config.general, maxrequestbytes: 65_536 } } });
    expectRejected({ ...BASE, bpf: ports(600) }, 'PCAPD_ERR_BPF_INVALID', /600 primitives joined by and\/or, at most 32/, roomy);
    expectRejected({ ...BASE, bpf: `${ports(32)} && tcp` }, 'PCAPD_ERR_BPF_INVALID', /33 primitives/);
    expect(accept({ ...BASE, bpf: ports(32) }).filter).toBe(ports(32));
  });

  it('accepts a filter that compiles', () => {
    expect(accept({ ...BASE, bpf: 'tcp port 443 and host 10.0.0.1' }).filter).toBe('tcp port 443 and host 10.0.0.1');
  });

  it('captures everything when bpf is absent', () => {
    expect(accept(BASE).filter).toBe('');
  });
});

describe('parseRequest: folder', () => {
  it.each(['..', '/abs', 'a/../b', 'a\\b', 'a//b'])('rejects the folder %j', (folder) => {
    expectRejected({ ...BASE, folder }, 'PCAPD_ERR_FOLDER_INVALID');
  });

  it('keeps a relative folder', () => {
    expect(accept({ ...BASE, folder: 'alerts/2024-05' }).folder).toBe('alerts/2024-05');
  });

  it('treats an empty folder as none, as pcapdaemon clients send it', () => {
    expect(accept({ ...BASE, folder: '' })).not.toHaveProperty('folder');
  });
});

describe('parseRequest: S3 overrides', () => {
  // Overrides are judged only where S3 is on (with it off they are ignored, below).
  const uploading: Config = ConfigSchema.parse({ ...config, s3: { upload: true, bucket: 'pcaps', region: 'us-east-1' } });
  const allowing: Config = ConfigSchema.parse({
    ...config,
    s3: {
      upload: true,
      bucket: 'pcaps',
      allowbuckets: ['pcap-archive', 'team-*'],
      allowendpoints: ['https://s3.eu-west-1.amazonaws.com', 'minio.internal:9000', 'http://127.0.0.1:7070/'],
      allowregions: ['eu-west-1'],
      allowacls: ['bucket-owner-full-control'],
    },
  });

  function overrides(body: Record<string, unknown>, cfg: Config = allowing): () => void {
    return () => checkS3Overrides(CaptureRequestSchema.parse({ ...BASE, ...body }), cfg);
  }

  it.each([
    ['bucket', 'x', 'bucket "x" is not allowed (s3.allowbuckets is empty)'],
    ['region', 'x', 'region "x" is not allowed (s3.allowregions is empty)'],
    ['endpoint', 'x', 'endpoint "https://x" is not allowed (s3.allowendpoints is empty)'],
    ['acl', 'public-read', 'acl "public-read" is not allowed (s3.allowacls is empty)'],
  ])('rejects a per-request %s when the allowlist is empty, naming it', (field, value, reason) => {
    expectRejected({ ...BASE, [field]: value }, 'PCAPD_ERR_OVERRIDE_NOT_ALLOWED', `per-request S3 override refused: ${reason}`, context({ config: uploading }));
  });

  it('takes a value equal to the configured one as no override', () => {
    const configured: Config = ConfigSchema.parse({
      ...config,
      s3: { upload: true, bucket: 'pcaps', region: 'us-east-1', endpoint: 's3.amazonaws.com', acl: 'private' },
    });
    expect(overrides({ bucket: 'pcaps', region: 'us-east-1', endpoint: 'https://s3.amazonaws.com/', acl: 'private' }, configured)).not.toThrow();
    expect(overrides({ region: 'eu-west-1' }, configured)).toThrow(/region "eu-west-1" is not allowed/);
  });

  it('ignores S3 fields while S3 is off, and says so in the job', () => {
    const job = accept({ ...BASE, bucket: 'anything', region: 'x', endpoint: 'evil.example:1', acl: 'public-read', encryption: true });
    expect(job.notes).toEqual(['S3 is not enabled here (s3.upload = false): bucket, acl, region, endpoint, encryption ignored']);
    expect(accept({ ...BASE }).notes).toBeUndefined();
  });

  it('accepts overrides the allowlists name', () => {
    expect(
      overrides({ bucket: 'pcap-archive', endpoint: 'https://s3.eu-west-1.amazonaws.com', region: 'eu-west-1', acl: 'bucket-owner-full-control' }),
    ).not.toThrow();
  });

  it('matches bucket patterns: * stands for any run of characters, nothing else is special', () => {
    expect(overrides({ bucket: 'team-red' })).not.toThrow();
    expect(overrides({ bucket: 'team-' })).not.toThrow();
    expect(overrides({ bucket: 'pcap-archivex' })).toThrow('bucket "pcap-archivex" is not allowed (s3.allowbuckets allows "pcap-archive", "team-*")');
    expect(overrides({ bucket: 'xteam-red' })).toThrow('not allowed');
  });

  it('compares endpoints by scheme, host and port: a bare host means https, case and a trailing / do not matter', () => {
    expect(overrides({ endpoint: 'S3.EU-WEST-1.amazonaws.com' })).not.toThrow();
    expect(overrides({ endpoint: 'https://s3.eu-west-1.amazonaws.com:443/' })).not.toThrow();
    expect(overrides({ endpoint: 'https://minio.internal:9000' })).not.toThrow();
    expect(overrides({ endpoint: 'http://127.0.0.1:7070' })).not.toThrow();
    expect(overrides({ endpoint: 'http://s3.eu-west-1.amazonaws.com' })).toThrow('endpoint "http://s3.eu-west-1.amazonaws.com" is not allowed');
    expect(overrides({ endpoint: 'https://minio.internal:9001' })).toThrow('not allowed');
  });

  it('refuses an endpoint that is no http(s) URL or carries credentials', () => {
    expect(overrides({ endpoint: 'file:///etc/passwd' })).toThrow('endpoint "file:///etc/passwd" is not an http(s) URL or host name');
    expect(overrides({ endpoint: 'https://user:pw@s3.eu-west-1.amazonaws.com' })).toThrow('is not an http(s) URL or host name');
  });

  it('accepts encryption, which only hardens the configured destination', () => {
    expect(accept({ ...BASE, encryption: true }).request.encryption).toBe(true);
  });

  it('names every refused override in one error', () => {
    expect(overrides({ bucket: 'b', endpoint: 'https://evil.example' }, uploading)).toThrow(
      'per-request S3 override refused: bucket "b" is not allowed (s3.allowbuckets is empty); endpoint "https://evil.example" is not allowed (s3.allowendpoints is empty)',
    );
  });

  it('does not count an empty string as an override', () => {
    expect(overrides({ bucket: '', acl: '' }, uploading)).not.toThrow();
  });
});

describe('parseRequest: limits', () => {
  const defaults = {
    limits: {
      packets: 1000,
      bytes: 1_000_000,
      durationSeconds: 600,
      timeoutSeconds: 10,
      segmentSeconds: 0,
      segmentBytes: 0,
      lookbackSeconds: 0,
    },
    snaplenBytes: 1500,
  };

  it('applies the configured defaults when limits are absent', () => {
    const job = accept(BASE);
    expect({ limits: job.limits, snaplenBytes: job.snaplenBytes }).toEqual(defaults);
    expect(job.clamps).toEqual([]);
  });

  it('applies the configured defaults when limits are 0', () => {
    const job = accept({ ...BASE, packets: 0, bytes: 0, duration: 0, timeout: 0, snap: 0 });
    expect({ limits: job.limits, snaplenBytes: job.snaplenBytes }).toEqual(defaults);
    expect(job.clamps).toEqual([]);
  });

  it('keeps limits at or below the maxima as asked', () => {
    const job = accept({ ...BASE, packets: 1000, bytes: 4096, duration: 5, timeout: 60, snap: 9000 });
    expect(job.limits).toMatchObject({ packets: 1000, bytes: 4096, durationSeconds: 5, timeoutSeconds: 60 });
    expect(job.snaplenBytes).toBe(9000);
    expect(job.clamps).toEqual([]);
  });

  it('clamps packets above maxpackets and records the clamp', () => {
    const job = accept({ ...BASE, packets: 50_000 });
    expect(job.limits.packets).toBe(1000);
    expect(job.clamps).toEqual([{ field: 'packets', requested: 50_000, applied: 1000 }]);
  });

  it.each([
    ['bytes', 5_000_000, 1_000_000],
    ['duration', 3600, 600],
    ['timeout', 61, 60],
    ['snap', 65_535, 9000],
  ] as const)('clamps %s above its maximum and records the clamp', (field, requested, applied) => {
    expect(accept({ ...BASE, [field]: requested }).clamps).toEqual([{ field, requested, applied }]);
  });

  it('records every clamp of one request', () => {
    const job = accept({ ...BASE, packets: 1001, bytes: 1_000_001, duration: 601, timeout: 61, snap: 9001 });
    expect(job.clamps.map((clamp) => clamp.field)).toEqual(['packets', 'bytes', 'duration', 'timeout', 'snap']);
    expect(job.limits).toMatchObject({ packets: 1000, bytes: 1_000_000, durationSeconds: 600, timeoutSeconds: 60 });
    expect(job.snaplenBytes).toBe(9000);
  });

  it('copies segment seconds and bytes, even a segment larger than the byte limit', () => {
    const job = accept({ ...BASE, segment: { seconds: 30, bytes: 10_000_000 } });
    expect(job.limits).toMatchObject({ segmentSeconds: 30, segmentBytes: 10_000_000 });
  });
});

describe('parseRequest: the job', () => {
  it('uses a generated id when the request has none', () => {
    expect(accept(BASE).id).toBe('generated-1');
  });

  it('uses the request id when given', () => {
    expect(accept({ ...BASE, id: 'alert-655443.1' }).id).toBe('alert-655443.1');
  });

  it('splits tags on commas, trimmed, empty ones dropped', () => {
    expect(accept({ ...BASE, tags: ' blah, tagme,,stuff ,  ' }).tags).toEqual(['blah', 'tagme', 'stuff']);
  });

  it('keeps at most 64 tags', () => {
    const tags = Array.from({ length: 100 }, (_, i) => `t${i}`).join(',');
    const job = accept({ ...BASE, tags });
    expect(job.tags).toHaveLength(64);
    expect(job.tags[63]).toBe('t63');
  });

  it('takes format, packetdebug and logrequest from the config when absent', () => {
    const job = accept(BASE);
    expect([job.format, job.packetDebug, job.logRequest]).toEqual(['pcapng', false, true]);
  });

  it('takes format, packetdebug and logrequest from the request when given', () => {
    const job = accept({ ...BASE, format: 'pcap', packetdebug: true, logrequest: false });
    expect([job.format, job.packetDebug, job.logRequest]).toEqual(['pcap', true, false]);
  });

  it('records when, where from and on which node the request was accepted', () => {
    const job = accept(BASE, context({ source: 'kafka' }));
    expect(job.receivedAt).toEqual(new Date(NOW_MS));
    expect(job.source).toBe('kafka');
    expect(job.node).toBe(NODE);
  });

  it('copies alertid, customer, folder and reply when present', () => {
    // A redis: reply needs the redis listener enabled on this node.
    const withRedis = ConfigSchema.parse({ ...config, redis: { ...config.redis, listen: true } });
    const job = accept({ ...BASE, alertid: 655443, customer: 'acme', folder: 'acme', reply: 'redis:results' }, context({ config: withRedis }));
    expect(job).toMatchObject({ alertid: 655443, customer: 'acme', folder: 'acme', reply: 'redis:results' });
  });

  it('refuses a reply that is malformed or names a listener this node has not enabled', () => {
    expectRejected({ ...BASE, reply: 'results' }, 'PCAPD_ERR_REPLY_INVALID', /must be redis:<channel>, kafka:<topic> or sqs:<queue-url>/);
    expectRejected({ ...BASE, reply: 'kafka:bad topic' }, 'PCAPD_ERR_REPLY_INVALID', /kafka:<topic>/);
    expectRejected({ ...BASE, reply: 'redis:results' }, 'PCAPD_ERR_REPLY_INVALID', /redis listener is not enabled/);
  });

  it('refuses replyon without a reply, and replyon events it does not know', () => {
    expectRejected({ ...BASE, replyon: ['armed'] }, 'PCAPD_ERR_REPLY_INVALID', /\/replyon: .*no reply/);
    expectRejected({ ...BASE, replyon: ['soon'] }, 'PCAPD_ERR_REQUEST_INVALID', /\/replyon/);
    expectRejected({ ...BASE, replyon: [] }, 'PCAPD_ERR_REQUEST_INVALID', /\/replyon/);
  });

  it('leaves absent optional fields out rather than undefined', () => {
    const job = accept(BASE);
    for (const key of ['alertid', 'customer', 'folder', 'reply']) expect(job).not.toHaveProperty(key);
  });

  it('keeps the validated request as sent', () => {
    const body = { node: 'any', interface: ['lo'], tags: 'a,b', packets: 5, alertid: 'INC-1' };
    expect(accept(body).request).toEqual(body);
  });
});

describe('parseRequest: lookback', () => {
  const warmConfig: Config = ConfigSchema.parse({
    general: { maxlookback: 120 },
    interface: [
      { name: 'lo', alias: ['local'], warm: true, lookbackseconds: 60, lookbackbytes: 1024 * 1024 },
      { name: OTHER_IFACE, alias: ['uplink'] },
    ],
  });
  const warmContext = (): ParseContext => context({ config: warmConfig });

  it('takes lookback on a warm interface, named or by alias', () => {
    expect(accept({ node: 'any', interface: ['lo'], lookback: 30 }, warmContext()).limits.lookbackSeconds).toBe(30);
    expect(accept({ node: 'any', alias: ['local'], lookback: 30 }, warmContext()).limits.lookbackSeconds).toBe(30);
    expect(accept({ node: 'any', interface: ['lo'] }, warmContext()).limits.lookbackSeconds).toBe(0);
  });

  it('clamps lookback to what the ring keeps and to general.maxlookback, and records the clamp', () => {
    const toRing = accept({ node: 'any', interface: ['lo'], lookback: 100 }, warmContext());
    expect(toRing.limits.lookbackSeconds).toBe(60);
    expect(toRing.clamps).toEqual([{ field: 'lookback', requested: 100, applied: 60 }]);
    const small = ConfigSchema.parse({ general: { maxlookback: 5 }, interface: [{ name: 'lo', warm: true, lookbackbytes: 1024 * 1024 }] });
    const toMax = accept({ node: 'any', interface: ['lo'], lookback: 10 }, context({ config: small }));
    expect(toMax.clamps).toEqual([{ field: 'lookback', requested: 10, applied: 5 }]);
  });

  it('refuses lookback on an interface that is not warm, with its own code', () => {
    expectRejected({ node: 'any', interface: [OTHER_IFACE], lookback: 5 }, 'PCAPD_ERR_LOOKBACK_NOT_WARM', /is not warm/, warmContext());
    expectRejected({ node: 'any', interface: ['lo'], lookback: 5 }, 'PCAPD_ERR_LOOKBACK_NOT_WARM', /is not warm/);
  });

  it('refuses lookback across several interfaces: one ring serves one interface', () => {
    if (OTHER_IFACE === 'lo') return;
    expectRejected({ node: 'any', interface: ['lo', OTHER_IFACE], lookback: 5 }, 'PCAPD_ERR_LOOKBACK_NOT_WARM', /exactly one warm interface/, warmContext());
  });

  it('refuses a negative, fractional or non-numeric lookback', () => {
    for (const lookback of [-1, 1.5, '5']) {
      expectRejected({ node: 'any', interface: ['lo'], lookback }, 'PCAPD_ERR_REQUEST_INVALID', /\/lookback/, warmContext());
    }
  });
});

describe("parseRequest: pcapdaemon's own messages", () => {
  // From pcapdaemon's README ("Message format") and its repository's test messages, verbatim but for
  // the pairs its rules say to choose from (node or nodere, interface or alias: one of each kept) and
  // the interface names, which must exist on this host.
  const readmeExample = {
    node: 'node name',
    interface: ['lo'],
    tags: 'blah,tagme,stuff',
    bpf: 'dst ip 10.0.0.1',
    customer: 'importantcustomer',
    snap: 1500,
    packets: 50,
    alertid: 655443,
    timeout: 15,
    duration: 60,
    bytes: 1000,
    packetdebug: false,
    folder: 'myfolder',
    bucket: 'mybucket',
    acl: 'public-read',
    region: 'us-east-1',
    endpoint: 's3.amazonaws.com',
    encryption: false,
  };

  it('accepts the README example on a node without S3, noting the S3 fields it ignores', () => {
    // Its filter does not compile in libpcap ("dst ip" is no primitive), so pcapdaemon could not
    // have captured it either: refused for that alone, never for its S3 fields.
    expectRejected(readmeExample, 'PCAPD_ERR_BPF_INVALID', /syntax error/, context({ node: 'node name' }));
    const job = accept({ ...readmeExample, bpf: 'dst host 10.0.0.1' }, context({ node: 'node name' }));
    expect(job).toMatchObject({ filter: 'dst host 10.0.0.1', folder: 'myfolder', alertid: 655443, tags: ['blah', 'tagme', 'stuff'] });
    expect(job.notes).toEqual(['S3 is not enabled here (s3.upload = false): bucket, acl, region, endpoint ignored']);
  });

  it("accepts the README example where S3 is configured with its values, and the repository's test messages", () => {
    const s3: Config = ConfigSchema.parse({
      ...config,
      s3: { upload: true, bucket: 'mybucket', acl: 'public-read', region: 'us-east-1', endpoint: 's3.amazonaws.com' },
    });
    expect(parse({ ...readmeExample, bpf: 'dst host 10.0.0.1' }, context({ config: s3, node: 'node name' })).kind).toBe('accepted');
    const testMessages = [
      {
        node: 'any',
        interface: ['lo'],
        tags: 'blah,tagme,stuff',
        bpf: 'port 22',
        customer: 'importantcustomer',
        snap: 1500,
        packets: 25,
        alertid: 655443,
        timeout: 15,
        folder: 'myfolder',
        bucket: 'mybucket',
        acl: 'public-read',
        region: 'us-east-1',
        endpoint: 's3.amazonaws.com',
        encryption: true,
      },
      {
        bpf: 'host 8.8.8.8',
        timeout: 300,
        duration: 1000,
        bytes: 900,
        customer: 'blah',
        node: 'any',
        packets: 1000,
        interface: ['lo'],
        snap: 1500,
        tags: 'networkipcount,iptype:prefix',
      },
    ];
    for (const message of testMessages) expect(parse(message, context({ config: s3 })).kind).toBe('accepted');
  });

  it('reads null as absent, as pcapdaemon (Go) did', () => {
    const job = accept({ ...BASE, nodere: null, alias: null, bucket: null, packets: null, folder: null });
    expect(job.limits.packets).toBe(1000);
    expect(job.folder).toBeUndefined();
    expect(job.notes).toBeUndefined();
  });
});
