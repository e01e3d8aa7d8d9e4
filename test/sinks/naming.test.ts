import { afterEach, describe, expect, it } from 'vitest';

import { captureFileName, MAX_NAME_BYTES, renderFolder, type FileNameFields } from '../../src/sinks/naming.js';
import { validateFileNamePattern } from '../../src/config/file-name-pattern.js';

const DEFAULT_PATTERN = '{node}-{iface}-%Y%m%dT%H%M%SZ-{id}';
const TIME = new Date('2024-01-02T03:04:05.678Z');

function fields(overrides: Partial<FileNameFields> = {}): FileNameFields {
  return { node: 'sensor1', id: 'r42', iface: 'eth0', segment: 0, segmented: false, time: TIME, ...overrides };
}

const SAFE_NAME = /^[A-Za-z0-9_+-][A-Za-z0-9._+-]*$/;

describe('captureFileName', () => {
  const originalTz = process.env['TZ'];
  afterEach(() => {
    if (originalTz === undefined) delete process.env['TZ'];
    else process.env['TZ'] = originalTz;
  });

  it('renders the default pattern with the pcapng extension', () => {
    expect(captureFileName(DEFAULT_PATTERN, fields(), 'pcapng')).toBe('sensor1-eth0-20240102T030405Z-r42.pcapng');
  });

  it('uses the .pcap extension for classic pcap', () => {
    expect(captureFileName(DEFAULT_PATTERN, fields(), 'pcap')).toBe('sensor1-eth0-20240102T030405Z-r42.pcap');
  });

  it('renders strftime fields in UTC whatever the local time zone', () => {
    process.env['TZ'] = 'Pacific/Kiritimati'; // UTC+14: local time is already the next day
    const name = captureFileName('%F_%T_%j_%s_%%_{id}', fields({ time: new Date('2024-12-31T23:59:58Z') }), 'pcap');
    expect(name).toBe('2024-12-31_23_59_58_366_1735689598___r42.pcap');
  });

  it('renders every placeholder', () => {
    const name = captureFileName(
      '{node}_{alertid}_{customer}_{iface}_{segment}_{id}',
      fields({ alertid: 7, customer: 'acme', iface: 'eth0+eth1', segment: 3 }),
      'pcapng',
    );
    expect(name).toBe('sensor1_7_acme_eth0+eth1_0003_r42.pcapng');
  });

  it('collapses the separators a missing alert id or customer leaves behind', () => {
    expect(captureFileName('{node}-{alertid}-{customer}-{id}', fields(), 'pcap')).toBe('sensor1-r42.pcap');
    expect(captureFileName('{customer}_{node}_{id}_{alertid}', fields(), 'pcap')).toBe('sensor1_r42.pcap');
    expect(captureFileName('{alertid}-{customer}-{id}', fields({ customer: 'acme' }), 'pcap')).toBe('acme-r42.pcap');
  });

  it('keeps separators that are part of a present value or of the pattern itself', () => {
    expect(captureFileName('{node}--{id}', fields({ node: 'a--b' }), 'pcap')).toBe('a--b--r42.pcap');
  });

  it('replaces characters outside [A-Za-z0-9._+-] so no value can add a folder', () => {
    const name = captureFileName(DEFAULT_PATTERN, fields({ node: 'a/b\\c d:é', iface: 'eth0\0x' }), 'pcapng');
    expect(name).toBe('a_b_c_d__-eth0_x-20240102T030405Z-r42.pcapng');
  });

  it('removes ".." from values', () => {
    const name = captureFileName('{customer}-{node}-{id}', fields({ customer: '../../etc/passwd', node: 'x..y' }), 'pcap');
    expect(name).not.toContain('..');
    expect(name).not.toContain('/');
    expect(name).toBe('etc_passwd-xy-r42.pcap');
  });

  it('never starts with a dot', () => {
    expect(captureFileName('{customer}{id}', fields({ customer: '.hidden' }), 'pcap')).toBe('hiddenr42.pcap');
    expect(captureFileName('.{id}', fields(), 'pcap')).toBe('r42.pcap');
  });

  it('is never empty: an empty rendering falls back to the id', () => {
    expect(captureFileName('{customer}', fields(), 'pcapng')).toBe('r42.pcapng');
    expect(captureFileName('{customer}', fields({ id: '..' }), 'pcapng')).toBe('capture.pcapng');
  });

  it('cuts long names to the byte limit from the middle, keeping the start and the id', () => {
    const name = captureFileName(DEFAULT_PATTERN, fields({ node: 'n'.repeat(300), id: 'unique-id-123' }), 'pcapng');
    const stem = name.slice(0, -'.pcapng'.length);
    expect(Buffer.byteLength(stem)).toBe(MAX_NAME_BYTES);
    expect(stem.startsWith('nnnn')).toBe(true);
    expect(stem.endsWith('n-unique-id-123')).toBe(true);
  });

  it('keeps text after the id when cutting', () => {
    const name = captureFileName('{customer}-{id}-end', fields({ customer: 'c'.repeat(400) }), 'pcap');
    expect(name).toMatch(/^c+-r42-end\.pcap$/);
    expect(name.length - '.pcap'.length).toBe(MAX_NAME_BYTES);
  });

  it('marks each segment of a segmented capture with -sNNNN when the pattern has no {segment}', () => {
    expect(captureFileName(DEFAULT_PATTERN, fields({ segmented: true }), 'pcapng')).toBe('sensor1-eth0-20240102T030405Z-r42-s0000.pcapng');
    expect(captureFileName(DEFAULT_PATTERN, fields({ segment: 12 }), 'pcapng')).toBe('sensor1-eth0-20240102T030405Z-r42-s0012.pcapng');
  });

  it('keeps the segment suffix within the byte limit', () => {
    const name = captureFileName(DEFAULT_PATTERN, fields({ node: 'n'.repeat(300), segment: 2 }), 'pcapng');
    expect(name.length - '.pcapng'.length).toBe(MAX_NAME_BYTES);
    expect(name).toMatch(/-r42-s0002\.pcapng$/);
  });

  it('adds no suffix when the pattern places {segment}, and renders it empty for an unsegmented capture', () => {
    expect(captureFileName('{id}-{segment}', fields({ segment: 5 }), 'pcap')).toBe('r42-0005.pcap');
    expect(captureFileName('{id}-{segment}', fields(), 'pcap')).toBe('r42.pcap');
  });

  it('produces only safe characters for hostile values', () => {
    const hostile = fields({ node: '../../..', id: '/etc/x', alertid: '..\\..', customer: '\n\r\t*?<>|"', iface: '..' });
    const name = captureFileName('{node}{alertid}{customer}{iface}{id}', hostile, 'pcapng');
    expect(name).toMatch(SAFE_NAME);
    expect(name).not.toContain('..');
  });
});

