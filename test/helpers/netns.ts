/**
 * A private test host: a network namespace joined to the test's own namespace
 * by a veth pair. pcapd captures on `hostIf`; traffic is injected from inside
 * the namespace on `nsIf`, so it never leaves the pair. IPv6 is off on both
 * ends so that no router or neighbour solicitation adds packets to a count.
 */
import { randomBytes } from 'node:crypto';

import { run } from './exec.js';

export interface TestLink {
  readonly ns: string;
  /** Capture side, in the test's namespace. */
  readonly hostIf: string;
  /** Sending side, inside `ns`. */
  readonly nsIf: string;
  /** Sends a pcap file's frames from inside the namespace with tcpreplay. */
  replay(pcapPath: string, rate?: { pps: number } | 'topspeed'): Promise<void>;
  destroy(): Promise<void>;
}

const live = new Set<TestLink>();

export async function createTestLink(): Promise<TestLink> {
  const id = randomBytes(4).toString('hex');
  const ns = `pcapd-t-${id}`;
  const hostIf = `pt${id}h`;
  const nsIf = `pt${id}n`;
  await run('ip', ['netns', 'add', ns]);
  try {
    await run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf, 'netns', ns]);
    await run('sysctl', ['-qw', `net.ipv6.conf.${hostIf}.disable_ipv6=1`]);
    await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${nsIf}.disable_ipv6=1`]);
    await run('ip', ['link', 'set', hostIf, 'up']);
    await run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', nsIf, 'up']);
  } catch (err: unknown) {
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    throw err;
  }
  const link: TestLink = {
    ns,
    hostIf,
    nsIf,
    async replay(pcapPath, rate = { pps: 1000 }) {
      const speed = rate === 'topspeed' ? ['--topspeed'] : [`--pps=${rate.pps}`];
      await run('ip', ['netns', 'exec', ns, 'tcpreplay', '-q', '-i', nsIf, ...speed, pcapPath], 120_000);
    },
    async destroy() {
      live.delete(link);
      // Deleting the namespace removes nsIf and with it its veth peer.
      await run('ip', ['netns', 'del', ns]).catch(() => undefined);
      await run('ip', ['link', 'del', hostIf]).catch(() => undefined);
    },
  };
  live.add(link);
  return link;
}

export async function destroyAllTestLinks(): Promise<void> {
  await Promise.all([...live].map((link) => link.destroy()));
}
