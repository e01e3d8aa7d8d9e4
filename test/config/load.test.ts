/**
 * Loading the TOML configuration: defaults, pcapdaemon's own files, every
 * problem reported with its key path, cross-field checks, freezing and
 * redaction, and the shipped config.example.toml.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

import { parse } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

import { formatConfigIssues } from '../../src/config/config-issues.js';
import { isLoopbackHost } from '../../src/config/cross-checks.js';
import { DEFAULT_CONFIG_PATH, loadConfigFile, nodeName, parseConfigText, redactConfig } from '../../src/config/load.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { PcapdError } from '../../src/errors.js';

/** pcapdaemon's pcapdaemon.conf.example, verbatim (tabs included). */
const PCAPDAEMON_EXAMPLE = `[general]
maxpackets      = 50000
writelocal      = false
localdir        = "/tmp"
snaplength      = 500
defaulttimeout  = 10
maxtimeout      = 3600
maxduration     = 3600
maxbytes        = 100000000
packetdebug     = false
logrequests     = true

[cloudshark]
host        = "www.cloudshark.org"
scheme      = "https"
port        = 443
timeout     = 0
token       = "fffffffffffffffffff"
upload      = true

[redis]
listen		= true
host        = "node.running.redis.net"
port        = 6379
channel     = "capture"
auth		= "password"

[kafka]
listen      = true
server      = ["127.0.0.1:9092", "host.example.com:9092"]
topic       = "capture"

[syslog]
priority    = 25
tag         = "pcapdaemon"

[[interface]]
name        = "eth0"
alias       = ["main", "public"]

[[interface]]
name        = "lo"
alias       = ["local"]

[s3]
accessid	= "xxxxxxxxxxxxxxxxxxxxxxxxx"
accesskey	= "xxxxxxxxxxxxxxxxxxxxxxx"
endpoint	= "s3.amazonaws.com"
bucket		= "pcapdaemon"
folder		= "pcaps"
upload		= true
region		= "us-east-1"
acl			= "private"
encryption	= false

[sqs]
listen      = true
region      = "us-east-1"
accessid    = "xxxxxxxxxxxxxxxxxxxxxxxxx"
accesskey   = "xxxxxxxxxxxxxxxxxxxxxxx"
url         = "https://example.amazone.com/asdfasdf/myqueue"
waitseconds = 20
chunksize   = 10
`;

/** The "Config file" block of pcapdaemon's README, verbatim. */
const PCAPDAEMON_README_CONFIG = `[general]
maxpackets      = 50000
writelocal      = false
localdir        = "/tmp"
snaplength      = 500
defaulttimeout  = 10
maxtimeout      = 3600
maxduration     = 3600
maxbytes        = 100000000
packetdebug     = false
logrequests     = false

[cloudshark]
host        = "www.cloudshark.org"
scheme      = "https"
port        = 443
timeout     = 0
token       = "fffffffffffffffffff"
upload      = true

[redis]
listen		= true
host        = "node.running.redis.net"
port        = 6379
channel     = "capture"
auth		= "password"

[kafka]
listen      = true
server      = ["127.0.0.1:9092", "myhost.example.com:9092"]
topic       = "capture"

# consult /usr/include/sys/syslog.h for Priority which is a combination 
# of facility and severity
[syslog]
priority    = 25
tag         = "pcapdaemon"

[[interface]]
name        = "eth0"
alias       = ["main", "public"]

[[interface]]
name        = "lo"
alias       = ["local"]

[s3]
accessid	= "xxxxxxxxxxxxxxxxxxxxxxxxx"
accesskey	= "xxxxxxxxxxxxxxxxxxxxxxx"
endpoint	= "s3.amazonaws.com"
bucket		= "pcapdaemon"
folder		= "pcaps"
upload		= true
region		= "us-east-1"
acl			= "private"
encryption	= false

[sqs]
listen		= true
region		= "us-east-1"
accessid	= "xxxxxxxxxxxxxxxxxxxxxxxxx"
accesskey	= "xxxxxxxxxxxxxxxxxxxxxxx"
url			= "https://example.amazone.com/asdfasdf/myqueue"
waitseconds = 20
chunksize	= 10
`;

