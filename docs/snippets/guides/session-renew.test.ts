// session-renew.test.ts: your code against the fake upstream, on a manual clock
import { sessionRenew, TokenKeeper } from '@tokenkeeper/auth-core';
import { createManualClock, startFakeUpstream } from '@tokenkeeper/testing';
import { expect, it, vi } from 'vitest';

it('renews in the renewal window, and renews and retries once when an API call gets a 403', async () => {
  const clock = createManualClock();
  const upstream = await startFakeUpstream({ protocol: 'sessionRenew', clock });
  const keeper = new TokenKeeper({ protocol: sessionRenew({ baseUrl: upstream.url }), clock });
  try {
    const ada = keeper.session('ada');
    await ada.login({ email: 'ada@example.test', password: 'ada-password-1', selectedOrg: 7 });

    await clock.advance(14.5 * 60_000); // into the renewal window: keep-alive renews in the background
    await vi.waitFor(() => expect(upstream.stats.renewals).toBe(1));
    await clock.advance(5 * 60_000);
    upstream.faults.next('api', 'expired'); // the next API call gets a 403, as if the token had died early
    expect((await ada.fetch('/user/users/me')).status).toBe(200); // renewed, then retried once
    expect(upstream.stats).toMatchObject({ renewals: 2, rejected: 1, logins: 1 });
  } finally {
    await keeper.close();
    await upstream.close();
  }
});
