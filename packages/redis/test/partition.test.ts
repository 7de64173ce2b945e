import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { authErrorResponse, refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { type FakeUpstream, startFakeUpstream } from '@tokenkeeper/testing';
import type { Cluster } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createRedisCluster, RedisLock, RedisStore } from '../src/index.js';
import { eventually, fileCluster, onCleanup, rejection, sharedRedisUrl, uniquePrefix } from './helpers.js';
import { type CutMode, startTcpProxy, type TcpProxy } from './tcp-proxy.js';

const ADA = { username: 'ada', password: 'ada-password-1' };
const RESOURCE = '/reports/call-data';
/** Small, so a partitioned instance answers quickly; the bound the test holds it to follows from it. */
const COMMAND_TIMEOUT_MS = 300;
/** Short-lived tokens, so the instance that still reaches Redis refreshes while the other is cut off. */
const TOKEN_LIFETIME_MS = 1_500;
const CUT_MS = 2 * TOKEN_LIFETIME_MS;

/** Where the two instances' Redis clients connect: the partitioned one through proxies. */
interface Backend {
  name: string;
  /** A RedisStore option set reaching Redis directly, and one reaching it through proxies the test cuts. */
  connect(): Promise<{ direct: StoreConnection; proxied: StoreConnection; proxies: TcpProxy[] }>;
}

type StoreConnection = { url: string } | { client: Cluster };

async function proxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const started = await startTcpProxy(target);
  onCleanup(() => started.close());
  return started;
}

function cluster(client: Cluster): StoreConnection {
  client.on('error', () => {});
  onCleanup(() => client.quit().catch(() => client.disconnect()));
  return { client };
}

const BACKENDS: Backend[] = [
  {
    name: 'one Redis',
    async connect() {
      const url = await sharedRedisUrl();
      const { hostname, port } = new URL(url);
      const through = await proxy({ host: hostname, port: Number(port) });
      return { direct: { url }, proxied: { url: `redis://${through.host}:${through.port}` }, proxies: [through] };
    },
  },
  {
    name: 'a Redis Cluster (a proxy per node, reached through natMap)',
    async connect() {
      const { nodes } = await fileCluster();
      const proxies = await Promise.all(nodes.map((node) => proxy(node)));
      // The Cluster announces its nodes' own addresses; natMap sends the partitioned client to the proxies instead.
      const natMap = Object.fromEntries(
        nodes.map((node, index) => [`${node.host}:${node.port}`, { host: proxies[index]!.host, port: proxies[index]!.port }]),
      );
      return {
        direct: cluster(createRedisCluster(nodes)),
        proxied: cluster(
          createRedisCluster(
            proxies.map(({ host, port }) => ({ host, port })),
            { natMap, commandTimeoutMs: COMMAND_TIMEOUT_MS },
          ),
        ),
        proxies,
      };
    },
  },
];

