import { inspect } from 'node:util';
import type { FakeUpstream } from '@tokenkeeper/testing';
import { describe, expect, it } from 'vitest';
import { PROTOCOLS, type ProtocolCase, setup } from './harness.js';

/**
 * A fetch that notes every token the upstream hands out (JSON fields or a bare text token),
 * so the test knows every secret that exists without asking the fake upstream's internals.
 */
function harvestingFetch(secrets: Set<string>): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const text = await response.clone().text();
    try {
      const body = JSON.parse(text) as Record<string, unknown>;
      for (const field of ['token', 'refreshToken', 'access_token', 'refresh_token']) {
        if (typeof body[field] === 'string' && body[field].length >= 8) secrets.add(body[field] as string);
      }
    } catch {
      if (/^[A-Za-z0-9\-._~+/]{16,}=*$/.test(text.trim())) secrets.add(text.trim());
    }
    return response;
  };
}

/** Drives one protocol through login, both renewals, faults, a refused re-login, expiry and logout. */
async function everyPath(
  protocol: ProtocolCase,
  upstream: FakeUpstream,
  keeper: Awaited<ReturnType<typeof setup>>['keeper'],
  clock: Awaited<ReturnType<typeof setup>>['clock'],
  seen: unknown[],
) {
  const session = keeper.session('ada');
  const attempt = async (run: () => Promise<unknown>) => {
    try {
      await run();
    } catch (error) {
      seen.push(error);
    }
  };
  await attempt(() => session.login(protocol.wrongCredentials));
  upstream.faults.next('login', 'malformedJson');
  await attempt(() => session.login(protocol.credentials('ada')));
  upstream.faults.next('login', 'crlfToken');
  await attempt(() => session.login(protocol.credentials('ada')));
  await session.login(protocol.credentials('ada'));
  await clock.advance(protocol.lifetimeMs - 20_000);
  await attempt(() => session.fetch(protocol.resource)); // proactive renewal
  upstream.faults.next('api', 'expired');
  await attempt(() => session.fetch(protocol.resource)); // reactive renewal
  upstream.faults.next('api', 'expired');
  upstream.faults.next('refresh', 'htmlError');
  await attempt(() => session.fetch(protocol.resource)); // failed renewal
  upstream.expireAccessToken();
  await clock.advance(protocol.lifetimeMs + 1_000);
  await attempt(() => session.fetch(protocol.resource)); // re-login with the provider
  await session.logout();
  await attempt(() => session.fetch(protocol.resource)); // NOT_LOGGED_IN
  await keeper.session('grace').login(protocol.credentials('grace'));
  upstream.users.find((user) => user.id === 2)!.password = 'changed-password-9';
  upstream.expireAccessToken();
  await clock.advance(3 * protocol.lifetimeMs);
  await attempt(() => keeper.session('grace').fetch(protocol.resource)); // re-login refused → expired
}

describe.each(PROTOCOLS)('no secret leaks with the $name preset', (protocol) => {
  it('puts no password, token or refresh token in any event payload, error message, JSON or inspected error', async () => {
    const secrets = new Set<string>(['ada-password-1', 'grace-password-2', 'not-the-password']);
    const { upstream, keeper, clock } = await setup(protocol.name, {
      fetch: harvestingFetch(secrets),
      credentials: (key: string) => protocol.credentials(key as 'ada' | 'grace'),
    });
    const seen: unknown[] = [];
    for (const name of ['login', 'refresh', 'expired', 'logout', 'error'] as const) keeper.on(name, (event) => seen.push(event));
    await everyPath(protocol, upstream, keeper, clock, seen);

    expect(secrets.size).toBeGreaterThan(6); // tokens were issued and noticed
    const kinds = new Set(
      seen.map((item) => (item instanceof Error ? (item as { code?: string }).code : Object.keys(item as object).join())),
    );
    expect(kinds.size).toBeGreaterThan(4); // events and errors of several kinds were produced
    const output = seen
      .map((item) => [JSON.stringify(item), inspect(item, { depth: 8 }), item instanceof Error ? item.message : ''])
      .join('\n');
    for (const secret of secrets) expect(output.includes(secret), `a secret appeared in:\n${output.slice(0, 400)}`).toBe(false);
  });
});

describe.each(PROTOCOLS)('an upstream that echoes the request in its error answers ($name)', (protocol) => {
  const endpoints = protocol.name === 'basicAuth' ? (['login', 'refresh', 'logout'] as const) : (['login', 'refresh'] as const);

  it.each(endpoints)('keeps no body of a %s error by default, so the echoed secrets go nowhere', async (endpoint) => {
    const { keeper, upstream, clock } = await setup(protocol.name);
    const errors: unknown[] = [];
    keeper.on('error', (event) => errors.push(event.error));
    const session = keeper.session('ada');
    if (endpoint !== 'login') await session.login(protocol.credentials('ada'));
    upstream.faults.next(endpoint, 'echoRequest');
    if (endpoint === 'login') errors.push(await session.login(protocol.credentials('ada')).catch((error: unknown) => error));
    if (endpoint === 'refresh') {
      await clock.advance(protocol.lifetimeMs - 30_000); // in the window: one background renewal
      await session.token();
      await keeper.settled();
    }
    if (endpoint === 'logout') await session.logout();
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) {
      expect(error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstream: { operation: endpoint, status: 500 } });
      expect((error as { upstream: object }).upstream).not.toHaveProperty('bodyPreview');
    }
  });

  it('hands an API error that echoes the token to the caller as the Response it is, and reports nothing of it', async () => {
    const { keeper, upstream } = await setup(protocol.name, { errorBodyPreview: true });
    const reported: unknown[] = [];
    keeper.on('error', (event) => reported.push(event));
    const session = keeper.session('ada');
    await session.login(protocol.credentials('ada'));
    upstream.faults.next('api', 'echoRequest');
    const answer = await session.fetch(protocol.resource);
    expect(answer.status).toBe(500);
    await answer.body?.cancel();
    expect(reported).toEqual([]);
  });

  it.each(endpoints)(
    'with errorBodyPreview, keeps a %s error body with every secret of the call redacted, and never in toJSON',
    async (endpoint) => {
      const { keeper, upstream, clock } = await setup(protocol.name, { errorBodyPreview: true });
      const errors: { upstream?: { bodyPreview?: string } }[] = [];
      keeper.on('error', (event) => errors.push(event.error));
      const session = keeper.session('ada');
      const credentials = protocol.credentials('ada') as { password: string };
      if (endpoint !== 'login') await session.login(credentials);
      const token = endpoint === 'login' ? undefined : await session.token();
      upstream.faults.next(endpoint, 'echoRequest');
      if (endpoint === 'login') await session.login(credentials).catch(() => {});
      if (endpoint === 'refresh') {
        await clock.advance(protocol.lifetimeMs - 30_000); // in the window: one background renewal
        await session.token();
        await keeper.settled();
      }
      if (endpoint === 'logout') await session.logout();
      const preview = errors[0]?.upstream?.bodyPreview;
      expect(preview).toMatch(/^error while handling /);
      expect(preview).toContain('[redacted]');
      expect(preview).not.toContain(credentials.password);
      if (token) expect(preview).not.toContain(token);
      expect(JSON.stringify(errors[0])).not.toContain('bodyPreview');
      expect(inspect(errors[0], { depth: 5 })).not.toContain(credentials.password);
    },
  );
});
