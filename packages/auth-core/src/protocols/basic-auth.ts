import { AuthError } from '../errors.js';
import { describeAnswer, type UpstreamResponse } from '../http.js';
import { checkToken, expiryFrom, type TokenSet } from '../tokens.js';
import { credentialObject, credentialString, endpoint, expectSuccess, parseJsonAnswer } from './answers.js';
import { defineProtocol } from './define.js';
import type { Protocol, UpstreamAnswer } from './protocol.js';

/** Credentials for the HTTP Basic + refresh upstream. */
export interface BasicAuthCredentials {
  username: string;
  password: string;
}

/** Options of the {@link basicAuth} preset; only `baseUrl` is required. */
export interface BasicAuthOptions {
  /** Absolute base URL of the upstream API (the real paths are at the root). */
  baseUrl: string | URL;
  /** Default `'/auth'` (GET with Basic). */
  loginPath?: string;
  /** Default `'/auth/test'` (GET with Basic). */
  testPath?: string;
  /** Default `'/auth/token'` (POST, bearer + `{refresh_token}`). */
  refreshPath?: string;
  /** Default `'/auth/logout'` (POST, like a refresh). */
  logoutPath?: string;
  /** Used when the answer has no `expires_at`. Default 5 minutes (the current product's lifetime). */
  defaultLifetimeMs?: number;
  /** API statuses meaning "expired token". Default `[401]`. */
  expirySignal?: readonly number[] | ((answer: UpstreamAnswer) => boolean);
}

/**
 * The HTTP Basic + refresh upstream (Sensu Go's API): log in with HTTP Basic; refresh with the (possibly expired) access token as bearer
 * and `{refresh_token}`. The refresh token rotates and a reused one makes the upstream delete
 * the whole session, which is why refreshes of one session must never overlap.
 *
 * @example
 * const keeper = new TokenKeeper({ protocol: basicAuth({ baseUrl: 'http://sensu.example:8080' }) });
 * await keeper.session('ops').login({ username: 'admin', password });
 */
export function basicAuth(options: BasicAuthOptions): Protocol<BasicAuthCredentials> {
  const base = new URL(options.baseUrl).href;
  const loginUrl = endpoint(base, options.loginPath ?? '/auth');
  const testUrl = endpoint(base, options.testPath ?? '/auth/test');
  const refreshUrl = endpoint(base, options.refreshPath ?? '/auth/token');
  const logoutUrl = endpoint(base, options.logoutPath ?? '/auth/logout');
  const defaultLifetimeMs = options.defaultLifetimeMs ?? 5 * 60_000;
  if (!(defaultLifetimeMs > 0)) throw new TypeError('basicAuth: defaultLifetimeMs must be a positive number');

  const basic = ({ username, password }: BasicAuthCredentials) => ({
    authorization: `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`,
  });
  const withRefreshToken = (tokens: TokenSet): RequestInit => ({
    method: 'POST',
    headers: { authorization: `Bearer ${tokens.accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ refresh_token: tokens.refreshToken }),
  });
  const tokenSet = (response: UpstreamResponse, body: Record<string, unknown>, operation: 'login' | 'refresh'): TokenSet => {
    const details = describeAnswer(operation, response);
    return {
      accessToken: checkToken(body.access_token, 'access_token', details),
      refreshToken: checkToken(body.refresh_token, 'refresh_token', details),
      issuedAt: response.sentAt,
      expiresAt: expiryFrom({ epochSeconds: body.expires_at }, response, 'expires_at', details) ?? response.sentAt + defaultLifetimeMs,
    };
  };

  return defineProtocol<BasicAuthCredentials>({
    name: 'basicAuth',
    baseUrl: base,
    rotatesRefreshTokens: true,
    expirySignal: options.expirySignal ?? [401],
    checkCredentials(credentials) {
      const object = credentialObject(credentials);
      const username = credentialString(object, 'username');
      // RFC 7617: a user-id containing a colon cannot be sent with Basic.
      if (username.includes(':')) throw new AuthError('INVALID_CREDENTIALS', 'credentials.username must not contain ":"');
      return { username, password: credentialString(object, 'password') };
    },
    async login(credentials, client) {
      const response = await client.send('login', loginUrl, { method: 'GET', headers: basic(credentials) });
      return tokenSet(response, parseJsonAnswer('login', response, { invalidCredentials: [401] }), 'login');
    },
    // The access token may have expired: only the refresh token's own lifetime (sliding, unknown) matters.
    canRefresh: (tokens) => tokens.refreshToken !== undefined,
    async refresh(tokens, client) {
      const response = await client.send('refresh', refreshUrl, withRefreshToken(tokens));
      // 400 "invalid access token" means the upstream deleted the session (a reused refresh token).
      return tokenSet(response, parseJsonAnswer('refresh', response, { refused: 'any-4xx' }), 'refresh');
    },
    async logout(tokens, client) {
      const response = await client.send('logout', logoutUrl, withRefreshToken(tokens));
      // An already-ended session upstream is as logged out as it gets.
      if (response.status === 401) return;
      expectSuccess('logout', response, {});
    },
    async verifyCredentials(credentials, client) {
      const response = await client.send('verify', testUrl, { method: 'GET', headers: basic(credentials) });
      if (response.status === 401) return false;
      expectSuccess('verify', response, {});
      return true;
    },
  });
}
