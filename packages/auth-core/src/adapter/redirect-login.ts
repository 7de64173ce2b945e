import type { RequestSession } from './request-session.js';

/**
 * A login that sends the browser away and back, such as OAuth's "connect your account": the
 * server adapters mount its two steps as two GET routes and stay glue. `@tokenkeeper/oauth2`'s
 * `oauthConnect()` is one.
 */
export interface RedirectLogin<Credentials = unknown> {
  /** Where to send the browser, with the cookies that remember this attempt. */
  start(request: RedirectLoginRequest): Promise<RedirectLoginAnswer>;
  /**
   * Checks the way back against what `start` remembered; answers the credentials for
   * `session.login`, where to send the browser next, and the cookies to clear. Throws an
   * `AuthError` (`INVALID_CALLBACK` for a wrong, expired or replayed attempt).
   */
  finish(request: RedirectLoginRequest): Promise<RedirectLoginAnswer & { credentials: Credentials }>;
}

export interface RedirectLoginRequest {
  /** The request's path and query string (`/callback?code=…&state=…`). */
  url: string;
  /** The request's `Cookie` header. */
  cookieHeader: string | undefined;
}

export interface RedirectLoginAnswer {
  /** Where to redirect the browser (303). */
  location: string;
  /** `Set-Cookie` header values to send. */
  setCookies: string[];
}

/** Which step a request is for, by its path; `undefined` for any other request. */
export type RedirectLoginStep = 'start' | 'finish';

/**
 * Runs one step for an adapter: `start` answers where to send the browser; `finish` logs the
 * request's session in with what came back, then answers where to send the browser.
 */
export async function runRedirectLogin<Credentials>(
  login: RedirectLogin<Credentials>,
  step: RedirectLoginStep,
  request: RedirectLoginRequest,
  session: RequestSession<Credentials>,
): Promise<RedirectLoginAnswer> {
  if (step === 'start') return login.start(request);
  const { credentials, ...answer } = await login.finish(request);
  await session.login(credentials);
  return answer;
}

/** The step a path is, given the two routes' paths. */
export function redirectLoginStep(path: string, paths: { start: string; finish: string }): RedirectLoginStep | undefined {
  if (path === paths.start) return 'start';
  if (path === paths.finish) return 'finish';
  return undefined;
}
