import type { UpstreamClient, UpstreamResponse } from '../http.js';
import { describeAnswer } from '../http.js';
import { checkToken, type TokenSet } from '../tokens.js';
import { credentialInteger, credentialObject, credentialString, endpoint, textOrJsonAnswer } from './answers.js';
import { defineProtocol } from './define.js';
import type { SessionRenewCredentials, SessionRenewLoginStep } from './login-step.js';
import type { Protocol, UpstreamAnswer } from './protocol.js';

export type { SessionRenewCredentials };

/** Options of the {@link sessionRenew} preset; only `baseUrl` is required. */
export interface SessionRenewOptions {
  /** Absolute base URL of the upstream API. */
  baseUrl: string | URL;
  /** Login path (POST). Default `'/user/authenticate'`. */
  loginPath?: string;
  /** Renew path (GET with the still-valid bearer). Default `'/user/authenticate'`. */
  renewPath?: string;
  /** JSON field that holds the token; a `text/plain` body holding only the token is accepted too. Default `'token'`. */
  tokenField?: string;
  /** How long a token lives; the upstream does not say. Default 15 minutes. */
  lifetimeMs?: number;
  /** Login statuses meaning wrong credentials. Default `[401]`. */
  invalidCredentialsStatuses?: readonly number[];
  /** Login statuses meaning no active org membership. Default `[404]`. */
  noMembershipStatuses?: readonly number[];
  /** API statuses meaning "expired token"; a second one after a renew is a permission answer. Default `[403]`. */
  expirySignal?: readonly number[] | ((answer: UpstreamAnswer) => boolean);
  /** Header that carries the token. Default `'authorization'`. */
  header?: string;
  /**
   * How a login is made: for users behind SSO, `ssoFormLogin({ idpOrigins })` (the form-post
   * shape of ADFS and Azure AD), or a step of your own for another identity provider. Renewal,
   * the 403 handling, keep-alive and re-login stay the preset's. Default: the password login,
   * `POST loginPath` with JSON `{ email, password, selectedOrg }`.
   */
  loginStep?: SessionRenewLoginStep;
}

/**
 * The session-renew upstream: log in with email, password and org; renew with the still-valid bearer before the
 * 15-minute token expires; once expired, only a new login helps. 403 on API calls is the expiry
 * signal (and also "not permitted": a 403 after one renew-and-retry goes back to the caller).
 *
 * @example
 * const keeper = new TokenKeeper({ protocol: sessionRenew({ baseUrl: 'https://core.example' }) });
 * await keeper.session('user-1').login({ email: 'ada@example.test', password, selectedOrg: 7 });
 */
export function sessionRenew(options: SessionRenewOptions): Protocol<SessionRenewCredentials> {
  const lifetimeMs = options.lifetimeMs ?? 15 * 60_000;
  if (!(lifetimeMs > 0)) throw new TypeError('sessionRenew: lifetimeMs must be a positive number');
  const tokenField = options.tokenField ?? 'token';
  const header = options.header ?? 'authorization';
  const base = new URL(options.baseUrl).href;
  const loginUrl = endpoint(base, options.loginPath ?? '/user/authenticate');
  const renewUrl = endpoint(base, options.renewPath ?? '/user/authenticate');
  const origin = new URL(base).origin;
  const loginStep = options.loginStep;
  if (loginStep !== undefined && typeof loginStep !== 'function') {
    throw new TypeError('sessionRenew: loginStep must be a function (for example ssoFormLogin({ idpOrigins }))');
  }
  const meaning = {
    invalidCredentials: options.invalidCredentialsStatuses ?? [401],
    noMembership: options.noMembershipStatuses ?? [404],
  };

  const tokenSet = (response: UpstreamResponse, body: Record<string, unknown> | string, operation: 'login' | 'refresh'): TokenSet => {
    const raw = typeof body === 'string' ? body : body[tokenField];
    const accessToken = checkToken(raw, tokenField, describeAnswer(operation, response));
    return { accessToken, issuedAt: response.sentAt, expiresAt: response.sentAt + lifetimeMs };
  };

  return defineProtocol<SessionRenewCredentials>({
    name: 'sessionRenew',
    baseUrl: base,
    header,
    expirySignal: options.expirySignal ?? [403],
    checkCredentials(credentials) {
      const object = credentialObject(credentials);
      const selectedOrg = credentialInteger(object, 'selectedOrg');
      return {
        email: credentialString(object, 'email'),
        password: credentialString(object, 'password'),
        ...(selectedOrg !== undefined && { selectedOrg }),
      };
    },
    async login(credentials, client) {
      const passwordLogin = () =>
        client.send('login', loginUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/plain' },
          body: JSON.stringify(credentials),
        });
      const response = await (loginStep ? loginStep({ credentials, client, origin, loginUrl, passwordLogin }) : passwordLogin());
      return tokenSet(response, textOrJsonAnswer('login', response, meaning), 'login');
    },
    // An expired token cannot be renewed: only a new login helps.
    canRefresh: (tokens, now) => now < tokens.expiresAt,
    async refresh(tokens, client: UpstreamClient) {
      const response = await client.send('refresh', renewUrl, {
        method: 'GET',
        headers: { [header]: `Bearer ${tokens.accessToken}`, accept: 'application/json, text/plain' },
      });
      return tokenSet(response, textOrJsonAnswer('refresh', response, { refused: 'any-4xx' }), 'refresh');
    },
  });
}
