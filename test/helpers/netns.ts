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
  /** Capture side, in the test's namespace (or in `captureNs`). */
  readonly hostIf: string;
  /** With `captureNamespace`: the namespace holding hostIf, where pcapd must run to see it. */
  readonly captureNs: string | undefined;
  /** Sending side, inside `ns`. */
  readonly nsIf: string;
  /** Sends a pcap file's frames from inside the namespace with tcpreplay. */
  replay(pcapPath: string, rate?: { pps: number } | 'topspeed'): Promise<void>;
  destroy(): Promise<void>;
}

const live = new Set<TestLink>();

export interface TestLinkOptions {
  /**
   * Put the capture side in a namespace of its own (`captureNs`), so it can
   * carry a name the test's namespace already has or another test might use
   * (pcapdaemon's messages name "eth0" and "enp0s25").
   */
  captureNamespace?: boolean;
  /** The capture side's name (default `pt<id>h`); needs captureNamespace. */
  hostIf?: string;
}

export async function createTestLink(options: TestLinkOptions = {}): Promise<TestLink> {
  const id = randomBytes(4).toString('hex');
  const ns = `pcapd-t-${id}`;
  const captureNs = options.captureNamespace === true ? `pcapd-t-${id}c` : undefined;
  const hostIf = options.hostIf ?? `pt${id}h`;
  const nsIf = `pt${id}n`;
  // Commands for the capture side run in captureNs when there is one.
  const onCaptureSide = (args: string[]): [string, string[]] =>
    captureNs === undefined ? [args[0] ?? '', args.slice(1)] : ['ip', ['netns', 'exec', captureNs, ...args]];
  const namespaces = captureNs === undefined ? [ns] : [ns, captureNs];
  for (const name of namespaces) await run('ip', ['netns', 'add', name]);
  try {
    const tmpName = `pt${id}h`;
    await run('ip', ['link', 'add', tmpName, 'type', 'veth', 'peer', 'name', nsIf, 'netns', ns]);
    if (captureNs !== undefined) {
      await run('ip', ['link', 'set', tmpName, 'netns', captureNs, 'name', hostIf]);
      await run(...onCaptureSide(['ip', 'link', 'set', 'lo', 'up']));
    }
    await run(...onCaptureSide(['sysctl', '-qw', `net.ipv6.conf.${hostIf}.disable_ipv6=1`]));
    await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${nsIf}.disable_ipv6=1`]);
    await run(...onCaptureSide(['ip', 'link', 'set', hostIf, 'up']));
    await run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', nsIf, 'up']);
  } catch (err: unknown) {
    for (const name of namespaces) await run('ip', ['netns', 'del', name]).catch(() => undefined);
    throw err;
  }
  const link: TestLink = {
    ns,
    hostIf,
    captureNs,
    nsIf,
    async replay(pcapPath, rate = { pps: 1000 }) {
      const speed = rate === 'topspeed' ? ['--topspeed'] : [`--pps=${rate.pps}`];
      await run('ip', ['netns', 'exec', ns, 'tcpreplay', '-q', '-i', nsIf, ...speed, pcapPath], 120_000);
    },
    async destroy() {
      live.delete(link);
      // Deleting the namespace removes nsIf and with it its veth peer.
      await run('ip', ['netns', 'del', ns]).catch(() => undefined);
      if (captureNs !== undefined) await run('ip', ['netns', 'del', captureNs]).catch(() => undefined);
      else await run('ip', ['link', 'del', hostIf]).catch(() => undefined);
    },
  };
  live.add(link);
  return link;
}

export async function destroyAllTestLinks(): Promise<void> {
  await Promise.all([...live].map((link) => link.destroy()));
}
