/**
 * pcapdaemon's command-line flags: Go flag syntax, each flag mapped to its
 * config key, applied before validation so bad values are reported like
 * bad file values, with the flag named.
 */
import { describe, expect, it } from 'vitest';

import { applyOverrides, parseDaemonFlags, type ConfigOverrides } from '../../src/config/flags.js';
import { buildConfig } from '../../src/config/load.js';
import { PcapdError } from '../../src/errors.js';

/** A file that sets every key the flags override, to values no flag below uses. */
const FILE = `
[general]
maxpackets = 100
writelocal = false
localdir = "/srv/file"

[cloudshark]
host = "file.example.com"
scheme = "http"
token = "file-token"
port = 8080
timeout = 5
upload = false

[redis]
host = "redis.file.example.com"
port = 6000
channel = "file-channel"
`;

function flagError(argv: string[]): PcapdError {
  try {
    parseDaemonFlags(argv);
  } catch (err: unknown) {
    if (err instanceof PcapdError) return err;
    throw err;
  }
  throw new Error('expected a PcapdError');
}

function buildError(overrides: ConfigOverrides): PcapdError {
  try {
    buildConfig(FILE, 'file.toml', overrides);
  } catch (err: unknown) {
    if (err instanceof PcapdError) return err;
    throw err;
  }
  throw new Error('expected a PcapdError');
}

describe('parseDaemonFlags', () => {
  it.each([
    [['-cshost', 'cs.example.com'], 'cloudshark', 'host', 'cs.example.com'],
    [['-csscheme', 'https'], 'cloudshark', 'scheme', 'https'],
    [['-cstoken', 'flag-token'], 'cloudshark', 'token', 'flag-token'],
    [['-csport', '8443'], 'cloudshark', 'port', 8443],
    [['-cstimeout', '30'], 'cloudshark', 'timeout', 30],
    [['-redischannel', 'alerts'], 'redis', 'channel', 'alerts'],
    [['-redisnode', 'redis.example.com'], 'redis', 'host', 'redis.example.com'],
    [['-redisport', '6380'], 'redis', 'port', 6380],
    [['-upload'], 'cloudshark', 'upload', true],
    [['-writelocal'], 'general', 'writelocal', true],
    [['-destdir', '/srv/flag'], 'general', 'localdir', '/srv/flag'],
    [['-maxpackets', '7'], 'general', 'maxpackets', 7],
  ] as const)('maps %j to %s.%s and overrides the file', (argv, section, key, value) => {
    const { overrides } = parseDaemonFlags(argv);
    const config = buildConfig(FILE, 'file.toml', overrides);
    expect((config[section] as Record<string, unknown>)[key]).toEqual(value);
  });

  it('leaves keys no flag names as the file sets them', () => {
    const config = buildConfig(FILE, 'file.toml', parseDaemonFlags(['-csport', '8443']).overrides);
    expect(config.cloudshark).toMatchObject({ host: 'file.example.com', scheme: 'http', port: 8443 });
  });

  it.each([[['-cshost', 'a.example.com']], [['-cshost=a.example.com']], [['--cshost', 'a.example.com']], [['--cshost=a.example.com']]])(
    'accepts Go flag syntax %j',
    (argv) => {
      expect(parseDaemonFlags(argv).overrides).toEqual({ cshost: 'a.example.com' });
    },
  );

  it('returns -config as the config path', () => {
    expect(parseDaemonFlags(['-config', '/etc/pcapd/pcapd.toml', '-upload'])).toEqual({
      configPath: '/etc/pcapd/pcapd.toml',
      overrides: { upload: true },
      warnings: [],
    });
  });

  it('returns no overrides and no config path for no flags', () => {
    expect(parseDaemonFlags([])).toEqual({ overrides: {}, warnings: [] });
  });

  it('reads -upload=false and other Go boolean spellings', () => {
    expect(parseDaemonFlags(['-upload=false', '-writelocal=1']).overrides).toEqual({ upload: false, writelocal: true });
    expect(parseDaemonFlags(['--upload=F']).overrides).toEqual({ upload: false });
  });

  it('switches an upload the file enables off with -upload=false', () => {
    const config = buildConfig('[cloudshark]\nupload = true\n', 'file.toml', parseDaemonFlags(['-upload=false']).overrides);
    expect(config.cloudshark.upload).toBe(false);
  });

  it('does not take the next argument as a boolean value, as Go does not', () => {
    expect(flagError(['-upload', 'false']).message).toBe('unexpected argument "false": only flags are accepted');
  });

  it('rejects a bad boolean value with the flag name', () => {
    expect(flagError(['-writelocal=yes']).message).toBe('-writelocal: expected true or false (got "yes")');
  });

  it('accepts -panic and ignores it with a warning', () => {
    const flags = parseDaemonFlags(['-panic']);
    expect(flags.overrides).toEqual({});
    expect(flags.warnings).toHaveLength(1);
    expect(flags.warnings[0]).toMatch(/^-panic is ignored/);
  });

  it('takes the last value of a repeated flag', () => {
    expect(parseDaemonFlags(['-maxpackets', '1', '-maxpackets=2']).overrides).toEqual({ maxpackets: 2 });
  });

  it('takes the argument after a value flag even if it starts with a dash', () => {
    expect(parseDaemonFlags(['-cstoken', '-abc']).overrides).toEqual({ cstoken: '-abc' });
    const err = buildError(parseDaemonFlags(['-csport', '-1']).overrides);
    expect(err.message.split('\n').slice(1)).toEqual(['cloudshark.port (from -csport): must be >= 0 (got -1)']);
  });

  it('rejects an unknown flag', () => {
    const err = flagError(['-maxpakets', '10']);
    expect(err.code).toBe('PCAPD_ERR_CONFIG_INVALID');
    expect(err.message).toBe('flag provided but not defined: -maxpakets; did you mean -maxpackets?');
  });

  it('rejects a value flag without its value', () => {
    expect(flagError(['-upload', '-cshost']).message).toBe('flag needs an argument: -cshost');
  });

  it('rejects a non-integer number with the flag name', () => {
    expect(flagError(['-csport', 'https']).message).toBe('-csport: expected an integer (got "https")');
    expect(flagError(['-maxpackets=1.5']).message).toBe('-maxpackets: expected an integer (got "1.5")');
    expect(flagError(['-redisport', '']).message).toBe('-redisport: expected an integer (got "")');
  });

  it('rejects bad flag syntax', () => {
    expect(flagError(['---cshost=x']).message).toBe('bad flag syntax: ---cshost=x');
    expect(flagError(['-=x']).message).toBe('bad flag syntax: -=x');
  });

  it('rejects positional arguments, including those after --', () => {
    expect(flagError(['/etc/pcapd.toml']).message).toBe('unexpected argument "/etc/pcapd.toml": only flags are accepted');
    expect(flagError(['-upload', '--', '-cshost']).message).toBe('unexpected argument "-cshost": only flags are accepted');
    expect(parseDaemonFlags(['-upload', '--']).overrides).toEqual({ upload: true });
  });
});

