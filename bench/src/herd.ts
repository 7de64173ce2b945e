/**
 * Scenario 4, the herd: 10,000 concurrent requests through one axios instance on one session whose
 * token has just died, tokenkeeper against axios-auth-refresh 5.0.2 in its three settings
 * (`src/clients.ts`). Every client sends through a keep-alive agent of 256 sockets (an unbounded
 * pool would open 10,000 connections at once). Then 1,000 requests through an unbounded pool
 * (every request on its own connection, so their 401s come back spread out rather than queued),
 * 10 rounds: where `deduplicateRefresh: false` can start a second refresh while one is running.
 *
 * Two tokenkeeper cases: the token has expired by the clock (the keeper knows, and renews before
 * sending), and the token was killed upstream before its expiry (the keeper learns from the
 * 401s). axios-auth-refresh learns from 401s in both, so it runs once per setting. The fake
 * upstream's tokens live an hour; the expiry is made with `expireAccessToken()` upstream and,
 * for the first case, by moving the keeper's clock past the token's lifetime.
 */
import { Agent } from 'node:http';
import { AAR_SETTING, type AarSetting, axiosAuthRefreshClient, type BenchClient, tokenkeeperClient } from './clients.js';
import { shiftableClock } from './clock.js';
import { addSummary, alternate, fixed, median, printTable, smoke, within } from './measure.js';
import { type RemoteUpstream, startUpstream } from './upstream.js';

const HERD = smoke ? 300 : 10_000;
const ROUNDS = smoke ? 1 : 2;
const SOCKETS = 256;
const UNBOUNDED_HERD = smoke ? 100 : 1_000;
const UNBOUNDED_ROUNDS = smoke ? 1 : 10;
const HOUR_MS = 3_600_000;

interface Herd {
  settleMs: number;
  failed: number;
  refreshCalls: number;
  rejected: number;
  reuse: number;
}

async function herd(
  upstream: RemoteUpstream,
  create: (agent: Agent) => Promise<BenchClient>,
  expire: () => void = () => undefined,
  size = HERD,
  maxSockets = SOCKETS,
): Promise<Herd> {
  const agent = new Agent({ keepAlive: true, maxSockets });
  const client = await create(agent);
  try {
    await client.api.get('/reports/call-data'); // connections up, token in use
    await upstream.expireAccessTokens();
    expire();
    await upstream.resetStats();
    const start = performance.now();
    const results = await within(
      Promise.allSettled(Array.from({ length: size }, () => client.api.get('/reports/call-data'))),
      120_000,
      'the herd',
    );
    const settleMs = performance.now() - start;
    const stats = await upstream.stats();
    return {
      settleMs,
      failed: results.filter((result) => result.status === 'rejected').length,
      refreshCalls: stats.refreshes + stats.refreshFailures,
      rejected: stats.rejected,
      reuse: stats.reuseDetections,
    };
  } finally {
    await client.close();
    agent.destroy();
  }
}

