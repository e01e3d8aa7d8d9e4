/**
 * The [redis], [kafka] and [sqs] keys pcapd adds, and the checks that refuse
 * an enabled listener without what it needs to connect.
 */
import { describe, expect, it } from 'vitest';

import { parseConfigText, redactConfig } from '../../src/config/load.js';
import { PcapdError } from '../../src/errors.js';

function problems(text: string): string[] {
  try {
    parseConfigText(text, 'brokers.toml');
  } catch (err: unknown) {
    if (err instanceof PcapdError) return err.message.split('\n').slice(1);
    throw err;
  }
  return [];
}

describe('broker listener configuration', () => {
  it("fills pcapd's additions with defaults that keep pcapdaemon's behaviour", () => {
    const config = parseConfigText('[redis]\nlisten = true\n[kafka]\nlisten = true\n', 'defaults.toml');
    expect(config.redis).toMatchObject({ mode: 'pubsub', group: '', consumer: '', results: '', db: 0, tls: false });
    expect(config.kafka).toMatchObject({ group: '', frombeginning: false, results: '', ssl: false });
    expect(config.sqs).toMatchObject({ visibilityseconds: 0, results: '', waitseconds: 20, chunksize: 10 });
  });

  it('refuses sqs.listen without a queue URL or region', () => {
    expect(problems('[sqs]\nlisten = true\n')).toEqual([
      'sqs.url: required when sqs.listen = true',
      'sqs.region: required when sqs.listen = true (unless the queue URL is an AWS one that names it)',
    ]);
  });

  it('takes the region from an AWS queue URL', () => {
    expect(problems('[sqs]\nlisten = true\nurl = "https://sqs.eu-central-1.amazonaws.com/123456789012/pcapd"\n')).toEqual([]);
  });

  it('refuses a queue URL, endpoint or results queue that is not an http(s) URL, and half a key pair', () => {
    expect(problems('[sqs]\nurl = "sqs.example/q"\nendpoint = "ftp://x"\nresults = "queue"\naccessid = "AKIA"\n')).toEqual([
      'sqs.url: must be an http(s) URL',
      'sqs.endpoint: must be an http(s) URL',
      'sqs.results: must be an http(s) URL',
      'sqs.accesskey: set both accessid and accesskey, or neither (the AWS SDK default credential chain)',
    ]);
  });

  it('refuses a SASL mechanism without its credentials, and a Redis ACL user without a password', () => {
    expect(problems('[kafka]\nsaslmechanism = "scram-sha-512"\n[redis]\nusername = "pcapd"\n')).toEqual([
      'redis.auth: required when redis.username is set (ACL AUTH needs the password)',
      'kafka.saslusername: required when kafka.saslmechanism is set',
      'kafka.saslpassword: required when kafka.saslmechanism is set',
    ]);
  });

  it('refuses an unknown mode and names that could not be a channel or topic', () => {
    expect(problems('[redis]\nmode = "lists"\nresults = "two words"\n[kafka]\ntopic = "a/b"\n')).toEqual([
      'redis.mode: must be one of "pubsub", "streams", "list" (got "lists")',
      'redis.results: must not contain spaces or control characters',
      'kafka.topic: a Kafka topic name: letters, digits, ".", "_" and "-"',
    ]);
  });

  it('hides the Kafka SASL password', () => {
    const config = parseConfigText('[kafka]\nsaslmechanism = "plain"\nsaslusername = "u"\nsaslpassword = "secret-pw"\n', 'sasl.toml');
    expect(JSON.stringify(redactConfig(config))).not.toContain('secret-pw');
  });
});
