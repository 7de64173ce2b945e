// basic-auth.test.ts: your code against the fake upstream, on a manual clock
import { basicAuth, TokenKeeper } from '@tokenkeeper/auth-core';
import { createManualClock, startFakeUpstream } from '@tokenkeeper/testing';
import { expect, it, vi } from 'vitest';

it('keeps expiry right against a server clock 10 minutes ahead, and logs in again after a refresh answered 503', async () => {
  const clock = createManualClock();
  const upstream = await startFakeUpstream({ protocol: 'basicAuth', clock, clockSkewMs: 10 * 60_000 });
  const keeper = new TokenKeeper({ protocol: basicAuth({ baseUrl: upstream.url }), clock, rememberCredentials: true });
  const failures: string[] = [];
  keeper.on('error', ({ error }) => failures.push(error.code));
  try {
    const ops = keeper.session('ops');
    await ops.login({ username: 'ada', password: 'ada-password-1' });
    // expires_at (epoch seconds) reads 10 minutes "late"; converted with the answer's Date header, it is not
    expect(Math.abs((await ops.state()).expiresAt! - (clock.now() + 5 * 60_000))).toBeLessThanOrEqual(1_000);

    upstream.faults.next('refresh', 'status503');
    await clock.advance(4.5 * 60_000); // into the refresh window: the keep-alive refresh gets the 503
    await vi.waitFor(() => expect(failures).toEqual(['UPSTREAM_UNAVAILABLE']));
    // The server may have rotated before failing, so that refresh token is never presented again:
    // the next renewal is a new login with the remembered credentials.
    await clock.advance(60_000); // past the access token's expiry
    expect((await ops.fetch('/api/core/v2/namespaces')).status).toBe(200);
    expect(upstream.stats).toMatchObject({ logins: 2, refreshes: 0, reuseDetections: 0 });
  } finally {
    await keeper.close();
    await upstream.close();
  }
});
