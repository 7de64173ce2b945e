import type { FaultKind } from '@tokenkeeper/testing';
import { describe, expect, it } from 'vitest';
import { PROTOCOLS, rejection, setup } from './harness.js';

/** The documented code of each upstream fault (README: "Errors"). */
const FAULTS: { kind: FaultKind; code: string; message: RegExp; only?: string[] }[] = [
  { kind: 'status500', code: 'UPSTREAM_UNAVAILABLE', message: /answered 500$/ },
  { kind: 'status502', code: 'UPSTREAM_UNAVAILABLE', message: /answered 502$/ },
  { kind: 'status503', code: 'UPSTREAM_UNAVAILABLE', message: /answered 503$/ },
  { kind: 'status429', code: 'UPSTREAM_UNAVAILABLE', message: /answered 429$/ },
  { kind: 'htmlError', code: 'UPSTREAM_UNAVAILABLE', message: /answered 500$/ },
  { kind: 'timeout', code: 'TIMEOUT', message: /took longer than 300 ms$/ },
  { kind: 'hang', code: 'TIMEOUT', message: /took longer than 300 ms$/ },
  { kind: 'reset', code: 'UPSTREAM_UNAVAILABLE', message: /failed: / },
  { kind: 'truncated', code: 'UPSTREAM_UNAVAILABLE', message: /failed: / },
  { kind: 'malformedJson', code: 'UPSTREAM_MALFORMED', message: /not valid JSON$/ },
  { kind: 'ssoPage', code: 'UPSTREAM_MALFORMED', message: /an HTML page instead of (JSON|a token) \(an SSO login page\?\)$/ },
  { kind: 'ssoRedirect', code: 'UPSTREAM_REJECTED', message: /was redirected to http:\/\/127\.0\.0\.1:1 \(an SSO login page\?\)$/ },
  { kind: 'hugeBody', code: 'UPSTREAM_MALFORMED', message: /answer is larger than 1048576 bytes$/ },
  { kind: 'emptyBody', code: 'UPSTREAM_MALFORMED', message: /an empty body$|token is missing or not a string$/ },
  { kind: 'crlfToken', code: 'UPSTREAM_MALFORMED', message: /has characters outside RFC 6750's token set$/ },
  { kind: 'pastExpiry', code: 'UPSTREAM_MALFORMED', message: /is already in the past$/, only: ['refreshToken', 'basicAuth'] },
  { kind: 'stringLifetime', code: 'UPSTREAM_MALFORMED', message: /lifetime is not a number$/, only: ['refreshToken'] },
];

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

  it.each(applicable)(
    'renewal answered with $kind gives $code, and the still-valid token keeps working',
    async ({ kind, code, message }) => {
      const { upstream, keeper } = await setup(protocol.name, { timeoutMs: 300 });
      const session = keeper.session('ada');
      await session.login(protocol.credentials('ada'));
      const token = await session.token();
      upstream.faults.next('api', 'expired'); // a rejection makes the keeper renew
      upstream.faults.next('refresh', kind, { delayMs: 2_000 });
      const error = await rejection(() => session.fetch(protocol.resource));
      expect(error).toMatchObject({ code });
      expect(error.message).toMatch(message);
      expect(await session.token()).toBe(token);
      expect((await session.fetch(protocol.resource)).status).toBe(200);
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
    '%s: without credentials, keeps the old token and ends the session when the spent refresh token is refused',
    async (name) => {
      const protocol = PROTOCOLS.find((candidate) => candidate.name === name)!;
      const { upstream, keeper } = await setup(name);
      const session = keeper.session('ada');
      await session.login(protocol.credentials('ada'));
      upstream.faults.next('api', 'expired');
      upstream.faults.next('refresh', 'rotateThen500');
      expect(await rejection(() => session.fetch(protocol.resource))).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
      upstream.faults.next('api', 'expired');
      expect(await rejection(() => session.fetch(protocol.resource))).toMatchObject({ code: 'SESSION_EXPIRED' });
      expect(await session.state()).toEqual({ status: 'none' });
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
      await clock.advance(60_000); // keep-alive finds it cannot renew and ends the session
      await expect.poll(() => expired).toEqual(['the token expired and the upstream cannot renew it']);
      expect(await rejection(() => session.fetch(protocol.resource))).toMatchObject({ code: 'NOT_LOGGED_IN' });
      expect(upstream.stats.reuseDetections).toBe(0);
      expect(upstream.stats.refreshes).toBe(1);
    },
  );
});
