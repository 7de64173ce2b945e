/**
 * Scenario 3, expiry under steady traffic: 200 concurrent clients, each sending one request after
 * another through one axios instance on one session, for 5 token lifetimes of 2 s on the fake
 * upstream (real time). tokenkeeper's interceptor against axios-auth-refresh 5.0.2 with its
 * default `deduplicateRefresh: true`, with `false`, and with the expert's `false` plus a check
 * that skips the refresh for a 401 of an older token (`src/clients.ts`).
 *
 * "Crossed an expiry": in flight at some moment of the 250 ms that follow the expiry instant of a
 * token the client was given (send time of its login/refresh + its lifetime). That is where a
 * client that refreshes only on a 401 makes its requests wait; a client that renewed before
 * expiry shows its ordinary latency there.
 */
import { Agent } from 'node:http';
import { AAR_SETTING, type AarSetting, axiosAuthRefreshClient, type BenchClient, tokenkeeperClient } from './clients.js';
import { addSummary, alternate, fixed, median, percentile, printTable, type Row, smoke } from './measure.js';
import { type RemoteUpstream, startUpstream } from './upstream.js';

const LIFETIME_MS = smoke ? 1_000 : 2_000;
const LIFETIMES = smoke ? 2 : 5;
const CLIENTS = smoke ? 20 : 200;
const CROSSING_WINDOW_MS = 250;
const ROUNDS = smoke ? 1 : 3;

interface Traffic {
  starts: number[];
  ends: number[];
  failed: number;
  durationMs: number;
}

/** `clients` loops sending one request after another until `durationMs` is up; every request timed. */
async function steadyTraffic(client: BenchClient, clients: number, durationMs: number): Promise<Traffic> {
  const traffic: Traffic = { starts: [], ends: [], failed: 0, durationMs };
  const started = performance.now();
  const stopAt = started + durationMs;
  const loop = async () => {
    while (performance.now() < stopAt) {
      const start = performance.now();
      try {
        await client.api.get('/reports/call-data');
      } catch {
        traffic.failed++;
      }
      traffic.starts.push(start);
      traffic.ends.push(performance.now());
    }
  };
  await Promise.all(Array.from({ length: clients }, loop));
  traffic.durationMs = performance.now() - started;
  return traffic;
}

/** Latencies of the requests in flight during `[expiry, expiry + window]` for any of `expiries` (epoch ms). */
function crossingLatencies(traffic: Traffic, expiries: number[]): number[] {
  const windows = expiries.map((at) => at - performance.timeOrigin);
  const latencies: number[] = [];
  for (let index = 0; index < traffic.starts.length; index++) {
    const start = traffic.starts[index]!;
    const end = traffic.ends[index]!;
    if (windows.some((at) => start <= at + CROSSING_WINDOW_MS && end >= at)) latencies.push(end - start);
  }
  return latencies;
}

interface Outcome {
  requests: number;
  failed: number;
  rejected: number;
  refreshCalls: number;
  lifetimes: number;
  p50: number;
  p99: number;
  crossing: number;
  crossingP99: number;
  crossingMax: number;
}

async function measure(upstream: RemoteUpstream, create: (agent: Agent) => Promise<BenchClient>, durationMs: number): Promise<Outcome> {
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const client = await create(agent);
  try {
    await upstream.resetStats();
    const startedAt = Date.now();
    const traffic = await steadyTraffic(client, CLIENTS, durationMs);
    const stats = await upstream.stats();
    const latencies = traffic.starts.map((start, index) => traffic.ends[index]! - start);
    const expiries = client.expiries.filter((at) => at >= startedAt && at <= startedAt + traffic.durationMs - CROSSING_WINDOW_MS);
    const crossing = crossingLatencies(traffic, expiries);
    return {
      requests: traffic.starts.length,
      failed: traffic.failed,
      rejected: stats.rejected,
      refreshCalls: stats.refreshes + stats.refreshFailures,
      lifetimes: traffic.durationMs / LIFETIME_MS,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      crossing: crossing.length,
      crossingP99: percentile(crossing, 0.99),
      crossingMax: Math.max(0, ...crossing),
    };
  } finally {
    await client.close();
    agent.destroy();
  }
}

