// A small HTTP server for a role without one of its own (the worker): /healthz, /readyz and /metrics.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../logger.ts';
import { listen } from './listen.ts';

export interface HealthServerOptions {
  host: string;
  port: number;
  logger: Logger;
  /** Whether the process can do its work now: its dependencies answer and it is not shutting down. */
  readiness(): Promise<Record<string, boolean>>;
  /** Answers GET /metrics; none: 404. */
  metrics?(response: ServerResponse, request: IncomingMessage): Promise<void>;
}

export interface HealthServer {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const server = createServer(async (request, response) => {
    try {
      const path = new URL(request.url ?? '/', 'http://worker').pathname;
      if (request.method === 'GET' && path === '/healthz') {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
        return;
      }
      if (request.method === 'GET' && path === '/readyz') {
        const checks = await options.readiness();
        const ready = Object.values(checks).every(Boolean);
        response
          .writeHead(ready ? 200 : 503, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: ready ? 'ready' : 'not ready', ...checks }));
        return;
      }
      if (request.method === 'GET' && path === '/metrics' && options.metrics !== undefined) {
        await options.metrics(response, request);
        return;
      }
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
    } catch (error) {
      options.logger.error({ err: error }, 'health request failed');
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
      response.end('{"error":"internal"}');
    }
  });
  // Scrapers and probes keep connections alive; none of them should hold up a shutdown.
  server.keepAliveTimeout = 5_000;
  const port = await listen(server, options.port, options.host);
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
