/** One transport of result events: a Redis channel, a Kafka topic or an SQS queue. */
export interface ResultSender {
  /** Sends one JSON body to `name` (channel, topic or queue URL). */
  send(name: string, body: string): Promise<void>;
  close(): Promise<void>;
}
