/** Serves a Hono app on a TCP port with @hono/node-server. */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';

/** A listening server: the bound port (useful with port 0) and a close that resolves when closed. */
export interface HttpServer {
  port: number;
  close(): Promise<void>;
}

/** Starts serving `app` and resolves once the socket is listening; rejects on a bind error. */
export function startHttpServer(
  app: Hono,
  options: { host: string; port: number },
): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    const server = serve(
      { fetch: app.fetch, hostname: options.host, port: options.port },
      (info: AddressInfo) => {
        server.off('error', reject);
        resolve({
          port: info.port,
          close: () =>
            new Promise<void>((done, fail) => {
              // SSE clients keep connections open; drop idle keep-alive sockets so close can finish.
              if ('closeAllConnections' in server) server.closeAllConnections();
              server.close((err) => (err ? fail(err) : done()));
            }),
        });
      },
    );
    server.once('error', reject);
  });
}
