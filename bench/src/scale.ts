/**
 * Scenario 5, scale: heap bytes per session with 100,000 sessions in the memory store, and
 * 100,000 keep-alive sessions coming due within one minute (scheduler CPU, renewals in flight
 * held to the bound, how the renewals spread over time).
 *
 * The upstream is an in-process protocol (no sockets) issuing UUID tokens like seed 001's, so
 * the figures are the keeper's own cost, not HTTP's. Run with --expose-gc for the heap figure.
 */
import { randomUUID } from 'node:crypto';
import { defineProtocol, TokenKeeper } from '@tokenkeeper/auth-core';
import { createManualClock } from '@tokenkeeper/testing';
import { addSummary, fixed, printTable, smoke } from './measure.js';

const LIFETIME_MS = 3_600_000;

/** Seed 001's token shapes without the network: a UUID access token, a UUID refresh token. */
function inProcessProtocol(onRefresh: () => void) {
  return defineProtocol<{ user: string }>({
    name: 'in-process',
    baseUrl: 'http://upstream.invalid',
    rotatesRefreshTokens: true,
    login: async (_credentials, client) => tokens(client.now()),
    refresh: async (_tokens, client) => {
      onRefresh();
      return tokens(client.now());
    },
  });
}

/** Tokens as a preset gets them: parsed out of a JSON answer (a bare randomUUID() string drags a larger parent string along). */
function tokens(now: number) {
  const answer = JSON.parse(JSON.stringify({ token: randomUUID(), refreshToken: randomUUID() })) as { token: string; refreshToken: string };
  return {
    accessToken: answer.token,
    refreshToken: answer.refreshToken,
    issuedAt: now,
    expiresAt: now + LIFETIME_MS,
    refreshExpiresAt: now + 30 * 86_400_000,
  };
}

function collectGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return false;
  gc();
  gc();
  return true;
}

export async function benchScale(): Promise<void> {
  const count = smoke ? 2_000 : 100_000;

  // ── heap per session ──
  const clock = createManualClock();
  let refreshes = 0;
  const keeper = new TokenKeeper({ protocol: inProcessProtocol(() => refreshes++), clock, maxSessions: count, keepAlive: true });
  await keeper.session('warm-up').login({ user: 'warm-up' });
  await keeper.logout('warm-up');
  const measured = collectGarbage();
  const before = process.memoryUsage().heapUsed;
  // Service sessions: kept alive however long they go unused.
  for (let index = 0; index < count; index++) await keeper.login(`user-${index}`, { user: `user-${index}` }, { service: true });
  collectGarbage();
  const perSession = (process.memoryUsage().heapUsed - before) / count;

  // ── 100,000 keep-alive renewals due within a minute ──
  // All sessions were logged in at one instant, so every renewal falls due in the same minute
  // before expiry (the refresh window, spread by keep-alive jitter). The clock steps a second at a time.
  const start = clock.now();
  const windowStart = start + LIFETIME_MS - 90_000;
  let peak = 0;
  const perSecond = new Map<number, number>();
  keeper.on('refresh', () => {
    peak = Math.max(peak, keeper.stats.keepAliveRunning);
    const second = Math.floor((clock.now() - windowStart) / 1_000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  });
  await clock.set(windowStart);
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  for (let second = 0; second < 90 && refreshes < count; second++) {
    await clock.advance(1_000);
    while (keeper.stats.keepAliveRunning > 0 || keeper.stats.renewing > 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const cpu = process.cpuUsage(cpuBefore);
  const wallMs = performance.now() - wallBefore;
  const seconds = [...perSecond.keys()];
  const busiest = Math.max(...perSecond.values());

  printTable(`scale: ${count.toLocaleString('en')} sessions in the memory store`, [
    { measure: 'heap per session (bytes)', value: measured ? fixed(perSession, 0) : 'run with --expose-gc' },
    { measure: 'target', value: '< 640' },
  ]);
  printTable(`scale: ${count.toLocaleString('en')} keep-alive sessions due within one minute`, [
    { measure: 'renewals done', value: refreshes },
    { measure: 'scheduler + renewal CPU (ms)', value: fixed((cpu.user + cpu.system) / 1_000, 0) },
    { measure: 'CPU per renewal (µs)', value: fixed((cpu.user + cpu.system) / Math.max(1, refreshes), 1) },
    { measure: 'wall time (ms)', value: fixed(wallMs, 0) },
    { measure: 'peak keep-alive renewals at once (bound 8)', value: peak },
    {
      measure: 'seconds with renewals',
      value: `${seconds.length} (from ${Math.min(...seconds) - 90}s to ${Math.max(...seconds) - 90}s before expiry)`,
    },
    { measure: 'busiest second (renewals)', value: busiest },
  ]);
  const sessions = count.toLocaleString('en');
  addSummary(
    '5 scale',
    `heap per session, ${sessions} sessions (bytes)`,
    measured ? fixed(perSession, 0) : 'needs --expose-gc',
    '',
    '< 640',
  );
  addSummary(
    '5 scale',
    `${sessions} keep-alive renewals due in one minute: CPU per renewal`,
    `${fixed((cpu.user + cpu.system) / Math.max(1, refreshes), 1)} µs`,
    '',
  );
  addSummary('5 scale', 'keep-alive renewals at once, peak', peak, '', '≤ 8 (the bound)');
  addSummary('5 scale', 'spread of the renewals', `${seconds.length} s, busiest ${busiest}/s`, '');
  await keeper.close();
}