/** The PcapdError thrown by `load`, failing the test if nothing is thrown. */
function configError(load: () => unknown): PcapdError {
  try {
    load();
  } catch (err: unknown) {
    if (err instanceof PcapdError) return err;
    throw err;
  }
  throw new Error('expected a PcapdError');
}

/** The problem lines of a PCAPD_ERR_CONFIG_INVALID message (its first line is a summary). */
function problemLines(err: PcapdError): string[] {
  return err.message.split('\n').slice(1);
}

describe('parseConfigText', () => {
  it('fills every default from an empty file', () => {
    const config = parseConfigText('', 'empty.toml');
    expect(config).toEqual(ConfigSchema.parse({}));
    expect(config.general.maxpackets).toBe(50_000);
    expect(config.general.snaplength).toBe(500);
    expect(config.http).toMatchObject({ listen: true, host: '127.0.0.1', port: 8347 });
    expect(config.interface).toEqual([]);
    expect(config.syslog).toBeUndefined();
  });

  it("loads pcapdaemon's example config unchanged", () => {
    const config = parseConfigText(PCAPDAEMON_EXAMPLE, 'pcapdaemon.conf.example');
    expect(config.general).toMatchObject({ maxpackets: 50_000, writelocal: false, localdir: '/tmp', logrequests: true });
    expect(config.cloudshark).toEqual({
      host: 'www.cloudshark.org',
      scheme: 'https',
      port: 443,
      timeout: 0,
      token: 'fffffffffffffffffff',
      upload: true,
    });
    // pcapdaemon's keys as written; pcapd's additions at their defaults (pub/sub, as pcapdaemon).
    expect(config.redis).toMatchObject({ listen: true, host: 'node.running.redis.net', port: 6379, channel: 'capture', auth: 'password' });
    expect(config.redis).toMatchObject({ mode: 'pubsub', db: 0, tls: false, results: '' });
    expect(config.kafka.server).toEqual(['127.0.0.1:9092', 'host.example.com:9092']);
    expect(config.syslog).toEqual({ priority: 25, tag: 'pcapdaemon', socket: '/dev/log' });
    expect(config.interface).toMatchObject([
      { name: 'eth0', alias: ['main', 'public'], warm: false },
      { name: 'lo', alias: ['local'], warm: false },
    ]);
    expect(config.s3).toEqual({
      accessid: 'xxxxxxxxxxxxxxxxxxxxxxxxx',
      accesskey: 'xxxxxxxxxxxxxxxxxxxxxxx',
      endpoint: 's3.amazonaws.com',
      bucket: 'pcapdaemon',
      folder: 'pcaps',
      upload: true,
      region: 'us-east-1',
      acl: 'private',
      encryption: false,
      // pcapd's additions at their defaults: virtual-host addressing as pcapdaemon, no per-request overrides.
      pathstyle: false,
      partsize: 8 * 1024 * 1024,
      queuesize: 4,
      timeout: 60,
      allowbuckets: [],
      allowendpoints: [],
      allowregions: [],
      allowacls: [],
    });
    expect(config.sqs).toMatchObject({ listen: true, url: 'https://example.amazone.com/asdfasdf/myqueue', chunksize: 10 });
  });

  it("loads the config documented in pcapdaemon's README", () => {
    const config = parseConfigText(PCAPDAEMON_README_CONFIG, 'README.md');
    expect(config.kafka.server).toEqual(['127.0.0.1:9092', 'myhost.example.com:9092']);
    expect(config.general.logrequests).toBe(false);
  });

  it("rejects pcapdaemon's undocumented s3 key pcaps (its Go struct tag for folder)", () => {
    const err = configError(() => parseConfigText('[s3]\npcaps = "captures"\n', 'old.toml'));
    expect(problemLines(err)).toEqual(['s3.pcaps: unknown key']);
  });

  it('rejects an unknown key with its path', () => {
    const err = configError(() => parseConfigText('[general]\nmaxpakets = 100\n', 'typo.toml'));
    expect(err.code).toBe('PCAPD_ERR_CONFIG_INVALID');
    expect(err.message).toContain('typo.toml');
    expect(problemLines(err)).toEqual(['general.maxpakets: unknown key']);
  });

  it('rejects an unknown section with its name', () => {
    const err = configError(() => parseConfigText('[spoool]\ndir = "/tmp"\n', 'typo.toml'));
    expect(problemLines(err)).toEqual(['spoool: unknown key']);
  });

  it('rejects a wrong type with its path', () => {
    const text = '[[interface]]\nname = "eth0"\n\n[[interface]]\nname = 3\n';
    const err = configError(() => parseConfigText(text, 'types.toml'));
    expect(problemLines(err)).toEqual(['interface[1].name: expected a string (got an integer)']);
  });

  it('reports a missing required key', () => {
    const err = configError(() => parseConfigText('[[interface]]\nalias = ["x"]\n', 'missing.toml'));
    expect(problemLines(err)).toEqual(['interface[0].name: expected a string (missing)']);
  });

  it('rejects an out-of-range value with the bound and the value given', () => {
    const err = configError(() => parseConfigText('[general]\nsnaplength = 999999\n', 'range.toml'));
    expect(problemLines(err)).toEqual(['general.snaplength: must be <= 262144 (got 999999)']);
  });

  it('lists every problem, not only the first', () => {
    const text = [
      '[general]',
      'maxpakets = 1',
      'snaplength = 0',
      'maxpackets = 1.5',
      'format = "pcap-ng"',
      '[cloudshark]',
      'scheme = "ftp"',
      '[kafka]',
      'server = []',
      '[http]',
      'host = "0.0.0.0"',
      '[nonsense]',
    ].join('\n');
    const err = configError(() => parseConfigText(text, 'many.toml'));
    expect(err.message.split('\n')[0]).toBe('invalid configuration in many.toml (8 problems):');
    expect(problemLines(err).sort()).toEqual(
      [
        'general.maxpakets: unknown key',
        'general.snaplength: must be >= 1 (got 0)',
        'general.maxpackets: expected an integer (got 1.5)',
        'general.format: must be one of "pcapng", "pcap" (got "pcap-ng")',
        'cloudshark.scheme: must be one of "http", "https" (got "ftp")',
        'kafka.server: must have at least 1 item (got 0)',
        'http.token: a token of at least 16 characters is required when http.host ("0.0.0.0") is not loopback',
        'nonsense: unknown key',
      ].sort(),
    );
  });

  it('reports a TOML syntax error with its line and column', () => {
    const err = configError(() => parseConfigText('[general]\nmaxpackets = 10\nsnaplength = = 5\n', 'broken.toml'));
    expect(err.code).toBe('PCAPD_ERR_CONFIG_READ');
    expect(err.message).toMatch(/^broken\.toml:3:\d+: invalid TOML: /);
    expect(err.message).toContain('snaplength = = 5');
  });

  it('returns a deep-frozen config that cannot be modified', () => {
    const config = parseConfigText('[[interface]]\nname = "eth0"\nalias = ["main"]\n', 'frozen.toml');
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.general)).toBe(true);
    expect(Object.isFrozen(config.kafka.server)).toBe(true);
    expect(Object.isFrozen(config.interface[0]?.alias)).toBe(true);
    expect(() => {
      config.general.maxpackets = 1;
    }).toThrow(TypeError);
    expect(() =>
      config.interface.push({ name: 'eth1', alias: [], warm: false, lookbackseconds: 0, lookbackbytes: 0, bufferbytes: 0, lookbackfilter: '' }),
    ).toThrow(TypeError);
    expect(config.general.maxpackets).toBe(50_000);
  });

  it('rejects a key named __proto__ as unknown instead of changing a prototype', () => {
    const err = configError(() => parseConfigText('[general]\n__proto__ = { maxpackets = 1 }\n', 'proto.toml'));
    expect(problemLines(err)).toEqual(['general.__proto__: unknown key']);
  });
});

