/**
 * S3 (the running versitygw, reached through a TCP proxy the drill can take
 * down and bring back on the same port) and a Cloudshark double, set up for
 * one drill, with the count of copies each holds per capture.
 */
import { startCloudsharkServer, type CloudsharkServer } from '../../test/helpers/cloudshark-server.js';
import { createBucket, listKeys, removeBucket, testClient, uniqueBucket, versitygw } from '../../test/helpers/s3.js';
import { startTcpProxy, type TcpProxy } from '../../test/helpers/tcp-proxy.js';
import type { DrillContext } from './drill.js';

export interface RemoteSinks {
  readonly cloudshark: CloudsharkServer;
  /** The proxy in front of S3 now (a new one after each restart). */
  readonly s3Proxy: TcpProxy;
  /** Config edits pointing a daemon at both. */
  edits(): Record<string, Record<string, string>>;
  /** S3 refuses connections and Cloudshark is gone. */
  down(): Promise<void>;
  up(): Promise<void>;
  /** Copies of the capture `id` in S3 and in Cloudshark. */
  copies(id: string): Promise<{ s3: number; cloudshark: number }>;
}

export async function remoteSinks(ctx: DrillContext): Promise<RemoteSinks> {
  const server = versitygw();
  const client = testClient(server);
  const bucket = uniqueBucket('drill');
  await createBucket(client, bucket);
  ctx.defer(() => removeBucket(client, bucket));
  const cloudshark = await startCloudsharkServer();
  ctx.defer(() => cloudshark.stop());
  const target = new URL(server.endpoint);
  const upstream = { host: target.hostname, port: Number(target.port) };
  let proxy = await startTcpProxy(upstream);
  const port = proxy.port;
  ctx.defer(() => proxy.stop());
  const named = (id: string) => (name: string) => name.includes(`-${id}.`);
  return {
    cloudshark,
    get s3Proxy() {
      return proxy;
    },
    edits() {
      return {
        s3: {
          upload: 'true',
          endpoint: JSON.stringify(`http://127.0.0.1:${port}`),
          bucket: JSON.stringify(bucket),
          accessid: JSON.stringify(server.accessKey),
          accesskey: JSON.stringify(server.secretKey),
          region: '"us-east-1"',
          pathstyle: 'true',
        },
        cloudshark: { upload: 'true', scheme: '"http"', host: '"127.0.0.1"', port: String(cloudshark.port), token: JSON.stringify(cloudshark.token) },
      };
    },
    async down() {
      await proxy.stop();
      await cloudshark.stop();
    },
    async up() {
      proxy = await startTcpProxy(upstream, { listenPort: port });
      await cloudshark.start();
    },
    async copies(id) {
      const keys = await listKeys(client, bucket);
      return { s3: keys.filter(named(id)).length, cloudshark: cloudshark.uploads.map((upload) => upload.filename).filter(named(id)).length };
    },
  };
}
