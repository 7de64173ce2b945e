/**
 * An upstream that answers 429 (or 503) with Retry-After, or an OAuth server's slow_down, is not
 * called again before the time it asked for: requests that need a renewal fail at once meanwhile,
 * the session is kept, and the first request after the pause renews it.
 */
import { describe, expect, it } from 'vitest';
import { retryAfterMs } from '../src/index.js';
import { protocolCase, rejection, setup } from './harness.js';

const teletracker = protocolCase('refreshToken');

/** A fetch that counts the refresh calls that reach the upstream (the fake's stats leave out fault answers). */
function countingRefreshes() {
  const counter = {
    calls: 0,
    fetch: ((input, init) => {
      if (String(input).endsWith('/auth/refresh')) counter.calls++;
      return fetch(input, init);
    }) as typeof fetch,
  };
  return counter;
}

describe('Retry-After', () => {
  it('no refresh is tried before the pause the upstream asked for; requests fail at once and the session is kept', async () => {
    const refreshes = countingRefreshes();
    const { keeper, upstream, clock } = await setup('refreshToken', { fetch: refreshes.fetch });
    const session = keeper.session('ada');
    await session.login(teletracker.credentials('ada'));
    await clock.advance(teletracker.lifetimeMs);
    upstream.faults.next('refresh', 'status429'); // Retry-After: 1

    const first = await rejection(() => session.token());
    const during = await Promise.all(Array.from({ length: 20 }, () => rejection(() => session.token())));

    expect(first).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', message: 'upstream refresh answered 429' });
    for (const error of during) {
      expect(error).toMatchObject({
        code: 'UPSTREAM_UNAVAILABLE',
        message: 'the upstream asked not to be called for another 1 s (Retry-After)',
      });
    }
    expect(refreshes.calls).toBe(1);
    expect((await keeper.state('ada')).status).toBe('expired');

    await clock.advance(1000);
    expect((await session.fetch(teletracker.resource)).status).toBe(200);
    expect(upstream.stats.refreshes).toBe(1);
  });

  it('a request on a token that still serves is sent as usual while renewals pause', async () => {
    const refreshes = countingRefreshes();
    const { keeper, upstream, clock } = await setup('refreshToken', { fetch: refreshes.fetch });
    const session = keeper.session('ada');
    await session.login(teletracker.credentials('ada'));
    await clock.advance(teletracker.lifetimeMs - 60_000); // in the refresh window, not expired
    upstream.faults.next('refresh', 'status429');
    expect((await session.fetch(teletracker.resource)).status).toBe(200); // starts the background refresh, which fails
    await keeper.settled();

    expect((await session.fetch(teletracker.resource)).status).toBe(200);
    await keeper.settled();
    expect(refreshes.calls).toBe(1);
    expect(upstream.stats.refreshes).toBe(0);
  });
});

describe('retryAfterMs', () => {
  const headers = (entries: Record<string, string>) => new Headers(entries);
  it.each([
    ['seconds', { 'retry-after': '120' }, 120_000],
    [
      'an HTTP date, counted from the answer’s own Date',
      { 'retry-after': 'Tue, 01 Dec 2026 10:00:30 GMT', date: 'Tue, 01 Dec 2026 10:00:00 GMT' },
      30_000,
    ],
    ['a date in the past', { 'retry-after': 'Tue, 01 Dec 2026 09:00:00 GMT', date: 'Tue, 01 Dec 2026 10:00:00 GMT' }, 0],
    ['more than an hour: capped', { 'retry-after': '86400' }, 3_600_000],
    ['nothing readable', { 'retry-after': 'soon' }, undefined],
    ['no header', {}, undefined],
  ])('reads %s', (_name, entries, expected) => {
    expect(retryAfterMs(headers(entries), 0)).toBe(expected);
  });
});
