import type { UpstreamClient, UpstreamResponse } from '../http.js';

/** Credentials for the session-renew upstream. */
export interface SessionRenewCredentials {
  email: string;
  password: string;
  /** The org to log in to; omit to let the upstream choose. */
  selectedOrg?: number;
}

/** What the session-renew preset gives its login step. */
export interface LoginStepContext {
  /** Checked credentials: `email` and `password` are non-empty strings. */
  credentials: SessionRenewCredentials;
  /** The preset's client: bounded, abortable, size-capped, never following redirects by itself. */
  client: UpstreamClient;
  /** The upstream's origin: the only one an identity provider's answer may be posted to. */
  origin: string;
  /** The absolute URL of the login call (`loginPath`). */
  loginUrl: string;
  /** The preset's own login call: `POST loginUrl` with JSON `{ email, password, selectedOrg }`; the answer unread. */
  passwordLogin(): Promise<UpstreamResponse>;
}

/**
 * How the session-renew preset logs in (its `loginStep` option): resolves with the upstream's
 * answer that carries the session token, which the preset then reads exactly like a plain
 * login's (`tokenField` or a text/plain token; 401, 404, HTML and redirects mapped to their
 * codes). Renewal, the 403 handling, keep-alive and re-login stay the preset's. Default: the
 * plain password login (`context.passwordLogin()`); {@link ssoFormLogin} handles an identity
 * provider's HTML sign-in form.
 */
export type SessionRenewLoginStep = (context: LoginStepContext) => Promise<UpstreamResponse>;
