/**
 * Redis credentials reach the server: pcapdaemon sent a placeholder instead of
 * the configured password. An ACL user made for the test, allowed only its
 * own channel, must be enough; a wrong password must not stop pcapd.
 */
import { afterEach, expect, it } from 'vitest';

import { createFixture, mergeEdits, newRedis, uniqueName, waitForMetric, type RedisFixture } from '../helpers/brokers.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';

let daemon: RunningDaemon | undefined;
let fixture: RedisFixture | undefined;
const users: string[] = [];

afterEach(async () => {
  await daemon?.stop();
  await fixture?.close();
  const admin = newRedis();
  for (const user of users.splice(0)) await admin.call('ACL', 'DELUSER', user);
  admin.disconnect();
});

async function aclUser(channel: string, password: string): Promise<string> {
  const user = uniqueName('pcapd-test-user');
  users.push(user);
  const admin = newRedis();
  // Only what a pub/sub listener needs, on its own channel.
  await admin.call(
    'ACL',
    'SETUSER',
    user,
    'on',
    `>${password}`,
    'resetchannels',
    `&${channel}`,
    '+subscribe',
    '+ping',
    '+hello',
    '+client|setname',
    '+select',
    '+info',
  );
  admin.disconnect();
  return user;
}

it('subscribes with redis.username and redis.auth: an ACL user allowed only its own channel is enough', async () => {
  fixture = (await createFixture('redis')) as RedisFixture;
  const user = await aclUser(fixture.channel, 'pcapd-test-password');
  daemon = await startDaemon({
    edits: mergeEdits(fixture.edits(), { redis: { username: JSON.stringify(user), auth: JSON.stringify('pcapd-test-password') } }),
  });
  await waitForMetric(daemon, 'pcapd_listener_up', { listener: 'redis' });
  await fixture.publish('{"not": "a request"}');
  await waitForMetric(daemon, 'pcapd_requests_rejected_total', { source: 'redis', reason: 'PCAPD_ERR_REQUEST_UNKNOWN_FIELD' });
});

it('keeps running, counts and logs the failure, when the password is wrong', async () => {
  fixture = (await createFixture('redis')) as RedisFixture;
  const user = await aclUser(fixture.channel, 'the-right-one');
  daemon = await startDaemon({
    edits: mergeEdits(fixture.edits(), { redis: { username: JSON.stringify(user), auth: JSON.stringify('a-wrong-one') } }),
  });
  const running = daemon;
  await waitForMetric(running, 'pcapd_listener_disconnects_total', { listener: 'redis' });
  expect(await running.api('/healthz')).toMatchObject({ status: 200 });
  await waitFor('the connection failure in the log', async () =>
    running.logs.find((line) => line['code'] === 'PCAPD_ERR_BROKER_CONNECTION' && String(line['err']).includes('WRONGPASS')),
  );
  // Nothing was ever logged with the password in it.
  expect(running.logs.some((line) => JSON.stringify(line).includes('a-wrong-one'))).toBe(false);
});
