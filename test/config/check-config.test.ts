/**
 * `pcapd check-config`: the effective configuration (defaults filled, flags
 * applied, secrets hidden) or every problem, one per line.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parse } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { checkConfig } from '../../src/config/check-config.js';
import { DEFAULT_CONFIG_PATH, parseConfigText, redactConfig } from '../../src/config/load.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pcapd-check-config-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function configFile(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

/** The text without its leading `# effective configuration of ...` line. */
function body(text: string): string {
  return text.split('\n').slice(1).join('\n');
}

describe('checkConfig', () => {
  it('prints the effective configuration with defaults filled, after a comment naming the file', async () => {
    const path = await configFile('minimal.toml', '[general]\nmaxpackets = 10\n');
    const result = await checkConfig(path, {});
    expect(result.ok).toBe(true);
    expect(result.text.split('\n')[0]).toBe(`# effective configuration of ${path}`);
    expect(result.text).toContain('maxpackets = 10\n');
    expect(result.text).toContain('snaplength = 500\n');
    expect(result.text).toContain('[scheduler]\n');
  });

  it('hides every secret that is set', async () => {
    const secrets = '[redis]\nauth = "redis-pw"\n[http]\ntoken = "http-tok"\n[s3]\naccessid = "s3-id"\naccesskey = "s3-key"\n[cloudshark]\ntoken = "cs-tok"\n';
    const result = await checkConfig(await configFile('secrets.toml', secrets), {});
    expect(result.ok).toBe(true);
    for (const secret of ['redis-pw', 'http-tok', 's3-id', 's3-key', 'cs-tok']) expect(result.text).not.toContain(secret);
    expect(parse(body(result.text))).toMatchObject({
      redis: { auth: '***' },
      http: { token: '***' },
      s3: { accessid: '***', accesskey: '***' },
      cloudshark: { token: '***' },
    });
  });

  it('prints sections and keys in sorted order', async () => {
    const result = await checkConfig(await configFile('empty.toml', ''), {});
    const sections = result.text.split('\n').filter((line) => line.startsWith('['));
    expect(sections).toEqual([...sections].sort());
    const generalKeys = body(result.text)
      .split('[general]\n')[1]
      ?.split('\n\n')[0]
      ?.split('\n')
      .map((line) => line.split(' = ')[0]);
    expect(generalKeys).toEqual([...(generalKeys ?? [])].sort());
    expect(generalKeys).toContain('packetdebuglines');
  });

  it('prints a configuration that itself loads to the same (redacted) settings', async () => {
    const text = '[general]\nnode = "s1"\n[redis]\nauth = "pw"\n[[interface]]\nname = "eth0"\nalias = ["main"]\n';
    const result = await checkConfig(await configFile('roundtrip.toml', text), {});
    expect(redactConfig(parseConfigText(body(result.text), 'printed'))).toEqual(redactConfig(parseConfigText(text, 'original')));
  });

  it('applies command-line overrides', async () => {
    const result = await checkConfig(await configFile('flags.toml', ''), { cshost: 'cs.example.com', cstoken: 'token-from-a-flag', upload: true });
    expect(parse(body(result.text))).toMatchObject({ cloudshark: { host: 'cs.example.com', upload: true } });
  });

  it('lists every error with its path, one per line', async () => {
    const path = await configFile('bad.toml', '[general]\nmaxpakets = 1\nsnaplength = 0\n[http]\nhost = "0.0.0.0"\n');
    const result = await checkConfig(path, {});
    expect(result.ok).toBe(false);
    expect(result.text.split('\n')).toEqual([
      `invalid configuration in ${path} (3 problems):`,
      'general.snaplength: must be >= 1 (got 0)',
      'general.maxpakets: unknown key',
      'http.token: a token of at least 16 characters is required when http.host ("0.0.0.0") is not loopback',
    ]);
  });

  it('names the flag behind a bad value', async () => {
    const result = await checkConfig(await configFile('ok.toml', ''), { redisport: 0 });
    expect(result).toEqual({
      ok: false,
      text: expect.stringContaining('redis.port (from -redisport): must be >= 1 (got 0)'),
    });
  });

  it('reports a TOML syntax error with its line', async () => {
    const path = await configFile('syntax.toml', '[general\n');
    const result = await checkConfig(path, {});
    expect(result.ok).toBe(false);
    expect(result.text).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1:\\d+: invalid TOML`));
  });

  it('reports a file it cannot read', async () => {
    const path = join(dir, 'absent.toml');
    const result = await checkConfig(path, {});
    expect(result.ok).toBe(false);
    expect(result.text).toContain(`cannot read configuration file ${path}`);
  });

  it('checks the embedded default when no file is given', async () => {
    const result = await checkConfig(undefined, {});
    expect(result.ok).toBe(true);
    expect(result.text.split('\n')[0]).toBe(`# effective configuration of ${DEFAULT_CONFIG_PATH}`);
    expect(parse(body(result.text))).toMatchObject({ general: { writelocal: true }, http: { listen: true } });
  });
});