describe('cross-field checks', () => {
  it('rejects a non-loopback http.host without a token', () => {
    const err = configError(() => parseConfigText('[http]\nhost = "0.0.0.0"\n', 'open.toml'));
    expect(problemLines(err)).toEqual(['http.token: a token of at least 16 characters is required when http.host ("0.0.0.0") is not loopback']);
  });

  it('treats an empty http.token as no token', () => {
    const err = configError(() => parseConfigText('[http]\nhost = "10.1.2.3"\ntoken = ""\n', 'empty-token.toml'));
    expect(problemLines(err)).toEqual(['http.token: a token of at least 16 characters is required when http.host ("10.1.2.3") is not loopback']);
  });

  it('rejects an empty http.host, which binds every address', () => {
    const err = configError(() => parseConfigText('[http]\nhost = ""\n', 'empty-host.toml'));
    expect(problemLines(err)).toEqual(['http.token: a token of at least 16 characters is required when http.host ("") is not loopback']);
  });

  it('accepts a non-loopback http.host with a token', () => {
    const config = parseConfigText('[http]\nhost = "::"\ntoken = "s3cret-s3cret-s3cret"\n', 'token.toml');
    expect(config.http.host).toBe('::');
  });

  it('accepts any bind address when the HTTP API is off', () => {
    expect(parseConfigText('[http]\nlisten = false\nhost = "0.0.0.0"\n', 'off.toml').http.listen).toBe(false);
  });

  it.each(['127.0.0.1', '127.5.6.7', '::1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST'])('treats %s as loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each(['0.0.0.0', '::', '', '10.0.0.1', '128.0.0.1', 'sensor.example.com', '::ffff:10.0.0.1'])('treats %j as beyond loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });

  it('accepts an alias shared by two [[interface]] blocks (it names both, as in pcapdaemon)', () => {
    const text = '[[interface]]\nname = "eth0"\nalias = ["main"]\n\n[[interface]]\nname = "eth1"\nalias = ["backup", "main"]\n';
    const config = parseConfigText(text, 'alias.toml');
    expect(config.interface.filter((i) => i.alias.includes('main')).map((i) => i.name)).toEqual(['eth0', 'eth1']);
  });

  it('rejects a token shorter than 16 characters beyond loopback', () => {
    const err = configError(() => parseConfigText('[http]\nhost = "0.0.0.0"\ntoken = "short"\n', 'short.toml'));
    expect(problemLines(err)).toEqual(['http.token: a token of at least 16 characters is required when http.host ("0.0.0.0") is not loopback']);
  });

  it('rejects a default snap length above the maximum and a default timeout above the maximum', () => {
    const text = '[general]\nsnaplength = 2000\nmaxsnaplength = 1500\ndefaulttimeout = 90\nmaxtimeout = 60\n';
    const err = configError(() => parseConfigText(text, 'limits.toml'));
    expect(problemLines(err)).toEqual([
      'general.snaplength: must be <= general.maxsnaplength (1500)',
      'general.defaulttimeout: must be <= general.maxtimeout (60)',
    ]);
  });

  it('rejects a relative localdir and a file name pattern without {id}', () => {
    const err = configError(() => parseConfigText('[general]\nlocaldir = "captures"\nfilename = "{node}-%Y"\n', 'paths.toml'));
    expect(problemLines(err)).toEqual([
      'general.localdir: must be an absolute path',
      'general.filename: the pattern has no {id}: file names would not be unique',
    ]);
  });

  it('rejects Cloudshark uploads without a token', () => {
    const err = configError(() => parseConfigText('[cloudshark]\nupload = true\n', 'cs.toml'));
    expect(problemLines(err)).toEqual(['cloudshark.token: required when cloudshark.upload = true']);
  });

  it('rejects two [[interface]] blocks with the same name', () => {
    const text = '[[interface]]\nname = "eth0"\nalias = ["a"]\n\n[[interface]]\nname = "eth0"\nalias = ["b"]\n';
    const err = configError(() => parseConfigText(text, 'names.toml'));
    expect(problemLines(err)).toEqual(['interface[1].name: "eth0" is already configured by interface[0]']);
  });

  it('accepts an alias repeated within one block', () => {
    const config = parseConfigText('[[interface]]\nname = "eth0"\nalias = ["main", "main"]\n', 'repeat.toml');
    expect(config.interface[0]?.alias).toEqual(['main', 'main']);
  });

  it('reports cross-field problems beside schema problems', () => {
    const text = '[general]\nsnaplength = -1\n\n[[interface]]\nname = "a"\nalias = ["x"]\n\n[[interface]]\nname = "a"\nalias = ["y"]\n';
    const err = configError(() => parseConfigText(text, 'both.toml'));
    expect(problemLines(err)).toEqual(['general.snaplength: must be >= 1 (got -1)', 'interface[1].name: "a" is already configured by interface[0]']);
  });

  it('accepts a config with no sink enabled', () => {
    const config = parseConfigText('[general]\nwritelocal = false\n', 'no-sink.toml');
    expect([config.general.writelocal, config.cloudshark.upload, config.s3.upload]).toEqual([false, false, false]);
  });
});

