import type { UpstreamClient } from '../http.js';
import type { TokenSet } from '../tokens.js';
import type { Protocol, UpstreamAnswer } from './protocol.js';

/** What {@link defineProtocol} needs; everything but `name`, `baseUrl` and `login` has a default. */
export interface ProtocolDefinition<Credentials> {
  name: string;
  /** Absolute base URL of the upstream API. */
  baseUrl: string | URL;
  login(credentials: Credentials, client: UpstreamClient): Promise<TokenSet>;
  /** Renew or refresh; throw `AuthError('SESSION_EXPIRED', …)` when the upstream refuses. Without it, sessions end (or log in again) at expiry. */
  refresh?(tokens: TokenSet, client: UpstreamClient): Promise<TokenSet>;
  /** Default: `refresh` exists and the refresh token, if it has a known expiry, has not expired. */
  canRefresh?(tokens: TokenSet, now: number): boolean;
  logout?(tokens: TokenSet, client: UpstreamClient): Promise<void>;
  /** See {@link Protocol.switchAccount}. Default: none (`session.switchAccount` is a TypeError). */
  switchAccount?(tokens: TokenSet, accountId: number, client: UpstreamClient): Promise<TokenSet>;
  /** See {@link Protocol.withAccount}. Default: none (a re-login after a switch binds what the credentials name). */
  withAccount?(credentials: Credentials, accountId: number): Credentials;
  verifyCredentials?(credentials: Credentials, client: UpstreamClient): Promise<boolean>;
  /** Validate credentials before any I/O (throw `AuthError('INVALID_CREDENTIALS', …)`). Default: accept as given. */
  checkCredentials?(credentials: unknown): Credentials;
  /** Default `false`. See {@link Protocol.rotatesRefreshTokens}. */
  rotatesRefreshTokens?: boolean;
  /** Header that carries the token. Default `'authorization'`. */
  header?: string;
  /** Scheme before the token; `''` for none. Default `'Bearer'`. */
  scheme?: string;
  /** Statuses that mean "expired token" on API calls, or a classifier (it may read `WWW-Authenticate`). Default `[401]`. */
  expirySignal?: readonly number[] | ((answer: UpstreamAnswer) => boolean);
}

/**
 * Describes any bearer-token upstream the presets do not cover.
 *
 * @example
 * const acme = defineProtocol<{ apiKey: string }>({
 *   name: 'acme',
 *   baseUrl: 'https://api.acme.test',
 *   async login({ apiKey }, client) {
 *     const answer = await client.send('login', 'https://api.acme.test/token', {
 *       method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey }),
 *     });
 *     const body = parseJsonAnswer('login', answer, { invalidCredentials: [401] });
 *     return { accessToken: checkToken(body.jwt, 'jwt', { operation: 'login' }), issuedAt: answer.sentAt, expiresAt: answer.sentAt + 600_000 };
 *   },
 * });
 */
export function defineProtocol<Credentials>(definition: ProtocolDefinition<Credentials>): Protocol<Credentials> {
  const base = new URL(definition.baseUrl);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new TypeError(`baseUrl must be an http(s) URL, got ${base.protocol}`);
  }
  const header = (definition.header ?? 'authorization').toLowerCase();
  const prefix = definition.scheme === '' ? '' : `${definition.scheme ?? 'Bearer'} `;
  const signal = definition.expirySignal ?? [401];
  const isExpirySignal = typeof signal === 'function' ? signal : (answer: UpstreamAnswer) => signal.includes(answer.status);
  const refresh = definition.refresh;
  const baseUrl = base.href.endsWith('/') ? base.href : `${base.href}/`;

  return {
    name: definition.name,
    baseUrl,
    origin: base.origin,
    rotatesRefreshTokens: definition.rotatesRefreshTokens ?? false,
    checkCredentials: definition.checkCredentials ?? ((credentials) => credentials as Credentials),
    login: definition.login,
    canRefresh:
      definition.canRefresh ??
      ((tokens, now) => refresh !== undefined && (tokens.refreshExpiresAt === undefined || now < tokens.refreshExpiresAt)),
    refresh: refresh ?? (() => Promise.reject(new Error(`protocol ${definition.name} cannot refresh`))),
    logout: definition.logout ?? (async () => {}),
    ...(definition.verifyCredentials && { verifyCredentials: definition.verifyCredentials }),
    ...(definition.switchAccount && { switchAccount: definition.switchAccount }),
    ...(definition.withAccount && { withAccount: definition.withAccount }),
    header,
    authorize(headers, accessToken) {
      headers.set(header, prefix + accessToken);
    },
    isExpirySignal,
  };
}
