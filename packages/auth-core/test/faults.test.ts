import type { FaultKind } from '@tokenkeeper/testing';
import { describe, expect, it } from 'vitest';
import { PROTOCOLS, rejection, setup } from './harness.js';

/**
 * The documented code of each upstream fault (README: "Errors"), and whether the upstream may
 * have acted on the call all the same (`unknown`: a rotating refresh token may be spent).
 */
const FAULTS: { kind: FaultKind; code: string; message: RegExp; unknown: boolean; only?: string[] }[] = [
  { kind: 'status500', code: 'UPSTREAM_UNAVAILABLE', message: /answered 500$/, unknown: true },
  { kind: 'status502', code: 'UPSTREAM_UNAVAILABLE', message: /answered 502$/, unknown: true },
  { kind: 'status503', code: 'UPSTREAM_UNAVAILABLE', message: /answered 503$/, unknown: true },
  { kind: 'status429', code: 'UPSTREAM_UNAVAILABLE', message: /answered 429$/, unknown: false },
  { kind: 'htmlError', code: 'UPSTREAM_UNAVAILABLE', message: /answered 500$/, unknown: true },
  { kind: 'timeout', code: 'TIMEOUT', message: /took longer than 300 ms$/, unknown: true },
  { kind: 'hang', code: 'TIMEOUT', message: /took longer than 300 ms$/, unknown: true },
  { kind: 'reset', code: 'UPSTREAM_UNAVAILABLE', message: /failed: /, unknown: true },
  { kind: 'truncated', code: 'UPSTREAM_UNAVAILABLE', message: /failed: /, unknown: true },
  { kind: 'malformedJson', code: 'UPSTREAM_MALFORMED', message: /not valid JSON$/, unknown: true },
  {
    kind: 'ssoPage',
    code: 'UPSTREAM_MALFORMED',
    message: /an HTML page instead of (JSON|a token) \(an SSO login page\?\)$/,
    unknown: true,
  },
  {
    kind: 'ssoRedirect',
    code: 'UPSTREAM_REJECTED',
    message: /was redirected to http:\/\/127\.0\.0\.1:1 \(an SSO login page\?\)$/,
    unknown: false,
  },
  { kind: 'hugeBody', code: 'UPSTREAM_MALFORMED', message: /answer is larger than 1048576 bytes$/, unknown: true },
  { kind: 'emptyBody', code: 'UPSTREAM_MALFORMED', message: /an empty body$|token is missing or not a string$/, unknown: true },
  { kind: 'crlfToken', code: 'UPSTREAM_MALFORMED', message: /has characters outside RFC 6750's token set$/, unknown: true },
  { kind: 'stringLifetime', code: 'UPSTREAM_MALFORMED', message: /lifetime is not a number$/, unknown: true, only: ['refreshToken'] },
];
const ROTATING = ['refreshToken', 'basicAuth'];

describe.each(PROTOCOLS)('upstream faults with the $name preset', (protocol) => {
  const applicable = FAULTS.filter((fault) => !fault.only || fault.only.includes(protocol.name));

  it.each(applicable)('login answered with $kind gives $code, and the next login works', async ({ kind, code, message }) => {
    const { upstream, keeper } = await setup(protocol.name, { timeoutMs: 300 });
    const session = keeper.session('ada');
    upstream.faults.next('login', kind, { delayMs: 2_000 });
    const error = await rejection(() => session.login(protocol.credentials('ada')));
    expect(error).toMatchObject({ code });
    expect(error.message).toMatch(message);
    expect(await session.state()).toEqual({ status: 'none' });
    await session.login(protocol.credentials('ada'));
    expect((await session.fetch(protocol.resource)).status).toBe(200);
  });

  it.each(applicable.filter((fault) => !fault.unknown || !ROTATING.includes(protocol.name)))(
    'renewal answered with $kind gives $code, and the session is tried again on the next call',
    async ({ kind, code, message }) => {
      const { upstream, keeper } = await setup(protocol.name, { timeoutMs: 300 });
      const session = keeper.session('ada');
      await session.login(protocol.credentials('ada'));
      upstream.faults.next('api', 'expired'); // a rejection makes the keeper renew
      upstream.faults.next('refresh', kind, { delayMs: 2_000 });
      const error = await rejection(() => session.fetch(protocol.resource));
      expect(error).toMatchObject({ code });
      expect(error.message).toMatch(message);
      expect((await session.fetch(protocol.resource)).status).toBe(200);
    },
  );

  it.each(applicable.filter((fault) => fault.unknown && ROTATING.includes(protocol.name)))(
    'renewal of a rejected token answered with $kind gives $code; with the refresh token in doubt and no credentials, the session ends',
    async ({ kind, code, message }) => {
      const { upstream, keeper } = await setup(protocol.name, { timeoutMs: 300 });
      const session = keeper.session('ada');
      await session.login(protocol.credentials('ada'));
      upstream.faults.next('api', 'expired');
      upstream.faults.next('refresh', kind, { delayMs: 2_000 });
      const error = await rejection(() => session.fetch(protocol.resource));
      expect(error).toMatchObject({ code });
      expect(error.message).toMatch(message);
      expect(await session.state()).toEqual({ status: 'ended' });
      expect(await rejection(() => session.fetch(protocol.resource))).toMatchObject({
        code: 'SESSION_EXPIRED',
        message: 'the session has expired: log in again',
      });
      expect(upstream.stats.reuseDetections).toBe(0);
    },
  );

  it.each(applicable.filter((fault) => fault.unknown && ROTATING.includes(protocol.name)))(
    'renewal in the refresh window answered with $kind gives $code; the refresh token in doubt is dropped and the token serves until it expires',
    async ({ kind, code }) => {
      const { upstream, keeper, clock } = await setup(protocol.name, { timeoutMs: 300 });
      const session = keeper.session('ada');
      await session.login(protocol.credentials('ada'));
      await clock.advance(protocol.lifetimeMs - 30_000);
      upstream.faults.next('refresh', kind, { delayMs: 2_000 });
      const errors: string[] = [];
      keeper.on('error', (event) => errors.push(event.error.code));
      expect((await session.fetch(protocol.resource)).status).toBe(200); // starts the background renewal
      await keeper.settled();
      expect(errors).toEqual([code]);
      await clock.advance(10_000); // still in the window: nothing presents the refresh token in doubt again
      expect((await session.fetch(protocol.resource)).status).toBe(200);
      await keeper.settled();
      expect(errors).toEqual([code]);
      await clock.advance(20_000);
      expect(await rejection(() => session.fetch(protocol.resource))).toMatchObject({ code: 'SESSION_EXPIRED' });
      expect(upstream.stats.reuseDetections).toBe(0);
    },
  );

  it('takes a login answer with unknown extra fields', async () => {
    const { upstream, keeper } = await setup(protocol.name);
    upstream.faults.next('login', 'extraFields');
    await keeper.session('ada').login(protocol.credentials('ada'));
    expect((await keeper.session('ada').fetch(protocol.resource)).status).toBe(200);
  });
});

describe('expiry facts', () => {
  it('uses the preset’s default lifetime when the answer states no expiry (seed 001 and 002)', async () => {
    for (const name of ['refreshToken', 'basicAuth'] as const) {
      const { upstream, keeper } = await setup(name);
      upstream.faults.next('login', 'missingExpiry');
      const state = await keeper.session('ada').login(PROTOCOLS.find((p) => p.name === name)!.credentials('ada'));
      const defaultLifetimeMs = name === 'refreshToken' ? 3_600_000 : 5 * 60_000;
      expect(state.expiresAt! - upstream.clock.now()).toBe(defaultLifetimeMs);
    }
  });

  it.each([10, -10])('keeps renewing on time with an upstream clock %i minutes off', async (minutes) => {
    const { upstream, keeper, clock } = await setup('basicAuth', {}, { clockSkewMs: minutes * 60_000 });
    const session = keeper.session('ada');
    const state = await session.login(PROTOCOLS[2]!.credentials('ada'));
    // expires_at is on the upstream's clock; the Date header turns it back into a 5-minute lifetime
    expect(state.expiresAt! - clock.now()).toBeLessThanOrEqual(5 * 60_000);
    expect(state.expiresAt! - clock.now()).toBeGreaterThan(5 * 60_000 - 2_000);
    for (let step = 0; step < 20; step++) {
      await clock.advance(60_000);
      expect((await session.fetch('/whoami')).status).toBe(200);
    }
    expect(upstream.stats.rejected).toBe(0);
  });
});

describe('refresh that rotated but whose answer was lost (seed 001 and 002)', () => {
  it.each(['refreshToken', 'basicAuth'] as const)(
    '%s: logs in again when credentials are at hand, never reusing the spent refresh token',
    async (name) => {
      const protocol = PROTOCOLS.find((candidate) => candidate.name === name)!;
      const { upstream, keeper } = await setup(name, { credentials: () => protocol.credentials('ada') });
      const session = keeper.session('ada');
      await session.login(protocol.credentials('ada'));
      upstream.faults.next('api', 'expired');
      upstream.faults.next('refresh', 'rotateThen500');
      expect((await session.fetch(protocol.resource)).status).toBe(200);
      expect(upstream.stats.logins).toBe(2);
      expect(upstream.stats.reuseDetections).toBe(0);
    },
  );

  it.each(['refreshToken', 'basicAuth'] as const)(
    '%s: without credentials, ends the session once the refresh token is in doubt and the token was rejected',
    async (name) => {
      const protocol = PROTOCOLS.find((candidate) => candidate.name === name)!;
      const { upstream, keeper } = await setup(name);
      const session = keeper.session('ada');
      await session.login(protocol.credentials('ada'));
      upstream.faults.next('api', 'expired');
      upstream.faults.next('refresh', 'rotateThen500');
      expect(await rejection(() => session.fetch(protocol.resource))).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
      expect(await rejection(() => session.fetch(protocol.resource))).toMatchObject({ code: 'SESSION_EXPIRED' });
      expect(await session.state()).toEqual({ status: 'ended' });
    },
  );
});

describe('a refresh token whose refresh outcome is unknown (found by the model test)', () => {
  it.each(['refreshToken', 'basicAuth'] as const)(
    '%s: is never presented again, even by keep-alive retries; the access token serves until it expires',
    async (name) => {
      const protocol = PROTOCOLS.find((candidate) => candidate.name === name)!;
      const { upstream, keeper, clock } = await setup(
        name,
        { keepAlive: true, retryIntervalMs: 0, keepAliveJitterMs: 0 },
        { accessTokenLifetimeMs: 5 * 60_000 },
      );
      const session = keeper.session('ada');
      const expired: string[] = [];
      keeper.on('expired', (event) => expired.push(event.reason));
      await session.login(protocol.credentials('ada'));
      upstream.faults.next('refresh', 'rotateThen500');
      await clock.advance(4 * 60_000 + 30_000); // keep-alive refreshes, the upstream rotates and answers 500
      await expect.poll(() => upstream.stats.refreshes).toBe(1);
      for (let step = 0; step < 10; step++) await clock.advance(1_000); // retries would happen here
      expect((await session.fetch(protocol.resource)).status).toBe(200);
      await clock.advance(60_000); // the token expires; nothing can renew it
      // One rule for every lapse, in the background or on a request: calls get SESSION_EXPIRED until a new login.
      expect(await rejection(() => session.fetch(protocol.resource))).toMatchObject({ code: 'SESSION_EXPIRED' });
      expect(await rejection(() => session.fetch(protocol.resource))).toMatchObject({ code: 'SESSION_EXPIRED' });
      expect(expired).toEqual(['the token expired and nothing can renew it']);
      expect(upstream.stats.reuseDetections).toBe(0);
      expect(upstream.stats.refreshes).toBe(1);
    },
  );
});
