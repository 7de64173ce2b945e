import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { spawnRedis } from './redis-server.js';

const run = promisify(execFile);
const REDIS_CLI = process.env.REDIS_CLI ?? 'redis-cli';

/** One node of a test cluster. */
export interface ClusterNodeAddress {
  host: string;
  port: number;
}

/** A real Redis Cluster on loopback: 3 masters with a replica each (see TOOLCHAIN.md). */
export interface RedisCluster {
  readonly nodes: ClusterNodeAddress[];
  /** The master serving `slot` now, and its replicas. */
  roles(slot: number): Promise<{ master: ClusterNodeAddress; replicas: ClusterNodeAddress[] }>;
  /**
   * `CLUSTER FAILOVER` on a replica of the master of `slot` (a manual failover: the replica
   * catches up, then takes over); resolves once every node agrees on the new master.
   */
  failover(slot: number): Promise<{ from: ClusterNodeAddress; to: ClusterNodeAddress }>;
  /** The slot of a key, as the cluster computes it. */
  slotOf(key: string): Promise<number>;
  /** Kills every node and removes their directories. */
  close(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts six cluster nodes, one at a time (started together, one often finds its bus port
 * taken), each in its own directory with an explicit `--cluster-port`, joins them with
 * `redis-cli --cluster create … --cluster-replicas 1` and waits for `cluster_state:ok`.
 */
export async function startRedisCluster(): Promise<RedisCluster> {
  const root = mkdtempSync(join(tmpdir(), 'tk-cluster-'));
  const children: ChildProcess[] = [];
  const nodes: ClusterNodeAddress[] = [];
  const close = async () => {
    await Promise.all(children.map((child) => stop(child)));
    rmSync(root, { recursive: true, force: true });
  };
  try {
    for (let index = 0; index < 6; index++) {
      const dir = mkdtempSync(join(root, `node-${index}-`));
      const { child, port } = await startNode(dir);
      children.push(child);
      nodes.push({ host: '127.0.0.1', port });
    }
    await run(
      REDIS_CLI,
      ['--cluster', 'create', ...nodes.map(({ port }) => `127.0.0.1:${port}`), '--cluster-replicas', '1', '--cluster-yes'],
      {
        timeout: 30_000,
      },
    );
    await waitFor(async () =>
      (await Promise.all(nodes.map((node) => clusterInfo(node)))).every((info) => info.includes('cluster_state:ok')),
    );
    // Every node must also know every other's role, or a client may be sent to a stale map.
    await waitFor(async () =>
      (await Promise.all(nodes.map((node) => command(node, ['CLUSTER', 'SLOTS'])))).every((slots) => covered(slots)),
    );
  } catch (error) {
    await close();
    throw error;
  }

  const cluster: RedisCluster = {
    nodes,
    async roles(slot) {
      const slots = (await command(nodes[0]!, ['CLUSTER', 'SLOTS'])) as [number, number, ...[string, number][]][];
      const range = slots.find(([from, to]) => slot >= from && slot <= to);
      if (!range) throw new Error(`no node serves slot ${slot}`);
      const [, , master, ...replicas] = range;
      return { master: address(master!), replicas: replicas.map(address) };
    },
    async failover(slot) {
      const { master, replicas } = await cluster.roles(slot);
      const replica = replicas[0];
      if (!replica) throw new Error(`the master of slot ${slot} has no replica`);
      await command(replica, ['CLUSTER', 'FAILOVER']);
      await waitFor(async () => {
        const views = await Promise.all(
          nodes.map((node) => command(node, ['CLUSTER', 'SLOTS']) as Promise<[number, number, [string, number]][]>),
        );
        return views.every((slots) => {
          const range = slots.find(([from, to]) => slot >= from && slot <= to);
          return range?.[2][1] === replica.port;
        });
      });
      return { from: master, to: replica };
    },
    async slotOf(key) {
      return (await command(nodes[0]!, ['CLUSTER', 'KEYSLOT', key])) as number;
    },
    close,
  };
  return cluster;
}

async function startNode(dir: string): Promise<{ child: ChildProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    let busPort = await freePort();
    while (busPort === port) busPort = await freePort();
    try {
      return { child: await spawnNode(dir, port, busPort), port };
    } catch (error) {
      // Another process took a port between our probe and redis binding it: try others.
      if (attempt >= 5 || !/in use/i.test(String(error))) throw error;
    }
  }
}

async function spawnNode(dir: string, port: number, busPort: number): Promise<ChildProcess> {
  const args = [
    '--port',
    String(port),
    '--cluster-port',
    String(busPort),
    '--bind',
    '127.0.0.1',
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    'nodes.conf',
    '--cluster-node-timeout',
    '5000',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
  ];
  const child = await spawnRedis(args, running, 'redis-server (cluster node)');
  // Ready in the log; answering PONG is what the next node waits for.
  await command({ host: '127.0.0.1', port }, ['PING']);
  return child;
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  return exited;
}

/** One command on a short-lived plain connection to one node. */
async function command(node: ClusterNodeAddress, args: string[]): Promise<unknown> {
  const client = new Redis({ host: node.host, port: node.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.call(args[0]!, ...args.slice(1));
  } finally {
    client.disconnect();
  }
}

async function clusterInfo(node: ClusterNodeAddress): Promise<string> {
  return String(await command(node, ['CLUSTER', 'INFO']));
}

/** Whether a CLUSTER SLOTS answer covers all 16,384 slots, each with a master and a replica. */
function covered(slots: unknown): boolean {
  const ranges = slots as [number, number, ...unknown[]][];
  const count = ranges.reduce((sum, [from, to, ...servers]) => sum + (servers.length >= 2 ? to - from + 1 : 0), 0);
  return count === 16_384;
}

function address(entry: [string, number, ...unknown[]]): ClusterNodeAddress {
  return { host: entry[0], port: entry[1] };
}

async function waitFor(check: () => Promise<boolean>, limitMs = 30_000): Promise<void> {
  const giveUpAt = Date.now() + limitMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > giveUpAt) throw new Error(`the cluster did not settle within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