describe('formatConfigIssues', () => {
  it('quotes keys that are not bare TOML keys', () => {
    const issues = ConfigSchema.safeParse({ general: { 'max packets': 1 } }).error?.issues ?? [];
    expect(formatConfigIssues(issues)).toEqual(['general."max packets": unknown key']);
  });

  it('gives each unknown key of a table its own line', () => {
    const issues = ConfigSchema.safeParse({ redis: { hots: 'x', prot: 1 } }).error?.issues ?? [];
    expect(formatConfigIssues(issues)).toEqual(['redis.hots: unknown key', 'redis.prot: unknown key']);
  });

  it('never prints the value of a string key given the wrong type', () => {
    const err = configError(() => parseConfigText('[redis]\nauth = 123456789\n', 'secret.toml'));
    expect(problemLines(err)).toEqual(['redis.auth: expected a string (got an integer)']);
    expect(err.message).not.toContain('123456789');
  });
});

describe('loadConfigFile', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcapd-config-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads and validates a file', async () => {
    const path = join(dir, 'pcapd.toml');
    await writeFile(path, '[general]\nmaxpackets = 42\n');
    expect((await loadConfigFile(path)).general.maxpackets).toBe(42);
  });

  it('names the path of a file it cannot read', async () => {
    const path = join(dir, 'absent.toml');
    await expect(loadConfigFile(path)).rejects.toMatchObject({
      code: 'PCAPD_ERR_CONFIG_READ',
      message: expect.stringContaining(path),
    });
  });

  it('names the path in a validation error', async () => {
    const path = join(dir, 'bad.toml');
    await writeFile(path, '[general]\nmaxpakets = 1\n');
    await expect(loadConfigFile(path)).rejects.toMatchObject({
      code: 'PCAPD_ERR_CONFIG_INVALID',
      message: `invalid configuration in ${path} (1 problem):\ngeneral.maxpakets: unknown key`,
    });
  });
});

