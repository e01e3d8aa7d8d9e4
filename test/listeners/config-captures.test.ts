import { describe, expect, it } from 'vitest';

import { ConfigSchema } from '../../src/config/schema.js';
import { requestOfBlock } from '../../src/listeners/config-captures.js';
import { validateRequest } from '../../src/requests/validate-request.js';

function blocks(capture: unknown[]) {
  return ConfigSchema.parse({ capture }).capture;
}

describe('[[capture]] blocks', () => {
  it('become requests the request schema accepts, every key carried over', () => {
    const [block] = blocks([
      {
        name: 'sip',
        alias: ['voice'],
        bpf: 'udp port 5060',
        snap: 1500,
        format: 'pcap',
        folder: '{name}/%Y',
        duration: 60,
        segmentseconds: 3600,
        segmentbytes: 10_000,
        segmentalign: true,
        ringfiles: 24,
        ringbytes: 1_000_000,
      },
    ]);
    expect(validateRequest(requestOfBlock(block!))).toEqual({
      node: 'any',
      name: 'sip',
      alias: ['voice'],
      bpf: 'udp port 5060',
      snap: 1500,
      format: 'pcap',
      folder: '{name}/%Y',
      duration: 60,
      segment: { seconds: 3600, bytes: 10_000, align: true },
      ring: { files: 24, bytes: 1_000_000 },
    });
  });

  it('leaves defaults out, so the request takes the configured ones', () => {
    const [block] = blocks([{ name: 'ctl', interface: ['eth1'], segmentbytes: 4096 }]);
    expect(requestOfBlock(block!)).toEqual({ node: 'any', name: 'ctl', bpf: '', interface: ['eth1'], segment: { bytes: 4096 } });
  });

  it('refuses a block without segments and two blocks of one name', () => {
    expect(() => blocks([{ name: 'a', interface: ['eth1'] }])).toThrow(/segmentseconds or segmentbytes/u);
    expect(() =>
      blocks([
        { name: 'a', segmentseconds: 1 },
        { name: 'a', segmentseconds: 2 },
      ]),
    ).toThrow(/same name/u);
    for (const name of ['../x', 'a..b', '.hidden', 'a/b', '']) expect(() => blocks([{ name, segmentseconds: 1 }]), name).toThrow();
  });
});
