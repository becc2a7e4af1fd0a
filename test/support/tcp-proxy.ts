/**
 * A TCP proxy for fault tests, on 127.0.0.1 and a free port, in front of one target. `blackhole()`
 * stops forwarding in both directions without closing anything, as a network that drops packets
 * would: no reset, no FIN, the client's requests just never get an answer. Bytes that arrive
 * meanwhile are held, not lost, and flow on `heal()`, in order (TCP would retransmit them too),
 * so a Redis client on the other side sees late replies, never a desynchronised protocol.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** A running proxy. */
export interface TcpProxy {
  readonly port: number;
  /** Stops forwarding (both directions), keeping every connection open. */
  blackhole(): void;
  /** Forwards again, first what was held back. */
  heal(): void;
  /** Connections accepted so far. */
  connections(): number;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
}

/** One direction of a proxied connection: forwards, or holds while blackholed. */
class Pipe {
  private held: Buffer[] = [];
  constructor(
    private readonly to: Socket,
    private readonly open: () => boolean,
  ) {}
  push(chunk: Buffer): void {
    if (this.open()) this.to.write(chunk);
    else this.held.push(chunk);
  }
  flush(): void {
    for (const chunk of this.held.splice(0)) this.to.write(chunk);
  }
}

/** Starts a proxy to `targetPort` on 127.0.0.1; resolves once it listens. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let forwarding = true;
  let accepted = 0;
  const sockets = new Set<Socket>();
  const pipes = new Set<Pipe>();
  const open = () => forwarding;
  const server: Server = createServer((client) => {
    accepted += 1;
    const target = createConnection({ host: '127.0.0.1', port: targetPort });
    const up = new Pipe(target, open);
    const down = new Pipe(client, open);
    pipes.add(up).add(down);
    for (const s of [client, target]) {
      sockets.add(s);
      s.on('error', () => undefined);
    }
    client.on('data', (chunk) => up.push(chunk));
    target.on('data', (chunk) => down.push(chunk));
    const end = () => {
      pipes.delete(up);
      pipes.delete(down);
      for (const s of [client, target]) {
        sockets.delete(s);
        s.destroy();
      }
    };
    client.on('close', end);
    target.on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    blackhole: () => {
      forwarding = false;
    },
    heal: () => {
      forwarding = true;
      for (const pipe of pipes) pipe.flush();
    },
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
