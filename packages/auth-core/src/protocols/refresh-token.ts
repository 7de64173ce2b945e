import { AuthError } from '../errors.js';
import { describeAnswer, type UpstreamClient, type UpstreamResponse } from '../http.js';
import { checkToken, expiryFrom, type TokenSet } from '../tokens.js';
import { credentialInteger, credentialObject, credentialString, endpoint, parseJsonAnswer, refuseUnknownFields } from './answers.js';
import { defineProtocol } from './define.js';
import type { Protocol, UpstreamAnswer } from './protocol.js';

/** Credentials for the rotating refresh-token upstream. */
export interface RefreshTokenCredentials {
  username: string;
  password: string;
  /** Binds the session to one of the user's accounts. `account_id`, the vendor's own name, is accepted too. */
  accountId?: number;
}

/** What refreshToken credentials may hold; anything else is refused rather than dropped. */
const CREDENTIAL_FIELDS = ['username', 'password', 'accountId', 'account_id'] as const;

/** The account id under either name (`accountId`, or the wire's `account_id`); both must agree. */
function accountIdOf(credentials: Record<string, unknown>): number | undefined {
  const camel = credentialInteger(credentials, 'accountId');
  const wire = credentialInteger(credentials, 'account_id');
  if (camel !== undefined && wire !== undefined && camel !== wire) {
    throw new AuthError('INVALID_CREDENTIALS', 'credentials.accountId and credentials.account_id name different accounts');
  }
  return camel ?? wire;
}

/** Options of the {@link refreshToken} preset; only `baseUrl` is required. */
export interface RefreshTokenOptions {
  /** Absolute base URL of the upstream API. */
  baseUrl: string | URL;
  /** Default `'/auth/login'`. */
  loginPath?: string;
  /** Default `'/auth/refresh'`. */
  refreshPath?: string;
  /** Response field names; defaults are the vendor's (`token`, `tokenLifetime`, `tokenExpiration`, `refreshToken`, `refreshTokenExpiration`). */
  fields?: Partial<RefreshTokenFields>;
  /** Request field that carries the refresh token. Default `'refresh_token'`. */
  refreshRequestField?: string;
  /** Used when the answer states no lifetime and no expiration. Default 3600 s. */
  defaultLifetimeMs?: number;
  /** Login statuses meaning wrong credentials. Default `[401]`. */
  invalidCredentialsStatuses?: readonly number[];
  /** Login statuses meaning the credentials are right but the login is not allowed, e.g. "No access to account" for an `accountId` the user may not use (`ACCESS_DENIED`). Default `[403]`. */
  accessDeniedStatuses?: readonly number[];
  /**
   * The account switch behind `session.switchAccount(id)` ("masquerade"): `POST path` with the
   * still-valid bearer and JSON `{ [accountField]: id }`, answered like a login (a new token pair
   * bound to that account); `accessDeniedStatuses` mean the user may not use it. `false` for an
   * upstream without one. Default `{ path: '/auth/masquerade', accountField: 'account_id' }`.
   */
  masquerade?: false | { path?: string; accountField?: string };
  /** API statuses meaning "expired token". Default `[401, 403]`. */
  expirySignal?: readonly number[] | ((answer: UpstreamAnswer) => boolean);
  /** Header that carries the token (the seed says `Authentication`, a doc typo). Default `'authorization'`. */
  header?: string;
}

export interface RefreshTokenFields {
  token: string;
  tokenLifetime: string;
  tokenExpiration: string;
  refreshToken: string;
  refreshTokenExpiration: string;
}

const DEFAULT_FIELDS: RefreshTokenFields = {
  token: 'token',
  tokenLifetime: 'tokenLifetime',
  tokenExpiration: 'tokenExpiration',
  refreshToken: 'refreshToken',
  refreshTokenExpiration: 'refreshTokenExpiration',
};

/**
 * The rotating refresh-token upstream: log in with username and password (and optionally `account_id`); expiry is local
 * time + `tokenLifetime`; 401 and 403 both mean expired; the refresh token rotates on every
 * refresh and an old one is refused, so every refresh stores what comes back.
 *
 * @example
 * const keeper = new TokenKeeper({ protocol: refreshToken({ baseUrl: 'https://api.teletracker.example' }) });
 * await keeper.session('user-1').login({ username: 'ada', password, accountId: 100 });
 */