describe('renderFolder', () => {
  it('renders strftime fields and {name} per level, in UTC', () => {
    expect(renderFolder('sip/%Y/%m/%d/{name}-%H', fields({ name: 'ctl' }))).toBe('sip/2024/01/02/ctl-03');
  });

  it('leaves a folder without fields as it is', () => {
    expect(renderFolder('alerts/2024', fields())).toBe('alerts/2024');
  });

  it('keeps each rendered value inside its own level: no "/", no ".." and no hidden level', () => {
    const rendered = renderFolder('{customer}/x-{alertid}/%Y', fields({ customer: '../../etc', alertid: '../..' }));
    expect(rendered.split('/')).toHaveLength(3);
    for (const level of rendered.split('/')) {
      expect(level).not.toMatch(/^\.|\.\./u);
      expect(level).toMatch(/^[A-Za-z0-9._+-]+$/u);
    }
  });

  it('drops a level an absent value leaves empty', () => {
    expect(renderFolder('{customer}/%Y', fields())).toBe('2024');
  });
});

describe('captureFileName with {name}', () => {
  it("renders a named capture's name, and nothing for an unnamed one", () => {
    expect(captureFileName('{name}-%H%M%S-{id}', fields({ name: 'sip' }), 'pcapng')).toBe('sip-030405-r42.pcapng');
    expect(captureFileName('{name}-%H%M%S-{id}', fields(), 'pcapng')).toBe('030405-r42.pcapng');
  });
});

describe('validateFileNamePattern', () => {
  it('accepts the default pattern', () => {
    expect(validateFileNamePattern(DEFAULT_PATTERN)).toEqual([]);
  });

  it('accepts every known directive and placeholder', () => {
    expect(validateFileNamePattern('%Y%m%d%H%M%S%j%s%%%F%T{node}{alertid}{id}{customer}{iface}{segment}')).toEqual([]);
  });

  it('rejects an unknown strftime directive', () => {
    expect(validateFileNamePattern('{id}-%Q')).toEqual([expect.stringContaining('unknown strftime directive "%Q"')]);
  });

  it('rejects a trailing %', () => {
    expect(validateFileNamePattern('{id}%')).toEqual([expect.stringContaining('unknown strftime directive "%"')]);
  });

  it('rejects an unknown placeholder', () => {
    expect(validateFileNamePattern('{nodes}-{id}')).toEqual([expect.stringContaining('unknown placeholder "{nodes}"')]);
  });

  it('rejects an unmatched brace', () => {
    expect(validateFileNamePattern('{id}-{node')).toEqual([expect.stringContaining('unmatched brace')]);
  });

  it('rejects a pattern that would create a folder', () => {
    expect(validateFileNamePattern('%Y/{id}')).toEqual([expect.stringContaining('path separator')]);
    expect(validateFileNamePattern('%Y\\{id}')).toEqual([expect.stringContaining('path separator')]);
  });

  it('rejects a pattern without {id}, whose names would not be unique', () => {
    expect(validateFileNamePattern('{node}-%s')).toEqual([expect.stringContaining('no {id}')]);
  });

  it('reports every problem at once', () => {
    expect(validateFileNamePattern('a/%Q{x}')).toHaveLength(4);
  });
});
