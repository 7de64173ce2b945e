// keeper.test.ts: a keeper against the fake upstream, on a clock the test moves
import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { createManualClock, startFakeUpstream } from '@tokenkeeper/testing';
import { expect, it } from 'vitest';

it('keeps a session working past its token lifetime without waiting for it', async () => {
  const clock = createManualClock();
  const upstream = await startFakeUpstream({ protocol: 'refreshToken', clock });
  const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: upstream.url }), clock });
  try {
    await keeper.session('ada').login({ username: 'ada', password: 'ada-password-1' });
    await clock.advance(2 * 60 * 60_000); // two hours: the one-hour token has expired

    expect((await keeper.session('ada').fetch('/reports/call-data')).status).toBe(200);
    expect(upstream.stats).toMatchObject({ logins: 1, refreshes: expect.any(Number) });
    expect(upstream.stats.refreshes).toBeGreaterThanOrEqual(1);
  } finally {
    await keeper.close();
    await upstream.close();
  }
});
