// upstream.test.ts
import { createManualClock, type FakeUpstream, startFakeUpstream } from '@tokenkeeper/testing';
import { afterEach, expect, it } from 'vitest';

let upstream: FakeUpstream | undefined;
afterEach(() => upstream?.close());

it('rejects a token once it is an hour old, and refreshes with a rotating refresh token', async () => {
  const clock = createManualClock();
  upstream = await startFakeUpstream({ protocol: 'refreshToken', clock });

  const login = () =>
    fetch(`${upstream!.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'ada', password: 'ada-password-1' }),
    });
  const { token, refreshToken } = (await (await login()).json()) as { token: string; refreshToken: string };
  const callData = () => fetch(`${upstream!.url}/reports/call-data`, { headers: { authorization: `Bearer ${token}` } });
  expect((await callData()).status).toBe(200);

  await clock.advance(60 * 60_000); // no waiting: the server reads the same clock
  expect((await callData()).status).toBe(401);

  const refresh = () =>
    fetch(`${upstream!.url}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: refreshToken }),
    });
  expect((await refresh()).status).toBe(200);
  expect((await refresh()).status).toBe(401); // the old refresh token was rotated away
  expect(upstream.stats.reuseDetections).toBe(1);

  upstream.faults.next('login', 'status503');
  expect((await login()).status).toBe(503); // the next login gets a 503: assert how your code copes
});
