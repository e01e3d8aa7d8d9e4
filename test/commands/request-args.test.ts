import { describe, expect, it } from 'vitest';

import { parseRequestArgs } from '../../src/commands/request-args.js';
import { PcapdError } from '../../src/errors.js';

describe('pcapd request: its command line', () => {
  it('takes --wait=armed and --wait=done to say what to wait for', () => {
    expect(parseRequestArgs(['--wait=armed'])).toMatchObject({ wait: true, waitFor: 'armed' });
    expect(parseRequestArgs(['--wait=done'])).toMatchObject({ wait: true, waitFor: 'done' });
    expect(parseRequestArgs(['--wait'])).toMatchObject({ wait: true, waitFor: 'done' });
    expect(() => parseRequestArgs(['--wait=soon'])).toThrow(PcapdError);
  });

  it('builds request fields from flags, with their types', () => {
    const args = parseRequestArgs([
      '-config',
      '/etc/pcapd/config.toml',
      '--via',
      'kafka',
      '--node',
      'sensor-1',
      '--interface',
      'eth0',
      '--interface=eth1,eth2',
      '--bpf',
      'tcp port 443',
      '--packets',
      '100',
      '--duration=30',
      '--alertid',
      '4711',
      '--tags',
      'a,b',
      '--segment-seconds',
      '10',
      '--packetdebug',
      '--wait',
      '--wait-timeout',
      '90',
      '--expect',
      '2',
    ]);
    expect(args).toMatchObject({ configPath: '/etc/pcapd/config.toml', via: 'kafka', wait: true, waitTimeoutSeconds: 90, expect: 2 });
    expect(args.fields).toEqual({
      node: 'sensor-1',
      interface: ['eth0', 'eth1', 'eth2'],
      bpf: 'tcp port 443',
      packets: 100,
      duration: 30,
      alertid: 4711,
      tags: 'a,b',
      segment: { seconds: 10 },
      packetdebug: true,
    });
  });

  it('keeps a non-numeric alert id a string', () => {
    expect(parseRequestArgs(['--alertid', 'ET-2024-1']).fields['alertid']).toBe('ET-2024-1');
  });

  it.each([
    [['--pakets', '5'], 'unknown flag --pakets; did you mean --packets? (see pcapd request --help)'],
    [['--packets', 'many'], '-packets: expected an integer (got "many")'],
    [['--via', 'smtp'], '-via must be one of redis, kafka, sqs, http (got "smtp")'],
    [['--node'], 'flag -node needs a value'],
    [['sensor-1'], 'unexpected argument "sensor-1": only flags are accepted (see pcapd request --help)'],
    [['--wait-timeout', '0'], '-wait-timeout: expected a positive integer (got 0)'],
    [['--url', 'ftp://x'], '-url must be an http(s) URL (got "ftp://x")'],
  ])('refuses %j as a usage error', (argv, message) => {
    let error: unknown;
    try {
      parseRequestArgs(argv);
    } catch (err: unknown) {
      error = err;
    }
    expect(error).toBeInstanceOf(PcapdError);
    expect(error).toMatchObject({ code: 'PCAPD_ERR_USAGE', message });
  });
});
