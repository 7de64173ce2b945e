import { describe, expect, it } from 'vitest';
import { PROTOCOLS, rejection, setup } from './harness.js';

describe.each(PROTOCOLS)('single flight with the $name preset', (protocol) => {
  const withProvider = { credentials: (key: string) => protocol.credentials(key as 'ada') };

  it('answers 1,000 concurrent requests on an expired session with exactly one upstream renewal', async () => {
    const { upstream, keeper, clock } = await setup(protocol.name, withProvider);
    const session = keeper.session('ada');
    await session.login(protocol.credentials('ada'));
    await clock.advance(protocol.lifetimeMs + 1_000);
    upstream.stats.reset();
    const responses = await Promise.all(Array.from({ length: 1_000 }, () => session.fetch(protocol.resource)));
    expect(responses.filter((response) => response.status === 200)).toHaveLength(1_000);
    // Seed 000 cannot renew an expired token: its one upstream call is the re-login.
    const upstreamRenewals = protocol.name === 'sessionRenew' ? upstream.stats.logins : upstream.stats.refreshes;
    expect(upstreamRenewals).toBe(1);
    expect(upstream.stats.renewals + upstream.stats.refreshes + upstream.stats.logins).toBe(1);
    expect(upstream.stats.rejected).toBe(0);
    expect(upstream.stats.reuseDetections).toBe(0);
  });

  it('retries requests already in flight with a token that died, with the new token, after one renewal', async () => {
    const { upstream, keeper } = await setup(protocol.name, withProvider);
    const session = keeper.session('ada');
    await session.login(protocol.credentials('ada'));
    upstream.expireAccessToken(await session.token()); // the upstream drops it early
    upstream.stats.reset();
    const responses = await Promise.all(Array.from({ length: 200 }, () => session.fetch(protocol.resource)));
    expect(responses.map((response) => response.status)).toEqual(Array(200).fill(200));
    expect(upstream.stats.rejected).toBeGreaterThan(0);
    expect(upstream.stats.apiCalls).toBe(200 + upstream.stats.rejected);
    // Seed 000 tries to renew the dead token (refused), then logs in; the others refresh once.
    if (protocol.name === 'sessionRenew') expect(upstream.stats.logins).toBe(1);
    else expect(upstream.stats.refreshes).toBe(1);
    expect(upstream.stats.reuseDetections).toBe(0);
  });

  it('never makes another user wait for one user’s renewal', async () => {
    const { upstream, keeper } = await setup(protocol.name, { ...withProvider, timeoutMs: 60_000 });
    const ada = keeper.session('ada');
    const grace = keeper.session('grace');
    await ada.login(protocol.credentials('ada'));
    await grace.login(protocol.credentials('grace'));
    upstream.expireAccessToken(await ada.token());
    upstream.faults.next('refresh', 'hang');
    upstream.faults.next('login', 'hang');
    const aborted = new AbortController();
    const adaRequest = ada.fetch(protocol.resource, { signal: aborted.signal });
    await expect.poll(() => upstream.stats.rejected).toBe(1); // ada's renewal is now hanging
    const graceResponse = await grace.fetch(protocol.resource);
    expect(graceResponse.status).toBe(200);
    aborted.abort();
    await expect(adaRequest).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('lets a waiter abort without cancelling the renewal the others wait on', async () => {
    const { upstream, keeper, clock } = await setup(protocol.name, withProvider);
    const session = keeper.session('ada');
    await session.login(protocol.credentials('ada'));
    await clock.advance(protocol.lifetimeMs + 1_000);
    upstream.faults.next(protocol.name === 'sessionRenew' ? 'login' : 'refresh', 'timeout', { delayMs: 400 });
    const impatient = new AbortController();
    const first = session.fetch(protocol.resource, { signal: impatient.signal });
    const second = session.fetch(protocol.resource);
    setTimeout(() => impatient.abort(), 50);
    await expect(first).rejects.toMatchObject({ name: 'AbortError' });
    expect((await second).status).toBe(200);
  });

  it('gives the shared renewal its own timeout and recovers once the upstream answers again', async () => {
    const { upstream, keeper, clock } = await setup(protocol.name, { ...withProvider, timeoutMs: 5_000, renewalTimeoutMs: 300 });
    const session = keeper.session('ada');
    await session.login(protocol.credentials('ada'));
    await clock.advance(protocol.lifetimeMs + 1_000);
    upstream.faults.next('refresh', 'hang');
    upstream.faults.next('login', 'hang');
    const error = await rejection(() => session.fetch(protocol.resource));
    expect(error).toMatchObject({ code: 'TIMEOUT', status: 504, message: 'renewal took longer than 300 ms' });
    upstream.faults.clear();
    expect((await session.fetch(protocol.resource)).status).toBe(200);
  });
});
