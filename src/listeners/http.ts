/**
 * The HTTP listener: serves the API (src/http/api.ts), whose POST /captures
 * feeds the same intake as the brokers. Bound to loopback by default; config
 * validation refuses another address without a token.
 */
import { buildApi, type ApiDeps } from '../http/api.js';
import type { Listener } from './listener.js';
import type { RequestHandler } from '../requests/intake-contract.js';

export class HttpListener implements Listener {
  readonly name = 'http';
  private readonly deps: Omit<ApiDeps, 'onRequest'>;
  private app: ReturnType<typeof buildApi> | undefined;

  constructor(deps: Omit<ApiDeps, 'onRequest'>) {
    this.deps = deps;
  }

  async start(onRequest: RequestHandler): Promise<void> {
    const { host, port } = this.deps.config().http;
    this.app = buildApi({ ...this.deps, onRequest });
    await this.app.listen({ host, port });
  }

  /** The bound address (port 0 in tests picks a free one). */
  address(): { host: string; port: number } | undefined {
    const address = this.app?.server.address();
    if (!address || typeof address === 'string') return undefined;
    return { host: address.address, port: address.port };
  }

  async stop(): Promise<void> {
    await this.app?.close();
    this.app = undefined;
  }
}