export async function benchHerd(): Promise<void> {
  const upstream = await startUpstream({ protocol: 'refreshToken' });
  const aarVariants = (settings: AarSetting[], run: (create: (agent: Agent) => Promise<BenchClient>) => Promise<Herd>) =>
    Object.fromEntries(
      settings.map((setting) => [
        `axios-auth-refresh, ${AAR_SETTING[setting]}`,
        () => run((agent) => axiosAuthRefreshClient(upstream.url, agent, setting)),
      ]),
    );
  let runs: Record<string, Herd[]>;
  let unbounded: Record<string, Herd[]>;
  try {
    runs = await alternate(
      {
        'tokenkeeper, token expired': () => {
          const time = shiftableClock();
          return herd(
            upstream,
            (agent) => tokenkeeperClient(upstream.url, agent, time.clock),
            () => time.jump(HOUR_MS + 1_000),
          );
        },
        'tokenkeeper, token killed early (learns from 401s)': () => herd(upstream, (agent) => tokenkeeperClient(upstream.url, agent)),
        ...aarVariants(['default', 'false', 'expert'], (create) => herd(upstream, create)),
      },
      ROUNDS,
    );
    unbounded = await alternate(
      {
        'tokenkeeper, token killed early (learns from 401s)': () =>
          herd(upstream, (agent) => tokenkeeperClient(upstream.url, agent), undefined, UNBOUNDED_HERD, Number.POSITIVE_INFINITY),
        ...aarVariants(['false', 'expert'], (create) => herd(upstream, create, undefined, UNBOUNDED_HERD, Number.POSITIVE_INFINITY)),
      },
      UNBOUNDED_ROUNDS,
    );
  } finally {
    await upstream.close();
  }
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const rows = Object.entries(runs).map(([name, results]) => ({
    client: name,
    'refresh calls': fixed(mean(results.map((run) => run.refreshCalls)), 1),
    'upstream 401s': fixed(mean(results.map((run) => run.rejected)), 0),
    'refresh-token reuse': fixed(mean(results.map((run) => run.reuse)), 0),
    'requests that failed': fixed(mean(results.map((run) => run.failed)), 0),
    'time to settle ms (median)': fixed(median(results.map((run) => run.settleMs)), 0),
  }));
  printTable(
    `herd: ${HERD.toLocaleString('en')} concurrent axios requests on one expired session (${ROUNDS} rounds, means per round)`,
    rows,
  );
  const pick = (index: number, measure: keyof (typeof rows)[number]) => rows[index]![measure];
  const aar = (measure: keyof (typeof rows)[number]) =>
    `${pick(2, measure)} / ${pick(3, measure)} / ${pick(4, measure)} (aar true / false / expert)`;
  addSummary(
    '4 herd, 10,000 requests',
    'refresh calls (expired / killed early)',
    `${pick(0, 'refresh calls')} / ${pick(1, 'refresh calls')}`,
    aar('refresh calls'),
    '1',
  );
  addSummary(
    '4 herd, 10,000 requests',
    'requests that failed',
    `${pick(0, 'requests that failed')} / ${pick(1, 'requests that failed')}`,
    aar('requests that failed'),
    '0',
  );
  addSummary(
    '4 herd, 10,000 requests',
    'time to settle ms',
    `${pick(0, 'time to settle ms (median)')} / ${pick(1, 'time to settle ms (median)')}`,
    aar('time to settle ms (median)'),
  );

  const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
  const unboundedRows = Object.entries(unbounded).map(([name, results]) => ({
    client: name,
    'refresh calls (mean)': fixed(mean(results.map((run) => run.refreshCalls)), 1),
    'refresh-token reuse (total)': sum(results.map((run) => run.reuse)),
    'rounds with reuse': `${results.filter((run) => run.reuse > 0).length} of ${results.length}`,
    'requests that failed, per round': results.map((run) => run.failed).join(', '),
    'time to settle ms (median)': fixed(median(results.map((run) => run.settleMs)), 0),
  }));
  printTable(
    `herd, unbounded socket pool: ${UNBOUNDED_HERD.toLocaleString('en')} concurrent axios requests on one session killed upstream ` +
      `(${UNBOUNDED_ROUNDS} rounds; rotating refresh tokens, reuse refused)`,
    unboundedRows,
  );
  const unboundedPick = (index: number, measure: keyof (typeof unboundedRows)[number]) => String(unboundedRows[index]![measure]);
  const unboundedAar = (measure: keyof (typeof unboundedRows)[number]) =>
    `${unboundedPick(1, measure)} / ${unboundedPick(2, measure)} (aar false / expert)`;
  const scenario = `4 herd, ${UNBOUNDED_HERD.toLocaleString('en')} requests, unbounded pool`;
  addSummary(scenario, 'rounds with refresh-token reuse', unboundedPick(0, 'rounds with reuse'), unboundedAar('rounds with reuse'), '0');
  addSummary(
    scenario,
    'requests that failed, per round',
    unboundedPick(0, 'requests that failed, per round'),
    unboundedAar('requests that failed, per round'),
    '0',
  );
}