describe('flag values checked by the config schema', () => {
  it('reports an out-of-range flag value with its key path and the flag name', () => {
    const err = buildError(parseDaemonFlags(['-csport', '70000']).overrides);
    expect(err.code).toBe('PCAPD_ERR_CONFIG_INVALID');
    expect(err.message.split('\n').slice(1)).toEqual(['cloudshark.port (from -csport): must be <= 65535 (got 70000)']);
  });

  it('reports a bad flag value like the same value in the file', () => {
    const err = buildError(parseDaemonFlags(['-csscheme', 'ftp', '-maxpackets', '0']).overrides);
    expect(err.message.split('\n').slice(1)).toEqual([
      'general.maxpackets (from -maxpackets): must be > 0 (got 0)',
      'cloudshark.scheme (from -csscheme): must be one of "http", "https" (got "ftp")',
    ]);
  });

  it('reports an empty -redischannel', () => {
    const err = buildError(parseDaemonFlags(['-redischannel=']).overrides);
    expect(err.message.split('\n').slice(1)).toEqual(['redis.channel (from -redischannel): must not be empty']);
  });
});

describe('applyOverrides', () => {
  it('returns a copy and leaves the parsed TOML unchanged', () => {
    const raw = { cloudshark: { host: 'file.example.com' } };
    const result = applyOverrides(raw, { cshost: 'flag.example.com', maxpackets: 5 });
    expect(result).toEqual({ cloudshark: { host: 'flag.example.com' }, general: { maxpackets: 5 } });
    expect(raw).toEqual({ cloudshark: { host: 'file.example.com' } });
  });

  it('leaves a section that is not a table for the schema to report', () => {
    expect(applyOverrides({ cloudshark: 5 }, { cshost: 'x' })).toEqual({ cloudshark: 5 });
    expect(() => buildConfig('cloudshark = 5\n', 'odd.toml', { cshost: 'x' })).toThrow('cloudshark: expected a table (got an integer)');
  });
});
