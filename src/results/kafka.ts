/** Result events produced to a Kafka topic. */
import type { Producer } from 'kafkajs';

import { kafkaClient } from '../brokers/kafka.js';
import type { Config } from '../config/schema.js';
import type { Log } from '../log/logger.js';
import type { ResultSender } from './sender.js';

export class KafkaResultSender implements ResultSender {
  private readonly producer: Producer;
  private connected: Promise<void> | undefined;

  constructor(section: Config['kafka'], node: string, log: Log) {
    this.producer = kafkaClient(section, `pcapd-results-${node}`, log).producer({
      // A reply topic is created by whoever waits on it; a request must not
      // make pcapd create topics on the cluster.
      allowAutoTopicCreation: false,
    });
  }

  async send(topic: string, body: string): Promise<void> {
    this.connected ??= this.producer.connect().catch((err: unknown) => {
      this.connected = undefined;
      throw err;
    });
    await this.connected;
    await this.producer.send({ topic, messages: [{ value: body }] });
  }

  async close(): Promise<void> {
    if (this.connected !== undefined) await this.producer.disconnect();
  }
}
