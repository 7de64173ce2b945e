import { AUTH_ERROR_MESSAGES, AuthError, retryAfterMs, type UpstreamDetails } from '@tokenkeeper/auth-core';
import * as oauth from 'oauth4webapi';

/** Which grant a token-endpoint call was for: the same `invalid_grant` means a different thing for each. */
export type GrantKind = 'authorization_code' | 'refresh_token' | 'password' | 'client_credentials';

/** The OAuth error codes tokenkeeper names in its messages; any other value is not echoed (an upstream may put anything there). */
const KNOWN_ERRORS = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'temporarily_unavailable',
  'server_error',
  'slow_down',
  'access_denied',
  'invalid_dpop_proof',
  'use_dpop_nonce',
]);

/** Our configuration is wrong, whoever the user is: never "session expired". */
const CLIENT_ERRORS = new Set(['invalid_client', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope']);

/** The server is busy or failing: try again later. */
const UNAVAILABLE_ERRORS = new Set(['temporarily_unavailable', 'server_error', 'slow_down']);

function named(error: string): string {
  return KNOWN_ERRORS.has(error) ? error : 'an unlisted OAuth error';
}

/**
 * What an OAuth token-endpoint error means for a session (RFC 6749 §5.2): `invalid_grant`
 * ends a refresh (the engine logs in again or ends the session) and refuses a login;
 * `invalid_client` and its kin are the app's configuration; `temporarily_unavailable`,
 * `server_error`, `slow_down`, 429 and 5xx are unavailability; anything else is a rejection.
 */
export function oauthError(
  error: string,
  status: number,
  grant: GrantKind,
  operation: UpstreamDetails['operation'],
  response?: Response,
): AuthError {
  const upstream: UpstreamDetails = { operation, status, ...(status >= 500 && { outcomeUnknown: true }) };
  // Honoured by the keeper: no renewal before it. slow_down without a Retry-After adds 5 s (RFC 8628 §3.5).
  const pause = response && retryAfterMs(response.headers, Date.now());
  if (pause !== undefined) upstream.retryAfterMs = pause;
  else if (error === 'slow_down') upstream.retryAfterMs = 5_000;
  const options = { upstream };
  if (CLIENT_ERRORS.has(error)) {
    return new AuthError(
      'CLIENT_MISCONFIGURED',
      `the authorization server refuses this client (${error}): check clientId, the client secret or key, clientAuth and scope`,
      options,
    );
  }
  if (error === 'invalid_grant') {
    if (grant === 'refresh_token') return new AuthError('SESSION_EXPIRED', AUTH_ERROR_MESSAGES.SESSION_EXPIRED, options);
    if (grant === 'client_credentials') {
      return new AuthError(
        'CLIENT_MISCONFIGURED',
        'the authorization server refuses the client credentials grant (invalid_grant)',
        options,
      );
    }
    return new AuthError(
      'INVALID_CREDENTIALS',
      grant === 'password'
        ? 'the authorization server refused the username or password (invalid_grant)'
        : 'the authorization server refused the authorization code (invalid_grant): it is wrong, expired or already used',
      options,
    );
  }
  if (error === 'access_denied')
    return new AuthError('ACCESS_DENIED', 'the user or the authorization server denied access (access_denied)', options);
  if (UNAVAILABLE_ERRORS.has(error) || status === 429 || status >= 500) {
    return new AuthError('UPSTREAM_UNAVAILABLE', `upstream ${operation} answered ${status} (${named(error)})`, options);
  }
  return new AuthError('UPSTREAM_REJECTED', `upstream ${operation} answered ${status} (${named(error)})`, options);
}

/** Turns whatever oauth4webapi (or the keeper's client under it) threw into the AuthError it stands for. */
export function toAuthError(error: unknown, grant: GrantKind, operation: UpstreamDetails['operation']): AuthError {
  if (error instanceof AuthError) return error;
  if (error instanceof oauth.ResponseBodyError) return oauthError(error.error, error.status, grant, operation, error.response);
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    const challenge = error.cause[0];
    const code = challenge?.parameters.error;
    return oauthError(typeof code === 'string' ? code : 'invalid_client', error.status, grant, operation, error.response);
  }
  if (error instanceof oauth.AuthorizationResponseError) {
    return oauthError(error.error, 400, 'authorization_code', operation);
  }
  if (error instanceof oauth.UnsupportedOperationError) {
    return new AuthError('CLIENT_MISCONFIGURED', `the authorization server cannot do this: ${error.message}`, { upstream: { operation } });
  }
  if (error instanceof oauth.OperationProcessingError) {
    const response = error.cause instanceof Response ? error.cause : undefined;
    const status = response?.status;
    if (status !== undefined && (status === 429 || status >= 500)) {
      const pause = retryAfterMs(response!.headers, Date.now());
      return new AuthError('UPSTREAM_UNAVAILABLE', `upstream ${operation} answered ${status}`, {
        upstream: { operation, status, outcomeUnknown: status >= 500, ...(pause !== undefined && { retryAfterMs: pause }) },
      });
    }
    if (error.code === oauth.HTTP_REQUEST_FORBIDDEN || error.code === oauth.REQUEST_PROTOCOL_FORBIDDEN) {
      return new AuthError('CLIENT_MISCONFIGURED', `the authorization server's endpoint is not allowed: ${error.message}`, {
        upstream: { operation },
      });
    }
    if (error.code === oauth.MISSING_SERVER_METADATA || error.code === oauth.INVALID_SERVER_METADATA) {
      return new AuthError('CLIENT_MISCONFIGURED', `the authorization server's metadata lacks what this needs: ${error.message}`, {
        upstream: { operation },
      });
    }
    // oauth4webapi's messages name the check that failed, never a token value.
    const unknown = operation === 'refresh' || operation === 'login';
    return new AuthError('UPSTREAM_MALFORMED', `upstream ${operation} answer: ${error.message}`, {
      upstream: { operation, ...(status !== undefined && { status }), ...(unknown && { outcomeUnknown: true }) },
    });
  }
  if (error instanceof TypeError) throw error;
  return new AuthError('UPSTREAM_UNAVAILABLE', `upstream ${operation} failed`, {
    cause: error,
    upstream: { operation, outcomeUnknown: true },
  });
}
