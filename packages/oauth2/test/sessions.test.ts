/**
 * Sessions on a real authorization server (oidc-provider): refresh with rotation, single flight
 * over a herd, no refresh token presented twice, revocation at logout, client credentials,
 * private_key_jwt, and what each OAuth error means.
 */
import { AuthError, TokenKeeper, type TokenKeeperOptions } from '@tokenkeeper/auth-core';
import { type OAuth2Credentials, type OAuth2Options, oauth2 } from '@tokenkeeper/oauth2';
import { connect, passwordOf, SECRET, startProvider, type TestProvider } from '@tokenkeeper/oauth2/testing';
import { createManualClock, type ManualClock } from '@tokenkeeper/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const LIFETIME_S = 60;
let provider: TestProvider;
let clock: ManualClock;
const keepers: TokenKeeper<any>[] = [];

beforeEach(async () => {
  provider = await startProvider({ accessTokenTtl: LIFETIME_S });
  clock = createManualClock();
});
afterEach(async () => {
  await Promise.all(keepers.splice(0).map((keeper) => keeper.close()));
  await provider.close();
});

function setup(client: Partial<OAuth2Options> = {}, keeperOptions: Partial<TokenKeeperOptions<OAuth2Credentials>> = {}) {
  const protocol = oauth2(
    { issuer: provider.issuer },
    { baseUrl: provider.api, clientId: 'basic-client', clientSecret: SECRET, scope: 'openid offline_access incidents', ...client },
  );
  const keeper = new TokenKeeper<OAuth2Credentials>({ protocol, clock, ...keeperOptions });
  keepers.push(keeper);
  return { protocol, keeper };
}

async function active(keeper: TokenKeeper<OAuth2Credentials>, key: string): Promise<boolean> {
  const token = await keeper.session(key).token();
  const response = await fetch(`${provider.api}/me`, { headers: { authorization: `Bearer ${token}` } });
  return response.status === 200;
}

