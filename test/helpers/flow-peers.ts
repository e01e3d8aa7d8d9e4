/**
 * Two hosts with real TCP/IP stacks on a veth pair: this namespace (the
 * client side) and a test namespace running a TCP server that answers each
 * line and a UDP echo server, for tests of captures that follow a flow. VLAN
 * tags can be put on the wire by a tc eBPF program (no 8021q module needed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { run } from './exec.js';
import { createTestLink, type TestLink } from './netns.js';
import { waitFor } from './wait.js';

export const TCP_PORT = 8080;
export const UDP_PORT = 7000;
export const EXCHANGE_STEP_MS = 5_000;

const servers = new Set<ChildProcess>();

/** Ends the servers createPeer started (call in afterEach, beside destroyAllTestLinks). */
export function stopPeerServers(): void {
  for (const server of servers) server.kill();
  servers.clear();
}

export interface Peer {
  link: TestLink;
  family: 4 | 6;
  /** This namespace's address on the link (the client side). */
  host: string;
  /** The test namespace's address (the server side). */
  remote: string;
}

/** Runs in the test namespace: a TCP server answering each line, a UDP echo. */
const SERVER_SCRIPT = `
const net = require('node:net');
const dgram = require('node:dgram');
const [address, tcpPort, udpPort] = process.argv.slice(1);
const tcp = net.createServer((socket) => {
  socket.on('error', () => {});
  socket.on('data', (data) => {
    for (const byte of data) if (byte === 10) socket.write('response ' + 'r'.repeat(200) + '\\n');
  });
});
const udp = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
udp.on('message', (message, from) => udp.send(message, from.port, from.address));
let listening = 0;
const ready = () => { if (++listening === 2) process.stdout.write('ready\\n'); };
tcp.listen(Number(tcpPort), address, ready);
udp.bind(Number(udpPort), address, ready);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

// Under `scripts/asan.sh test` the sanitizer runtime is preloaded; the server must not inherit it.
function childEnv(): NodeJS.ProcessEnv {
  const { LD_PRELOAD: _preload, ...env } = process.env;
  return env;
}

async function startServer(peer: Peer): Promise<void> {
  const server = spawn('ip', ['netns', 'exec', peer.link.ns, process.execPath, '-e', SERVER_SCRIPT, peer.remote, String(TCP_PORT), String(UDP_PORT)], {
    env: childEnv(),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  servers.add(server);
  let output = '';
  server.stdout?.on('data', (data: Buffer) => {
    output += data.toString();
  });
  await waitFor('the test server to listen', async () => output.includes('ready'), 10_000);
}

export async function inNamespace(ns: string | undefined, command: string, args: string[]): Promise<string> {
  return ns === undefined ? run(command, args) : run('ip', ['netns', 'exec', ns, command, ...args]);
}

/** A veth pair with addresses on both ends and the server running in the namespace. */
export async function createPeer(family: 4 | 6 = 4, vlanTags: 0 | 1 | 2 = 0): Promise<Peer> {
  const link = await createTestLink();
  const a = randomInt(0, 256);
  const b = randomInt(0, 65536).toString(16);
  const [host, remote, prefix] =
    family === 4 ? [`198.18.${a}.1`, `198.18.${a}.2`, 24] : [`fd70:${a.toString(16)}:${b}::1`, `fd70:${a.toString(16)}:${b}::2`, 64];
  for (const [ns, dev, address] of [
    [undefined, link.hostIf, host],
    [link.ns, link.nsIf, remote],
  ] as const) {
    if (family === 6) await inNamespace(ns, 'sysctl', ['-qw', `net.ipv6.conf.${dev}.disable_ipv6=0`]);
    await inNamespace(ns, 'ip', ['addr', 'add', `${address}/${prefix}`, 'dev', dev, ...(family === 6 ? ['nodad'] : [])]);
  }
  if (vlanTags !== 0) await tagLink(link, vlanTags);
  const peer: Peer = { link, family, host, remote };
  await startServer(peer);
  return peer;
}

// The kernel here has no 8021q module and no tc vlan action, but tc runs eBPF
// classifiers in direct-action mode, whose helpers push and pop tags: egress
// pushes on both ends, ingress pops, so both stacks see plain frames and the
// veth carries tagged ones (in skb metadata, reinserted by libpcap; a second
// tag sits in the frame bytes). Frames stay small: a tag is not in the MTU.
const VLAN_PROGRAMS = `
target datalayout = "e-m:e-p:64:64-i64:64-i128:128-n32:64-S128"
target triple = "bpf"

@_license = global [4 x i8] c"GPL\\00", section "license", align 1

; bpf_skb_vlan_push is helper 18, bpf_skb_vlan_pop 19. 129 is htons(0x8100),
; 43144 htons(0x88a8). Each returns TC_ACT_OK.
define i32 @vlan_push(i8* %skb) section "classifier/push" {
  %push = inttoptr i64 18 to i64 (i8*, i64, i64)*
  %r = call i64 %push(i8* %skb, i64 129, i64 100)
  ret i32 0
}

define i32 @vlan_pop(i8* %skb) section "classifier/pop" {
  %pop = inttoptr i64 19 to i64 (i8*)*
  %r = call i64 %pop(i8* %skb)
  ret i32 0
}