export async function benchExpiry(): Promise<void> {
  const upstream = await startUpstream({ protocol: 'refreshToken', accessTokenLifetimeMs: LIFETIME_MS });
  const settings: AarSetting[] = ['default', 'false', 'expert'];
  const clients: Record<string, (agent: Agent) => Promise<BenchClient>> = {
    tokenkeeper: (agent) => tokenkeeperClient(upstream.url, agent),
    ...Object.fromEntries(
      settings.map((setting) => [
        `axios-auth-refresh, ${AAR_SETTING[setting]}`,
        (agent: Agent) => axiosAuthRefreshClient(upstream.url, agent, setting),
      ]),
    ),
  };
  let runs: Record<string, Outcome[]>;
  try {
    // Warm up each client's code across one expiry (the first client to run would otherwise pay for the JIT).
    for (const create of Object.values(clients)) await measure(upstream, create, LIFETIME_MS + CROSSING_WINDOW_MS);
    const duration = LIFETIMES * LIFETIME_MS + CROSSING_WINDOW_MS;
    runs = await alternate(
      Object.fromEntries(Object.entries(clients).map(([name, create]) => [name, () => measure(upstream, create, duration)])),
      ROUNDS,
    );
  } finally {
    await upstream.close();
  }
  const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
  const rows: Row[] = Object.entries(runs).map(([name, outcomes]) => {
    const total = (pick: (outcome: Outcome) => number) => sum(outcomes.map(pick));
    const middle = (pick: (outcome: Outcome) => number) => fixed(median(outcomes.map(pick)), 1);
    return {
      client: name,
      requests: total((outcome) => outcome.requests),
      failed: total((outcome) => outcome.failed),
      'upstream 401s': total((outcome) => outcome.rejected),
      'refresh calls': total((outcome) => outcome.refreshCalls),
      'refreshes per lifetime': fixed(total((outcome) => outcome.refreshCalls) / total((outcome) => outcome.lifetimes), 2),
      'p50 ms': middle((outcome) => outcome.p50),
      'p99 ms': middle((outcome) => outcome.p99),
      'crossed an expiry': total((outcome) => outcome.crossing),
      'their p99 ms': middle((outcome) => outcome.crossingP99),
      'their max ms': fixed(Math.max(...outcomes.map((outcome) => outcome.crossingMax)), 1),
    };
  });
  printTable(
    `expiry under steady traffic: ${CLIENTS} concurrent clients, ${LIFETIMES} token lifetimes of ${LIFETIME_MS / 1000} s, ${ROUNDS} rounds ` +
      `(counts: totals; latencies: medians of the rounds; "crossed": in flight within ${CROSSING_WINDOW_MS} ms after a token's expiry)`,
    rows,
  );
  const [tokenkeeper, ...others] = rows;
  const ours = (measure: string) => tokenkeeper?.[measure] ?? '';
  const versus = (measure: string) => `${others.map((row) => row[measure]).join(' / ')} (aar true / false / expert)`;
  addSummary('3 expiry, steady traffic', 'upstream 401s', ours('upstream 401s'), versus('upstream 401s'), '0');
  addSummary(
    '3 expiry, steady traffic',
    'refresh calls per token lifetime',
    ours('refreshes per lifetime'),
    versus('refreshes per lifetime'),
    '1',
  );
  addSummary('3 expiry, steady traffic', 'requests that failed', ours('failed'), versus('failed'), '0');
  addSummary('3 expiry, steady traffic', 'p99 ms of requests crossing an expiry', ours('their p99 ms'), versus('their p99 ms'));
  addSummary('3 expiry, steady traffic', 'requests served', ours('requests'), versus('requests'));
}
