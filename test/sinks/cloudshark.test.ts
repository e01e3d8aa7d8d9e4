/**
 * The Cloudshark sink against the upload API served by
 * test/helpers/cloudshark-server.ts, which parses the multipart body and
 * checks what arrives.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { ConfigSchema, type Config } from '../../src/config/schema.js';
import { SinkError } from '../../src/errors.js';
import { createLogger } from '../../src/log/logger.js';
import { CloudsharkSink, cloudsharkOrigin, cloudsharkTags } from '../../src/sinks/cloudshark.js';
import { startCloudsharkServer, type CloudsharkServer } from '../helpers/cloudshark-server.js';
import { makeJob } from '../helpers/job.js';
import { deliverable, finishedCapture, pcapChunks, smallPcap } from '../helpers/pcap-buffer.js';

const { log } = createLogger({ level: 'silent' });
let server: CloudsharkServer;

function settings(overrides: Partial<Config['cloudshark']> = {}): Config['cloudshark'] {
  return ConfigSchema.shape.cloudshark.parse({ scheme: 'http', host: '127.0.0.1', port: server.port, token: server.token, upload: true, ...overrides });
}

async function expectSinkError(promise: Promise<unknown>, retriable: boolean, text: RegExp): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SinkError);
  expect(err).toMatchObject({ code: 'PCAPD_ERR_SINK_CLOUDSHARK', sink: 'cloudshark', retriable });
  expect((err as Error).message).toMatch(text);
}

beforeAll(async () => {
  server = await startCloudsharkServer();
});

afterAll(async () => {
  await server.stop();
});

beforeEach(() => {
  server.uploads.length = 0;
  server.holdUploads(false);
  server.failNext(0, 503);
});

describe('CloudsharkSink', () => {
  it('uploads each file as multipart form data and records the returned id and capture URL', async () => {
    const files = [smallPcap('one-r1.pcap', 5), smallPcap('two-r1.pcap', 3)];
    const sink = new CloudsharkSink({ settings: settings(), log });
    const delivery = await sink.deliver(finishedCapture(files, makeJob({ id: 'r1' })));

    expect(server.uploads.map((upload) => upload.filename)).toEqual(['one-r1.pcap', 'two-r1.pcap']);
    expect(server.uploads.map((upload) => upload.bytes.equals(Buffer.concat(files[server.uploads.indexOf(upload)]?.chunks ?? [])))).toEqual([true, true]);
    expect(server.uploads[0]?.contentType).toBe('application/vnd.tcpdump.pcap');
    const ids = server.uploads.map((upload) => upload.id);
    expect(delivery).toEqual({
      sink: 'cloudshark',
      ids,
      locations: ids.map((id) => `http://127.0.0.1:${server.port}/captures/${id}`),
    });
    await sink.close();
  });

  it('sends additional_tags as pcapdaemon did: customer, alertid, tags, alias, node, interface, snaplength', async () => {
    const job = makeJob({
      id: 'r2',
      customer: 'acme, inc',
      alertid: 77,
      tags: ['ids', 'high'],
      interfaces: [{ name: 'eth0', alias: 'public' }],
      snaplenBytes: 1500,
    });
    const sink = new CloudsharkSink({ settings: settings(), log });
    await sink.deliver(finishedCapture([smallPcap('tags-r2.pcap')], job));
    expect(server.uploads[0]?.tags).toEqual([
      'customer:acme_inc',
      'alertid:77',
      'ids',
      'high',
      'alias:public',
      'node:sensor1',
      'interface:eth0',
      'snaplength:1500',
    ]);
    await sink.close();
  });

  it('tags a multi-interface pcapng with every interface and each alias once', () => {
    const job = makeJob({
      interfaces: [
        { name: 'eth0', alias: 'both' },
        { name: 'eth1', alias: 'both' },
      ],
      snaplenBytes: 500,
    });
    const file = deliverable('x.pcapng', [Buffer.alloc(4)], { interfaces: ['eth0', 'eth1'] });
    expect(cloudsharkTags(finishedCapture([file], job), file)).toBe('alias:both,node:sensor1,interface:eth0+eth1,snaplength:500');
  });

  it('uploads a 20 MB capture intact', async () => {
    const { chunks, bytes } = pcapChunks(20_000_000);
    const sink = new CloudsharkSink({ settings: settings(), log });
    await sink.deliver(finishedCapture([deliverable('big.pcap', chunks)]));
    expect(server.uploads[0]?.bytes.length).toBe(bytes);
    expect(server.uploads[0]?.bytes.equals(Buffer.concat(chunks))).toBe(true);
    await sink.close();
  });

  it("fails without retry for a wrong token, quoting Cloudshark's message but never the token", async () => {
    const sink = new CloudsharkSink({ settings: settings({ token: 'not-the-token' }), log });
    await expectSinkError(sink.deliver(finishedCapture([smallPcap('t.pcap')])), false, /HTTP 401: invalid API token/);
    await sink.deliver(finishedCapture([smallPcap('t.pcap')])).catch((err: Error) => expect(err.message).not.toContain('not-the-token'));
    expect(server.uploads).toEqual([]);
    await sink.close();
  });

  it('fails retriably on a 5xx answer', async () => {
    server.failNext(1, 503);
    const sink = new CloudsharkSink({ settings: settings(), log });
    await expectSinkError(sink.deliver(finishedCapture([smallPcap('busy.pcap')])), true, /HTTP 503/);
    await sink.close();
  });

  it('fails retriably when nothing listens', async () => {
    const sink = new CloudsharkSink({ settings: settings({ port: 9 }), log });
    await expectSinkError(sink.deliver(finishedCapture([smallPcap('down.pcap')])), true, /ECONNREFUSED/);
    await sink.close();
  });

  it('fails retriably after cloudshark.timeout seconds without an answer', async () => {
    server.holdUploads(true);
    const sink = new CloudsharkSink({ settings: settings({ timeout: 1 }), log });
    const started = Date.now();
    await expectSinkError(sink.deliver(finishedCapture([smallPcap('slow.pcap')])), true, /aborted|timeout/i);
    expect(Date.now() - started).toBeLessThan(5000);
    server.holdUploads(false);
    expect(server.uploads).toEqual([]);
    await sink.close();
  });

  it('checks the server certificate: an unreadable cafile stops the sink from being built', () => {
    expect(() => new CloudsharkSink({ settings: settings({ scheme: 'https', cafile: '/nonexistent/ca.pem' }), log })).toThrow(/ENOENT/);
  });

  it('leaves the port out when it is 0 and brackets an IPv6 host', () => {
    expect(cloudsharkOrigin({ scheme: 'https', host: 'cs.example', port: 0 })).toBe('https://cs.example');
    expect(cloudsharkOrigin({ scheme: 'http', host: '::1', port: 8080 })).toBe('http://[::1]:8080');
  });
});
