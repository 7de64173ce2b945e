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
  /** The local port of each connection's target side, in the order opened: what the target sees as the client's port. */
  readonly targetSidePorts: readonly (number | undefined)[];
  /**
   * Holds what the target sends on the `index`-th connection (0 is the first one opened) until
   * {@link deliver}: the connection stays open and the client's writes still go through, but
   * the answers and messages wait, as on a congested link.
   */
  delay(index: number): void;
  /** Lets through, in order, what {@link delay} held on the `index`-th connection, and everything after it. */
  deliver(index: number): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const live = new Set<Socket>();
  const held = new Set<Socket>();
  let cut: CutMode | undefined;
  let connections = 0;
  /** Each connection's target side and client side, in the order they were opened. */
  const pairs: { upstream: Socket; client: Socket }[] = [];

  const pipeThrough = (client: Socket) => {
    const upstream = tcpConnect(target.port, target.host);
    connections++;
    pairs.push({ upstream, client });
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
    get targetSidePorts() {
      return pairs.map(({ upstream }) => upstream.localPort);
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
    delay(index) {
      const pair = pairs[index];
      if (!pair) throw new Error(`no connection ${index} (${pairs.length} opened)`);
      pair.upstream.unpipe(pair.client);
      pair.upstream.pause();
    },
    deliver(index) {
      const pair = pairs[index];
      if (!pair) throw new Error(`no connection ${index} (${pairs.length} opened)`);
      pair.upstream.pipe(pair.client);
      pair.upstream.resume();
    },
    async close() {
      for (const socket of [...live, ...held]) socket.destroy();
      live.clear();
      held.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
