/** One transport of result events: a Redis channel, a Kafka topic or an SQS queue. */
export interface ResultSender {
  /** Sends one JSON body to `name` (channel, topic or queue URL). */
  send(name: string, body: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * A sender whose transport module is still loading: broker clients are
 * imported when the first event for their transport is sent, not at start.
 */
export class DeferredSender implements ResultSender {
  readonly #sender: Promise<ResultSender>;

  constructor(sender: Promise<ResultSender>) {
    this.#sender = sender;
    // A failed load surfaces through send(); unobserved it would be an unhandled rejection.
    sender.catch(() => undefined);
  }

  async send(name: string, body: string): Promise<void> {
    await (await this.#sender).send(name, body);
  }

  async close(): Promise<void> {
    const sender = await this.#sender.catch(() => undefined);
    await sender?.close();
  }
}
