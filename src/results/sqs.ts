/** Result events sent to an SQS queue. */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

import { sqsClient } from '../brokers/sqs.js';
import type { Config } from '../config/schema.js';
import type { ResultSender } from './sender.js';

export class SqsResultSender implements ResultSender {
  private readonly client: SQSClient;

  constructor(section: Config['sqs']) {
    this.client = sqsClient(section);
  }

  async send(queueUrl: string, body: string): Promise<void> {
    await this.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