describe('a connected session on oidc-provider', () => {
  it('refreshes an expired token with the rotating refresh token, and the new token works', async () => {
    const { protocol, keeper } = setup();
    await connect(keeper, protocol, 'ada');
    const first = await keeper.session('ada').token();

    await clock.advance(LIFETIME_S * 1000);
    const answer = await keeper.session('ada').fetch('/me');

    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ sub: 'ada' });
    expect(await keeper.session('ada').token()).not.toBe(first);
    expect(provider.tokenCalls).toEqual({ authorization_code: 1, refresh_token: 1 });
  });

  it('1,000 concurrent calls on an expired session make 1 token-endpoint call, and all succeed', async () => {
    const { protocol, keeper } = setup();
    await connect(keeper, protocol, 'ada');
    await clock.advance(LIFETIME_S * 1000);

    const answers = await Promise.all(Array.from({ length: 1000 }, () => keeper.session('ada').fetch('/me')));

    expect(answers.map((answer) => answer.status)).toEqual(Array(1000).fill(200));
    await Promise.all(answers.map((answer) => answer.body?.cancel()));
    expect(provider.tokenCalls).toEqual({ authorization_code: 1, refresh_token: 1 });
    expect(provider.apiRejections).toBe(0);
  });

  it('presents no refresh token twice over 5 lifetimes of steady traffic: the provider revokes 0 grants', async () => {
    const { protocol, keeper } = setup();
    await connect(keeper, protocol, 'ada');
    let failures = 0;
    for (let second = 0; second < 5 * LIFETIME_S; second += 5) {
      const answers = await Promise.all(Array.from({ length: 10 }, () => keeper.session('ada').fetch('/me')));
      failures += answers.filter((answer) => answer.status !== 200).length;
      await Promise.all(answers.map((answer) => answer.body?.cancel()));
      await clock.advance(5000);
    }
    await keeper.settled();

    expect(failures).toBe(0);
    expect(provider.revokedGrants).toBe(0);
    // Renewal starts a quarter of the lifetime before expiry: one refresh per 45 s of the 300.
    expect(provider.tokenCalls.refresh_token).toBeGreaterThanOrEqual(6);
    expect(provider.tokenCalls.refresh_token).toBeLessThanOrEqual(7);
    expect(await active(keeper, 'ada')).toBe(true);
  });

  it('when a refresh answer is lost, never presents that refresh token again: the session ends, and the provider revokes nothing', async () => {
    let dropTokenAnswers = false;
    const lossy: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (dropTokenAnswers && String(input).endsWith('/token')) {
        await response.body?.cancel();
        throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) });
      }
      return response;
    };
    const { protocol, keeper } = setup({}, { fetch: lossy });
    await connect(keeper, protocol, 'ada');
    await clock.advance(LIFETIME_S * 1000);
    dropTokenAnswers = true;

    const lost = await keeper
      .session('ada')
      .token()
      .catch((error: unknown) => error);
    dropTokenAnswers = false;
    const after = await keeper
      .session('ada')
      .token()
      .catch((error: unknown) => error);

    expect(lost).toBeInstanceOf(AuthError);
    expect((lost as AuthError).code).toBe('UPSTREAM_UNAVAILABLE');
    expect((lost as AuthError).message).toBe('upstream refresh failed: ECONNRESET');
    expect(after).toBeInstanceOf(AuthError);
    expect((after as AuthError).code).toBe('SESSION_EXPIRED');
    expect(provider.tokenCalls.refresh_token).toBe(1);
    expect(provider.revokedGrants).toBe(0);
  });

  it('logout revokes the grant: the provider no longer accepts the access token', async () => {
    const { protocol, keeper } = setup();
    await connect(keeper, protocol, 'ada');
    const token = await keeper.session('ada').token();

    await keeper.session('ada').logout();

    const answer = await fetch(`${provider.api}/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(answer.status).toBe(401);
    expect((await keeper.state('ada')).status).toBe('none');
  });

  it('a refresh the provider refuses (invalid_grant: the grant was revoked elsewhere) ends the session with SESSION_EXPIRED', async () => {
    const { protocol, keeper } = setup();
    await connect(keeper, protocol, 'ada');
    const token = await keeper.session('ada').token();
    const grantId = (await provider.provider.AccessToken.find(token))!.grantId!;
    await (await provider.provider.Grant.find(grantId))!.destroy();
    await clock.advance(LIFETIME_S * 1000);

    const error = await keeper
      .session('ada')
      .token()
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe('SESSION_EXPIRED');
    expect((error as AuthError).message).toBe('the session has expired: log in again');
    expect((await keeper.state('ada')).status).toBe('ended');
  });

  it('an API 401 with error="invalid_token" refreshes once and retries; a 403 insufficient_scope is handed back without a refresh', async () => {
    const { protocol, keeper } = setup({ scope: 'openid offline_access' });
    await connect(keeper, protocol, 'ada');
    const token = await keeper.session('ada').token();
    await (await provider.provider.AccessToken.find(token))!.destroy();

    const revived = await keeper.session('ada').fetch('/me');
    const forbidden = await keeper.session('ada').fetch('/incidents');

    expect(revived.status).toBe(200);
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('www-authenticate')).toContain('insufficient_scope');
    expect(provider.tokenCalls).toEqual({ authorization_code: 1, refresh_token: 1 });
  });

  it("plans the token's expiry a second early: the provider counts expires_in from a whole second of its clock", async () => {
    const { protocol, keeper } = setup();
    const sentAt = clock.now();

    const state = await connect(keeper, protocol, 'ada');

    expect(state.expiresAt).toBe(sentAt + LIFETIME_S * 1000 - 1000);
  });

  it('shows the ID token claims on state(), never a token', async () => {
    const { protocol, keeper } = setup();
    const state = await connect(keeper, protocol, 'grace', 'grace');

    expect(state.claims).toMatchObject({ sub: 'grace', iss: provider.issuer, aud: 'basic-client' });
    const token = await keeper.session('grace').token();
    expect(JSON.stringify(state)).not.toContain(token);
  });

  it('keeps the claims across a refresh that brings no new ID token', async () => {
    const { protocol, keeper } = setup();
    await connect(keeper, protocol, 'ada');
    await clock.advance(LIFETIME_S * 1000);
    await keeper.session('ada').token();

    expect((await keeper.state('ada')).claims).toMatchObject({ sub: 'ada' });
  });

  it('authenticates with private_key_jwt', async () => {
    const { protocol, keeper } = setup({ clientId: 'jwt-client', clientSecret: undefined, privateKey: provider.clientKey });
    await connect(keeper, protocol, 'ada');
    await clock.advance(LIFETIME_S * 1000);

    expect(await active(keeper, 'ada')).toBe(true);
    expect(provider.tokenCalls).toEqual({ authorization_code: 1, refresh_token: 1 });
  });
});

describe('a client credentials service session on oidc-provider', () => {
  it('logs in with no user, is renewed by a new grant before it expires, and never ends', async () => {
    const { keeper } = setup({ clientId: 'service-client', grant: 'client_credentials', scope: 'incidents' }, { keepAlive: true });
    await keeper.login('reports', {}, { service: true });
    const first = await keeper.session('reports').token();

    for (let lifetime = 0; lifetime < 3; lifetime++) await clock.advance(LIFETIME_S * 1000);
    await keeper.settled();

    const answer = await keeper.session('reports').fetch('/incidents');
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ clientId: 'service-client', scope: 'incidents' });
    expect(await keeper.session('reports').token()).not.toBe(first);
    expect(provider.tokenCalls.client_credentials).toBeGreaterThanOrEqual(4);
    expect(provider.apiRejections).toBe(0);
  });

  it('a wrong client secret is CLIENT_MISCONFIGURED with a message that names what to check', async () => {
    const { keeper } = setup({ clientId: 'service-client', clientSecret: 'wrong-secret-wrong-secret-wrong', grant: 'client_credentials' });

    const error = await keeper.login('reports', {}, { service: true }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe('CLIENT_MISCONFIGURED');
    expect((error as AuthError).status).toBe(500);
    expect((error as AuthError).message).toBe(
      'the authorization server refuses this client (invalid_client): check clientId, the client secret or key, clientAuth and scope',
    );
    expect(JSON.stringify(error)).not.toContain('wrong-secret');
  });

  it('refuses credentials given to a client credentials session', async () => {
    const { keeper } = setup({ clientId: 'service-client', grant: 'client_credentials' });

    const error = await keeper.login('reports', { username: 'ada' } as never).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe('INVALID_CREDENTIALS');
    expect((error as AuthError).message).toBe('a client credentials session takes no credentials: login({})');
  });
});

describe('the password grant (legacy, only with passwordGrant: true)', () => {
  const options = { clientId: 'password-client', passwordGrant: true, scope: 'offline_access' } as const;

  it('logs in with a username and password, then refreshes with the rotating refresh token', async () => {
    const { keeper } = setup(options);
    await keeper.login('grace', { username: 'grace', password: passwordOf('grace') });
    await clock.advance(LIFETIME_S * 1000);

    expect(await active(keeper, 'grace')).toBe(true);
    expect(provider.tokenCalls).toEqual({ password: 1, refresh_token: 1 });
  });

  it('a wrong password is INVALID_CREDENTIALS, and the password is in no message', async () => {
    const { keeper } = setup(options);

    const error = await keeper.login('grace', { username: 'grace', password: 'not-her-password-99' }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe('INVALID_CREDENTIALS');
    expect((error as AuthError).message).toBe('the authorization server refused the username or password (invalid_grant)');
    expect(JSON.stringify(error)).not.toContain('not-her-password-99');
  });
});

describe('login input', () => {
  it.each([
    [{}, 'credentials must be { code, codeVerifier, redirectUri } from the connect flow'],
    [
      { code: 'abc', codeVerifier: 'short', redirectUri: 'http://127.0.0.1/callback' },
      'credentials.codeVerifier is not an RFC 7636 code verifier',
    ],
    [{ code: '', codeVerifier: 'a'.repeat(43), redirectUri: 'x' }, 'credentials.code must be a non-empty string'],
    [{ username: 'ada', password: 'pw' }, 'the password grant is off for this upstream (set passwordGrant: true to allow it)'],
  ])('refuses %j before any request: INVALID_CREDENTIALS', async (credentials, message) => {
    const { keeper } = setup();

    const error = await keeper.login('ada', credentials as never).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe('INVALID_CREDENTIALS');
    expect((error as AuthError).message).toBe(message);
    expect(provider.tokenCalls).toEqual({});
  });

  it('a wrong authorization code is INVALID_CREDENTIALS (invalid_grant), and nothing is stored', async () => {
    const { keeper } = setup();

    const error = await keeper
      .login('ada', {
        code: 'not-a-real-code',
        codeVerifier: 'a'.repeat(43),
        redirectUri: 'http://127.0.0.1/callback',
        iss: provider.issuer,
      })
      .catch((caught: unknown) => caught);

    expect((error as AuthError).code).toBe('INVALID_CREDENTIALS');
    expect((error as AuthError).message).toBe(
      'the authorization server refused the authorization code (invalid_grant): it is wrong, expired or already used',
    );
    expect((await keeper.state('ada')).status).toBe('none');
  });

  it('a code without the iss this server sends with every callback (RFC 9207) is INVALID_CREDENTIALS before any request', async () => {
    const { keeper } = setup();

    const error = await keeper
      .login('ada', { code: 'a-code', codeVerifier: 'a'.repeat(43), redirectUri: 'http://127.0.0.1/callback' })
      .catch((caught: unknown) => caught);

    expect((error as AuthError).code).toBe('INVALID_CREDENTIALS');
    expect((error as AuthError).message).toMatch(/^the callback's parameters are not valid: .*"iss"/);
    expect(provider.tokenCalls).toEqual({});
  });
});
