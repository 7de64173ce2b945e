import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

/** What a cut does to connections opened while it lasts. */
export type CutMode =
  /** Accepted and reset at once: what a client sees when a firewall rejects it. */
  | 'refuse'
  /** Accepted and never answered, whatever the client sends: a dropped route. */
  | 'blackhole';

/**
 * A loopback TCP proxy in front of one address, which the test can partition: `cut()` destroys
 * every live connection and refuses or blackholes new ones; `heal()` lets connections through
 * again. Blackholed connections are held until the heal, then connected through with whatever
 * the client wrote meanwhile (as packets that were only delayed), or dropped by `close()`.
 */
export interface TcpProxy {
  readonly host: string;
  readonly port: number;
  /** Connections that reached the target since the start. */
  readonly connections: number;
  cut(mode?: CutMode): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const live = new Set<Socket>();
  const held = new Set<Socket>();
  let cut: CutMode | undefined;
  let connections = 0;

  const pipeThrough = (client: Socket) => {
    const upstream = tcpConnect(target.port, target.host);
    connections++;
    live.add(client);
    live.add(upstream);
    const drop = () => {
      live.delete(client);
      live.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  };

  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    if (cut === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    if (cut === 'blackhole') {
      held.add(client);
      client.on('error', () => {}).on('close', () => held.delete(client));
      return;
    }
    pipeThrough(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };

  return {
    host: '127.0.0.1',
    port,
    get connections() {
      return connections;
    },
    cut(mode = 'blackhole') {
      cut = mode;
      for (const socket of live) socket.resetAndDestroy();
      live.clear();
    },
    heal() {
      cut = undefined;
      for (const client of held) {
        held.delete(client);
        if (!client.destroyed) pipeThrough(client);
      }
    },
    async close() {
      for (const socket of [...live, ...held]) socket.destroy();
      live.clear();
      held.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