describe('redactConfig', () => {
  const secrets = [
    '[cloudshark]\ntoken = "cs-token"',
    '[redis]\nauth = "redis-password"',
    '[s3]\naccessid = "s3-id"\naccesskey = "s3-key"',
    '[sqs]\naccessid = "sqs-id"\naccesskey = "sqs-key"',
    '[http]\ntoken = "http-token"',
  ].join('\n');

  it('replaces every secret with ***', () => {
    const redacted = redactConfig(parseConfigText(secrets, 'secrets.toml'));
    const text = JSON.stringify(redacted);
    for (const secret of ['cs-token', 'redis-password', 's3-id', 's3-key', 'sqs-id', 'sqs-key', 'http-token']) {
      expect(text).not.toContain(secret);
    }
    expect(redacted).toMatchObject({
      cloudshark: { token: '***' },
      redis: { auth: '***', host: '127.0.0.1' },
      s3: { accessid: '***', accesskey: '***' },
      sqs: { accessid: '***', accesskey: '***' },
      http: { token: '***', host: '127.0.0.1' },
    });
  });

  it('leaves unset secrets unset and the original config untouched', () => {
    const config = parseConfigText('', 'empty.toml');
    const redacted = redactConfig(config);
    expect(redacted).toEqual(config);
    expect(redacted).not.toBe(config);
    const withSecrets = parseConfigText(secrets, 'secrets.toml');
    redactConfig(withSecrets);
    expect(withSecrets.redis.auth).toBe('redis-password');
  });
});