/** An app instance: a keeper on RedisStore + RedisLock behind a real HTTP server, answering its AuthErrors as adapters do. */
async function appInstance(upstream: FakeUpstream, connection: StoreConnection, shared: { prefix: string; encryptionKey: Buffer }) {
  const store = new RedisStore({ ...connection, ...shared, commandTimeoutMs: COMMAND_TIMEOUT_MS });
  const keeper = new TokenKeeper({
    protocol: refreshToken({ baseUrl: upstream.url }),
    store,
    lock: new RedisLock({ store }),
    keepAlive: false,
    renewalTimeoutMs: 2_000,
  });
  const server = createServer(async (request, response) => {
    try {
      const answer = await keeper.session(request.headers['x-user'] as string).fetch(RESOURCE);
      response.writeHead(answer.status, { 'content-type': 'application/json' }).end(await answer.text());
    } catch (error) {
      const mapped = authErrorResponse(error) ?? { status: 500, body: { error: 'INTERNAL', message: 'unexpected error' } };
      response.writeHead(mapped.status, { 'content-type': 'application/json' }).end(JSON.stringify(mapped.body));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  onCleanup(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await keeper.close();
    await store.close();
  });
  return {
    keeper,
    /** One request to the app as ada's session: its status, body and how long it took. */
    async get(): Promise<{ status: number; body: string; ms: number }> {
      const started = performance.now();
      const answer = await fetch(`http://127.0.0.1:${port}/calls`, { headers: { 'x-user': 'ada' }, signal: AbortSignal.timeout(10_000) });
      const body = await answer.text();
      return { status: answer.status, body, ms: performance.now() - started };
    },
  };
}

/** Requests one after another until stopped; every answer kept. */
function steady(get: () => Promise<{ status: number; body: string; ms: number }>) {
  let running = true;
  const answers: { status: number; body: string; ms: number }[] = [];
  const loop = (async () => {
    while (running) {
      answers.push(await get());
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    answers,
    async stop() {
      running = false;
      await loop;
      return answers;
    },
  };
}

const MODES: CutMode[] = ['blackhole', 'refuse'];

describe.each(BACKENDS)('one app instance partitioned from $name by a TCP proxy', (backend) => {
  it.each(MODES)(
    'answers 503 STORE_UNAVAILABLE while cut (%s), serves the session the other instance refreshed once healed, without a restart',
    async (mode) => {
      const upstream = await startFakeUpstream({ protocol: 'refreshToken', accessTokenLifetimeMs: TOKEN_LIFETIME_MS });
      onCleanup(() => upstream.close());
      const { direct, proxied, proxies } = await backend.connect();
      const shared = { prefix: uniquePrefix(), encryptionKey: randomBytes(32) };
      const cutOff = await appInstance(upstream, proxied, shared);
      const connected = await appInstance(upstream, direct, shared);
      await connected.keeper.session('ada').login(ADA);
      expect((await cutOff.get()).status).toBe(200);
      const tokenBefore = await cutOff.keeper.session('ada').token();

      for (const each of proxies) each.cut(mode);
      const other = steady(connected.get);
      const cut = steady(cutOff.get);
      await new Promise((resolve) => setTimeout(resolve, CUT_MS));
      const duringCut = await cut.stop();
      const refreshesDuringCut = upstream.stats.refreshes;
      const tokenAfterCut = await connected.keeper.session('ada').token();

      for (const each of proxies) each.heal();
      // Back without a restart: the same keeper and server, reconnecting by themselves.
      await eventually(async () => (await cutOff.get()).status === 200, 10_000);
      const afterHeal = steady(cutOff.get);
      await new Promise((resolve) => setTimeout(resolve, TOKEN_LIFETIME_MS));
      const healed = await afterHeal.stop();
      const otherAnswers = await other.stop();

      expect(duringCut.length).toBeGreaterThan(2);
      for (const answer of duringCut) {
        expect(answer.status).toBe(503);
        expect(JSON.parse(answer.body)).toEqual({
          error: 'STORE_UNAVAILABLE',
          message: expect.stringMatching(/^Redis (did not answer within 300 ms|is not reachable)$/),
        });
        for (const token of [tokenBefore, tokenAfterCut]) expect(answer.body).not.toContain(token);
        // Bounded by the command timeout (with room for a busy machine), never a hang.
        expect(answer.ms).toBeLessThan(COMMAND_TIMEOUT_MS * 2 + 700);
      }
      // The other instance kept serving, and refreshed the session while the first was cut off.
      expect(otherAnswers.every((answer) => answer.status === 200)).toBe(true);
      expect(refreshesDuringCut).toBeGreaterThanOrEqual(1);
      expect(tokenAfterCut).not.toBe(tokenBefore);
      // Healed: the partitioned instance serves, with the session the other one kept refreshing.
      expect(healed.every((answer) => answer.status === 200)).toBe(true);
      expect(await cutOff.keeper.session('ada').token()).toBe(await connected.keeper.session('ada').token());
      expect(upstream.stats).toMatchObject({ logins: 1, reuseDetections: 0, refreshFailures: 0 });
    },
    60_000,
  );
});

describe('a Redis Cluster client cut off from every node', () => {
  it("says 'Redis is not reachable', not 'Redis refused a session store command', in the moment after the cut", async () => {
    const { proxied, proxies } = await BACKENDS[1]!.connect();
    const store = new RedisStore({
      ...proxied,
      prefix: uniquePrefix(),
      encryptionKey: randomBytes(32),
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
    });
    onCleanup(() => store.close());
    await store.get('ada');

    for (const each of proxies) each.cut('refuse');
    // The client still counts itself ready while its node connections close: ioredis then
    // rejects with "Cluster isn't ready", which is the network, not Redis refusing a command.
    const failures = await Promise.all(Array.from({ length: 3 }, (_, index) => rejection(() => store.get(`user-${index}`))));

    for (const failure of failures) {
      expect(failure).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503 });
      expect(failure.message).toMatch(/^Redis (is not reachable|did not answer within 300 ms)$/);
    }
  });
});
