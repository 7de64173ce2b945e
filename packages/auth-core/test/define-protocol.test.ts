import { describe, expect, expectTypeOf, it } from 'vitest';
import { AuthError, basicAuth, checkToken, defineProtocol, type Protocol, parseJsonAnswer, TokenKeeper } from '../src/index.js';
import { rejection, setup } from './harness.js';

describe('defineProtocol', () => {
  it('describes another upstream: a custom login, refresh and expiry classifier work end to end', async () => {
    // The fake seed 001 upstream, described from scratch as if it were some other vendor's API.
    const { upstream, clock } = await setup('refreshToken');
    const classified: number[] = [];
    const custom = defineProtocol<{ user: string; secret: string }>({
      name: 'custom',
      baseUrl: upstream.url,
      rotatesRefreshTokens: true,
      async login({ user, secret }, client) {
        const answer = await client.send('login', `${upstream.url}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ username: user, password: secret }).toString(),
        });
        const body = parseJsonAnswer('login', answer, { invalidCredentials: [401] });
        return {
          accessToken: checkToken(body.token, 'token', { operation: 'login' }),
          refreshToken: checkToken(body.refreshToken, 'refreshToken', { operation: 'login' }),
          issuedAt: answer.sentAt,
          expiresAt: answer.sentAt + 60_000, // this vendor's tokens: assume one minute
        };
      },
      async refresh(tokens, client) {
        const answer = await client.send('refresh', `${upstream.url}/auth/refresh`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ refresh_token: tokens.refreshToken }),
        });
        const body = parseJsonAnswer('refresh', answer, { refused: 'any-4xx' });
        return {
          accessToken: checkToken(body.token, 'token', { operation: 'refresh' }),
          refreshToken: checkToken(body.refreshToken, 'refreshToken', { operation: 'refresh' }),
          issuedAt: answer.sentAt,
          expiresAt: answer.sentAt + 60_000,
        };
      },
      expirySignal: (answer) => {
        classified.push(answer.status);
        return answer.status === 401;
      },
    });
    const keeper = new TokenKeeper({ protocol: custom, clock, keepAlive: false });
    try {
      const session = keeper.session('ada');
      await session.login({ user: 'ada', secret: 'ada-password-1' });
      upstream.faults.next('api', 'expired');
      expect((await session.fetch('/whoami')).status).toBe(200);
      expect(classified).toEqual([401]); // the retry's answer is returned as it is, never classified again
      expect(upstream.stats.refreshes).toBe(1);
      await clock.advance(61_000);
      expect((await session.fetch('/whoami')).status).toBe(200);
      expect(upstream.stats.refreshes).toBe(2);
      const error = await rejection(() => keeper.session('x').login({ user: 'ada', secret: 'wrong' }));
      expect(error).toBeInstanceOf(AuthError);
      expect(error).toMatchObject({ code: 'INVALID_CREDENTIALS' });
    } finally {
      await keeper.close();
    }
  });

  it('sends the token under the header and scheme it is given', async () => {
    const { upstream } = await setup('refreshToken');
    const custom = defineProtocol<{ token: string }>({
      name: 'static',
      baseUrl: upstream.url,
      header: 'X-Api-Key',
      scheme: '',
      login: async ({ token }, client) => ({ accessToken: token, issuedAt: client.now(), expiresAt: client.now() + 60_000 }),
    });
    const keeper = new TokenKeeper({ protocol: custom, keepAlive: false });
    try {
      await keeper.session('k').login({ token: 'static-key-123' });
      await keeper.session('k').fetch('/public');
      expect(upstream.requests.at(-1)!.headers['x-api-key']).toBe('static-key-123');
    } finally {
      await keeper.close();
    }
  });
});

describe('protocol types', () => {
  it('lets a protocol with specific credentials be used where any protocol is accepted', () => {
    expectTypeOf(basicAuth({ baseUrl: 'http://127.0.0.1:9' })).toExtend<Protocol<unknown>>();
  });
});

describe('verifyCredentials (seed 002 GET /auth/test)', () => {
  it('answers true for good credentials and false for bad ones, without starting a session', async () => {
    const { keeper, upstream } = await setup('basicAuth');
    expect(await keeper.verifyCredentials({ username: 'ada', password: 'ada-password-1' })).toBe(true);
    expect(await keeper.verifyCredentials({ username: 'ada', password: 'nope' })).toBe(false);
    expect(upstream.stats.logins).toBe(0);
  });
});