describe('nodeName', () => {
  it('uses general.node when set', () => {
    expect(nodeName(parseConfigText('[general]\nnode = "sensor-7"\n', 'node.toml'))).toBe('sensor-7');
  });

  it('falls back to the hostname', () => {
    expect(nodeName(parseConfigText('', 'empty.toml'))).toBe(hostname());
  });
});

describe('config.example.toml', () => {
  /** Uncomments example key lines and section headers, not prose. */
  function uncommentExamples(text: string): string {
    return text.replace(/^# ?(\[\[?[a-z]+\]\]?$|[a-z]+\s*=)/gm, '$1');
  }

  it('is the embedded default path', () => {
    expect(DEFAULT_CONFIG_PATH.endsWith('/config.example.toml')).toBe(true);
  });

  it('parses and has the shipped active settings', async () => {
    const config = parseConfigText(await readFile(DEFAULT_CONFIG_PATH, 'utf8'), 'config.example.toml');
    expect(config.general).toMatchObject({ writelocal: true, localdir: '/var/lib/pcapd/captures' });
    expect(config.http).toMatchObject({ listen: true, host: '127.0.0.1' });
    expect(config.http.token).toBeUndefined();
    expect([config.redis.listen, config.kafka.listen, config.sqs.listen]).toEqual([false, false, false]);
    expect([config.cloudshark.upload, config.s3.upload]).toEqual([false, false]);
    expect(config.syslog).toBeUndefined();
    expect(config.interface).toEqual([]);
  });

  it('sets every active key to its default, except writelocal', async () => {
    const config = parseConfigText(await readFile(DEFAULT_CONFIG_PATH, 'utf8'), 'config.example.toml');
    const defaults = ConfigSchema.parse({});
    expect({ ...config, general: { ...config.general, writelocal: false } }).toEqual(defaults);
  });

  it('documents every key of every section with a valid example value', async () => {
    const text = uncommentExamples(await readFile(DEFAULT_CONFIG_PATH, 'utf8'));
    expect(() => parseConfigText(text, 'config.example.toml (uncommented)')).not.toThrow();
    const documented = parse(text);
    for (const [section, keys] of Object.entries(schemaKeys())) {
      const table = documented[section];
      const first = Array.isArray(table) ? table[0] : table;
      expect(Object.keys(first ?? {}).sort(), `[${section}]`).toEqual([...keys].sort());
    }
  });
});

/** Every key of every section of ConfigSchema, read from the schema itself. */
function schemaKeys(): Record<string, string[]> {
  return Object.fromEntries(Object.entries(ConfigSchema.shape).map(([section, schema]) => [section, Object.keys(sectionObject(schema).shape)]));
}

/** The strictObject behind a section's .default()/.optional()/array wrapper. */
function sectionObject(schema: z.ZodType): z.ZodObject {
  if (schema instanceof z.ZodObject) return schema;
  if (schema instanceof z.ZodDefault || schema instanceof z.ZodOptional) return sectionObject(schema.unwrap() as z.ZodType);
  if (schema instanceof z.ZodArray) return sectionObject(schema.element as z.ZodType);
  throw new Error(`unexpected section schema ${schema.constructor.name}`);
}