define i32 @qinq_push(i8* %skb) section "classifier/qinq_push" {
  %push = inttoptr i64 18 to i64 (i8*, i64, i64)*
  %inner = call i64 %push(i8* %skb, i64 129, i64 100)
  %outer = call i64 %push(i8* %skb, i64 43144, i64 200)
  ret i32 0
}

define i32 @qinq_pop(i8* %skb) section "classifier/qinq_pop" {
  %pop = inttoptr i64 19 to i64 (i8*)*
  %outer = call i64 %pop(i8* %skb)
  %inner = call i64 %pop(i8* %skb)
  ret i32 0
}
`;

let vlanObject: string | undefined;

async function vlanPrograms(): Promise<string> {
  if (vlanObject !== undefined) return vlanObject;
  // Kept for the process: the object is tiny and every VLAN test reuses it.
  const dir = await mkdtemp(join(tmpdir(), 'pcapd-vlan-'));
  const source = join(dir, 'vlan.ll');
  const object = join(dir, 'vlan.o');
  await writeFile(source, VLAN_PROGRAMS);
  await run('llc', ['-march=bpf', '-filetype=obj', '-o', object, source]);
  vlanObject = object;
  return object;
}

/** Tags everything on the veth: VLAN 100, or 802.1ad 200 outside 802.1Q 100. */
async function tagLink(link: TestLink, tags: 1 | 2): Promise<void> {
  const object = await vlanPrograms();
  const [push, pop] = tags === 1 ? ['push', 'pop'] : ['qinq_push', 'qinq_pop'];
  for (const [ns, dev] of [
    [undefined, link.hostIf],
    [link.ns, link.nsIf],
  ] as const) {
    await inNamespace(ns, 'tc', ['qdisc', 'add', 'dev', dev, 'clsact']);
    await inNamespace(ns, 'tc', ['filter', 'add', 'dev', dev, 'egress', 'bpf', 'da', 'obj', object, 'sec', `classifier/${push}`]);
    await inNamespace(ns, 'tc', ['filter', 'add', 'dev', dev, 'ingress', 'bpf', 'da', 'obj', object, 'sec', `classifier/${pop}`]);
  }
}

// ---- traffic ----

export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A client port for the flow: fixed before connecting, so the BPF can name it. */
export const clientPort = (): number => randomInt(20_000, 60_000);

export async function readLine(socket: Socket): Promise<void> {
  let received = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (data: Buffer): void => {
      received += data.toString();
      if (!received.includes('\n')) return;
      socket.off('data', onData);
      socket.off('error', reject);
      resolve();
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
  socket.resume();
}

/** Connect, one request, its response, then an orderly close (FIN both ways) or a reset. */
export async function tcpExchange(peer: Peer, port: number, ending: 'close' | 'reset'): Promise<void> {
  const socket = connect({ host: peer.remote, port: TCP_PORT, localAddress: peer.host, localPort: port });
  try {
    await withDeadline(once(socket, 'connect'), EXCHANGE_STEP_MS, 'the connection');
    socket.write('request\n');
    await withDeadline(readLine(socket), EXCHANGE_STEP_MS, 'the response');
    if (ending === 'reset') {
      socket.resetAndDestroy();
      return;
    }
    const closed = once(socket, 'close');
    socket.end();
    await withDeadline(closed, EXCHANGE_STEP_MS, 'the close');
  } finally {
    socket.destroy();
  }
}

/** `count` datagrams to the echo server, each answered, 20 ms apart. */
export async function udpExchange(peer: Peer, port: number, count: number): Promise<void> {
  const socket = createSocket(peer.family === 6 ? 'udp6' : 'udp4');
  try {
    socket.bind({ address: peer.host, port });
    await withDeadline(once(socket, 'listening'), EXCHANGE_STEP_MS, 'the UDP bind');
    for (let i = 0; i < count; i++) {
      const echoed = once(socket, 'message');
      socket.send(`ping ${i}`, UDP_PORT, peer.remote);
      await withDeadline(echoed, EXCHANGE_STEP_MS, `echo ${i}`);
      await sleep(20);
    }
  } finally {
    socket.close();
  }
}

export interface Noise {
  /** Answers the other traffic got so far. */
  answers(): number;
  stop(): void;
}

/**
 * Other traffic on the same link while a test runs: a second connection to the
 * same server port and UDP to the echo port, every 10 ms, at most 3000 times.
 */
export async function startNoise(peer: Peer): Promise<Noise> {
  let answers = 0;
  const tcp = connect({ host: peer.remote, port: TCP_PORT, localAddress: peer.host });
  tcp.on('error', () => undefined);
  tcp.on('data', () => answers++);
  await withDeadline(once(tcp, 'connect'), EXCHANGE_STEP_MS, 'the noise connection');
  const udp: UdpSocket = createSocket(peer.family === 6 ? 'udp6' : 'udp4');
  udp.on('error', () => undefined);
  udp.on('message', () => answers++);
  let sent = 0;
  const timer = setInterval(() => {
    if (++sent > 3000) {
      clearInterval(timer);
      return;
    }
    tcp.write('noise\n');
    udp.send('noise', UDP_PORT, peer.remote);
  }, 10);
  await waitFor('the other traffic to flow', async () => answers >= 4, 10_000);
  return {
    answers: () => answers,
    stop() {
      clearInterval(timer);
      tcp.destroy();
      udp.close();
    },
  };
}
