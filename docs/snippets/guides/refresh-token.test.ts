// refresh-token.test.ts: your code against the fake upstream, on a manual clock
import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { createManualClock, startFakeUpstream } from '@tokenkeeper/testing';
import { expect, it, vi } from 'vitest';

it('never presents a refresh token twice after a refresh that rotated and then failed: it logs in again', async () => {
  const clock = createManualClock();
  const upstream = await startFakeUpstream({ protocol: 'refreshToken', clock, accessTokenLifetimeMs: 60_000 });
  const credentials = { username: 'ada', password: 'ada-password-1' };
  const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: upstream.url }), clock, credentials: () => credentials });
  try {
    await keeper.session('ada').login(credentials);
    upstream.faults.next('refresh', 'rotateThen500'); // rotates, then answers 500

    await clock.advance(50_000); // into the refresh window: keep-alive refreshes, and gets the 500
    await vi.waitFor(() => expect(upstream.stats.refreshes).toBe(1));
    await clock.advance(15_000); // past the access token's expiry
    expect((await keeper.session('ada').fetch('/reports/call-data')).status).toBe(200);

    expect(upstream.stats.reuseDetections).toBe(0); // the spent refresh token was never sent again
    expect(upstream.stats.logins).toBe(2); // a new login instead
  } finally {
    await keeper.close();
    await upstream.close();
  }
});
