/**
 * Issue 2's figures: `session.token()` on a fresh token, and the herd — 1,000 concurrent
 * `session.fetch` calls on an expired session (time to settle, upstream renewals).
 */
import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { createManualClock, startFakeUpstream } from '@tokenkeeper/testing';
import { fixed, median, nsPerOp, printTable, smoke } from './measure.js';

export async function benchCore(): Promise<void> {
  const clock = createManualClock();
  const upstream = await startFakeUpstream({ protocol: 'refreshToken', clock });
  const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: upstream.url }), clock, keepAlive: false });
  const session = keeper.session('ada');
  await session.login({ username: 'ada', password: 'ada-password-1' });

  const calls = smoke ? 20_000 : 2_000_000;
  const callOnly = await nsPerOp((count) => {
    for (let index = 0; index < count; index++) void session.token();
  }, calls);
  const awaited = await nsPerOp(async (count) => {
    for (let index = 0; index < count; index++) await session.token();
  }, calls);
  const sessionHandle = await nsPerOp((count) => {
    for (let index = 0; index < count; index++) void keeper.session('ada');
  }, calls);
  printTable('session.token() on a fresh token', [
    { operation: 'token() call (promise not awaited)', 'ns/op': fixed(callOnly) },
    { operation: 'await token()', 'ns/op': fixed(awaited) },
    { operation: 'keeper.session(key) (a handle, no I/O)', 'ns/op': fixed(sessionHandle) },
  ]);

  const herdSize = smoke ? 100 : 1_000;
  const rounds = smoke ? 1 : 5;
  const settleMs: number[] = [];
  let renewals = 0;
  for (let round = 0; round < rounds; round++) {
    await clock.advance(3_600_000 + 1_000); // past expiry
    upstream.stats.reset();
    const start = performance.now();
    const responses = await Promise.all(Array.from({ length: herdSize }, () => session.fetch('/reports/call-data')));
    settleMs.push(performance.now() - start);
    await Promise.all(responses.map((response) => response.arrayBuffer()));
    renewals += upstream.stats.refreshes;
    if (responses.some((response) => response.status !== 200)) throw new Error('a herd request failed');
  }
  printTable(`herd: ${herdSize} concurrent session.fetch on an expired session (${rounds} rounds)`, [
    { measure: 'time to settle, median (ms)', value: fixed(median(settleMs)) },
    { measure: 'upstream refreshes per round', value: fixed(renewals / rounds, 2) },
    { measure: 'requests per round that failed', value: 0 },
  ]);

  await keeper.close();
  await upstream.close();
}
