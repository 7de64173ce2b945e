/**
 * Scenario 7, OAuth 2.0 against a real authorization server: panva's certified oidc-provider in
 * this process (`startProvider` from `@tokenkeeper/oauth2/testing`), with its own resource
 * server that accepts only the provider's live tokens. The provider counts the token-endpoint
 * calls and the resource server the 401s it answered: the same events a production server logs.
 *
 * - herd: many concurrent `session.fetch` on one connected session whose token has expired (by
 *   the keeper's clock), or was revoked at the provider before its expiry (the keeper learns
 *   from the 401s);
 * - steady traffic: concurrent clients sending one request after another for several access
 *   token lifetimes of a few seconds, in real time.
 */
import { TokenKeeper } from '@tokenkeeper/auth-core';
import { type OAuth2Credentials, oauth2 } from '@tokenkeeper/oauth2';
import { connect, SECRET, startProvider, type TestProvider } from '@tokenkeeper/oauth2/testing';
import { shiftableClock } from './clock.js';
import { addSummary, fixed, median, printTable, smoke } from './measure.js';

const HERD = smoke ? 100 : 1_000;
const ROUNDS = smoke ? 1 : 3;
const LIFETIME_S = smoke ? 2 : 10;
const LIFETIMES = smoke ? 2 : 5;
const CLIENTS = smoke ? 5 : 50;

function keeperFor(provider: TestProvider, clock = shiftableClock().clock): TokenKeeper<OAuth2Credentials> {
  const protocol = oauth2(
    { issuer: provider.issuer },
    { baseUrl: provider.api, clientId: 'basic-client', clientSecret: SECRET, scope: 'openid offline_access' },
  );
  return new TokenKeeper({ protocol, clock });
}

interface HerdRun {
  tokenCalls: number;
  rejections: number;
  failed: number;
  settleMs: number;
}

async function herd(expire: 'clock' | 'revoked'): Promise<HerdRun> {
  const provider = await startProvider({ accessTokenTtl: 3600 });
  const time = shiftableClock();
  const keeper = keeperFor(provider, time.clock);
  try {
    await connect(keeper, keeper.protocol as never, 'ada');
    const token = await keeper.session('ada').token();
    if (expire === 'clock') time.jump(3_600_000 + 1_000);
    else await (await provider.provider.AccessToken.find(token))!.destroy();
    const before = provider.tokenCalls.refresh_token ?? 0;
    const rejectionsBefore = provider.apiRejections;
    const start = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: HERD }, async () => {
        const answer = await keeper.session('ada').fetch('/me');
        await answer.arrayBuffer();
        if (answer.status !== 200) throw new Error(String(answer.status));
      }),
    );
    return {
      settleMs: performance.now() - start,
      tokenCalls: (provider.tokenCalls.refresh_token ?? 0) - before,
      rejections: provider.apiRejections - rejectionsBefore,
      failed: results.filter((result) => result.status === 'rejected').length,
    };
  } finally {
    await keeper.close();
    await provider.close();
  }
}

async function steady(): Promise<{ refreshesPerLifetime: number; rejections: number; failed: number; requests: number; revoked: number }> {
  const provider = await startProvider({ accessTokenTtl: LIFETIME_S });
  const keeper = keeperFor(provider);
  try {
    await connect(keeper, keeper.protocol as never, 'ada');
    const before = provider.tokenCalls.refresh_token ?? 0;
    const stopAt = performance.now() + LIFETIMES * LIFETIME_S * 1000;
    let requests = 0;
    let failed = 0;
    const loop = async () => {
      while (performance.now() < stopAt) {
        requests++;
        try {
          const answer = await keeper.session('ada').fetch('/me');
          await answer.arrayBuffer();
          if (answer.status !== 200) failed++;
        } catch {
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, loop));
    return {
      refreshesPerLifetime: ((provider.tokenCalls.refresh_token ?? 0) - before) / LIFETIMES,
      rejections: provider.apiRejections,
      failed,
      requests,
      revoked: provider.revokedGrants,
    };
  } finally {
    await keeper.close();
    await provider.close();
  }
}

export async function benchOAuth2(): Promise<void> {
  const runs: Record<string, HerdRun[]> = { 'token expired (clock)': [], 'token revoked early (learns from 401s)': [] };
  for (let round = 0; round < ROUNDS; round++) {
    runs['token expired (clock)']!.push(await herd('clock'));
    runs['token revoked early (learns from 401s)']!.push(await herd('revoked'));
  }
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const rows = Object.entries(runs).map(([name, results]) => ({
    case: name,
    'token-endpoint calls': fixed(mean(results.map((run) => run.tokenCalls)), 1),
    'API 401s': fixed(mean(results.map((run) => run.rejections)), 0),
    'requests that failed': fixed(mean(results.map((run) => run.failed)), 0),
    'time to settle ms (median)': fixed(median(results.map((run) => run.settleMs)), 0),
  }));
  printTable(
    `oauth2 herd: ${HERD.toLocaleString('en')} concurrent session.fetch on one session, against oidc-provider (${ROUNDS} rounds, means)`,
    rows,
  );
  addSummary(
    '7 oauth2 herd (oidc-provider)',
    'token-endpoint calls (expired / revoked)',
    `${rows[0]!['token-endpoint calls']} / ${rows[1]!['token-endpoint calls']}`,
    '',
    '1',
  );

  const traffic = await steady();
  printTable(`oauth2 steady traffic: ${CLIENTS} clients for ${LIFETIMES} lifetimes of ${LIFETIME_S} s, against oidc-provider (real time)`, [
    {
      'refreshes per lifetime': fixed(traffic.refreshesPerLifetime, 2),
      'API 401s': traffic.rejections,
      'requests that failed': traffic.failed,
      requests: traffic.requests,
      'grants revoked (reuse)': traffic.revoked,
    },
  ]);
  addSummary(
    '7 oauth2 steady (oidc-provider)',
    'API 401s / refreshes per lifetime',
    `${traffic.rejections} / ${fixed(traffic.refreshesPerLifetime, 2)}`,
    '',
    '0 401s',
  );
}