export function refreshToken(options: RefreshTokenOptions): Protocol<RefreshTokenCredentials> {
  const fields = { ...DEFAULT_FIELDS, ...options.fields };
  const defaultLifetimeMs = options.defaultLifetimeMs ?? 3_600_000;
  if (!(defaultLifetimeMs > 0)) throw new TypeError('refreshToken: defaultLifetimeMs must be a positive number');
  const base = new URL(options.baseUrl).href;
  const loginUrl = endpoint(base, options.loginPath ?? '/auth/login');
  const refreshUrl = endpoint(base, options.refreshPath ?? '/auth/refresh');
  const refreshRequestField = options.refreshRequestField ?? 'refresh_token';
  const loginMeaning = {
    invalidCredentials: options.invalidCredentialsStatuses ?? [401],
    accessDenied: options.accessDeniedStatuses ?? [403],
  };

  const masquerade = options.masquerade ?? {};
  if (masquerade !== false && (typeof masquerade !== 'object' || masquerade === null)) {
    throw new TypeError('refreshToken: masquerade must be false or { path, accountField }');
  }
  const masqueradeUrl = masquerade === false ? undefined : endpoint(base, masquerade.path ?? '/auth/masquerade');
  const accountField = (masquerade !== false && masquerade.accountField) || 'account_id';
  const header = options.header ?? 'authorization';

  const tokenSet = (response: UpstreamResponse, body: Record<string, unknown>, operation: 'login' | 'refresh' | 'switch'): TokenSet => {
    const details = describeAnswer(operation, response);
    const accessToken = checkToken(body[fields.token], fields.token, details);
    const refresh = checkToken(body[fields.refreshToken], fields.refreshToken, details);
    const expiresAt =
      expiryFrom({ lifetimeSeconds: body[fields.tokenLifetime], isoDate: body[fields.tokenExpiration] }, response, fields.token, details) ??
      response.sentAt + defaultLifetimeMs;
    const refreshExpiresAt = expiryFrom({ isoDate: body[fields.refreshTokenExpiration] }, response, fields.refreshToken, details);
    return { accessToken, issuedAt: response.sentAt, expiresAt, refreshToken: refresh, refreshExpiresAt };
  };

  const post = (body: Record<string, unknown>, headers: Record<string, string> = {}) => ({
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify(body),
  });

  return defineProtocol<RefreshTokenCredentials>({
    name: 'refreshToken',
    baseUrl: base,
    header,
    rotatesRefreshTokens: true,
    expirySignal: options.expirySignal ?? [401, 403],
    checkCredentials(credentials) {
      const object = credentialObject(credentials);
      refuseUnknownFields(object, CREDENTIAL_FIELDS);
      const accountId = accountIdOf(object);
      return {
        username: credentialString(object, 'username'),
        password: credentialString(object, 'password'),
        ...(accountId !== undefined && { accountId }),
      };
    },
    async login({ username, password, accountId }, client) {
      const body = accountId === undefined ? { username, password } : { username, password, account_id: accountId };
      const response = await client.send('login', loginUrl, post(body));
      return tokenSet(response, parseJsonAnswer('login', response, loginMeaning), 'login');
    },
    async refresh(tokens, client) {
      const response = await client.send('refresh', refreshUrl, post({ [refreshRequestField]: tokens.refreshToken }));
      return tokenSet(response, parseJsonAnswer('refresh', response, { refused: 'any-4xx' }), 'refresh');
    },
    ...(masqueradeUrl !== undefined && {
      async switchAccount(tokens: TokenSet, accountId: number, client: UpstreamClient) {
        const response = await client.send(
          'switch',
          masqueradeUrl,
          post({ [accountField]: accountId }, { [header]: `Bearer ${tokens.accessToken}` }),
        );
        return tokenSet(response, parseJsonAnswer('switch', response, { accessDenied: loginMeaning.accessDenied }), 'switch');
      },
      withAccount: (credentials: RefreshTokenCredentials, accountId: number) => ({ ...credentials, accountId }),
    }),
  });
}
