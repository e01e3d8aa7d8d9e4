import { describe, expect, it } from 'vitest';

import { parseConfigText } from '../../src/config/load.js';
import { parseDestination, unreachableReason } from '../../src/requests/reply-destination.js';

describe('parseDestination: a reply or results destination', () => {
  it('reads redis:<channel>, kafka:<topic> and sqs:<queue-url>', () => {
    expect(parseDestination('redis:alerts:results')).toEqual({ transport: 'redis', name: 'alerts:results' });
    expect(parseDestination('kafka:pcapd.results-1')).toEqual({ transport: 'kafka', name: 'pcapd.results-1' });
    expect(parseDestination('sqs:https://sqs.eu-west-1.amazonaws.com/123456789012/replies')).toEqual({
      transport: 'sqs',
      name: 'https://sqs.eu-west-1.amazonaws.com/123456789012/replies',
    });
  });

  it.each([
    ['results', 'must be redis:<channel>, kafka:<topic> or sqs:<queue-url>'],
    ['http://example.com/x', 'must be redis:<channel>, kafka:<topic> or sqs:<queue-url>'],
    ['redis:', 'redis:<channel>: the channel must be 1-255 characters without spaces'],
    ['redis:two words', 'redis:<channel>: the channel must be 1-255 characters without spaces'],
    ['kafka:bad/topic', 'kafka:<topic>: the topic must be 1-249 characters of letters, digits, ".", "_" and "-"'],
    ['sqs:ftp://host/q', 'sqs:<queue-url>: the queue URL must be an http(s) URL with a path'],
    ['sqs:https://host', 'sqs:<queue-url>: the queue URL must be an http(s) URL with a path'],
    ['sqs:https://user:pw@host/q', 'sqs:<queue-url>: the queue URL must be an http(s) URL with a path'],
  ])('refuses %j', (text, problem) => {
    expect(parseDestination(text)).toBe(problem);
  });
});

describe('unreachableReason: whether this configuration sends there', () => {
  const config = parseConfigText(
    ['[redis]', 'listen = true', '[sqs]', 'listen = true', 'region = "us-east-1"', 'url = "https://sqs.us-east-1.amazonaws.com/123456789012/requests"'].join(
      '\n',
    ),
    'reply.toml',
  );

  it('sends through an enabled listener', () => {
    expect(unreachableReason({ transport: 'redis', name: 'x' }, config)).toBeUndefined();
  });

  it('connects to no broker whose listener is off', () => {
    expect(unreachableReason({ transport: 'kafka', name: 'x' }, config)).toBe('kafka: the kafka listener is not enabled here ([kafka] listen = false)');
  });

  it("sends to SQS queues on the request queue's endpoint only", () => {
    expect(unreachableReason({ transport: 'sqs', name: 'https://sqs.us-east-1.amazonaws.com/123456789012/replies' }, config)).toBeUndefined();
    expect(unreachableReason({ transport: 'sqs', name: 'https://attacker.example/123/q' }, config)).toBe(
      'sqs: the queue must be on https://sqs.us-east-1.amazonaws.com',
    );
  });
});
