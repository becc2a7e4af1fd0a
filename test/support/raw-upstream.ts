/**
 * A bare `ws` upstream on a loopback port for tests that script the server side themselves:
 * every accepted socket is handed to `onSocket` with the token from its URL. `url` is an
 * UPSTREAM_URL template.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';

export interface RawUpstream {
  url: string;
  stop(): Promise<void>;
}

/** Starts the server; see the module comment. */
export async function startRawUpstream(
  onSocket: (token: string, ws: WebSocket) => void,
): Promise<RawUpstream> {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const server = createServer((_req, res) => res.writeHead(426).end());
  server.on('upgrade', (req, socket, head) => {
    const token = new URL(req.url ?? '/', 'ws://x').searchParams.get('token') ?? '';
    socket.on('error', () => socket.destroy());
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => ws.terminate());
      onSocket(token, ws);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/feed?token={token}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
