/** What each OAuth token-endpoint error means for a session: one table (RFC 6749 §5.2, RFC 8628 §3.5). */
import { describe, expect, it } from 'vitest';
import { oauthError } from '../src/index.js';

describe('oauthError', () => {
  it.each([
    ['invalid_grant', 400, 'refresh_token', 'SESSION_EXPIRED', 'the session has expired: log in again'],
    [
      'invalid_grant',
      400,
      'authorization_code',
      'INVALID_CREDENTIALS',
      'the authorization server refused the authorization code (invalid_grant): it is wrong, expired or already used',
    ],
    ['invalid_grant', 400, 'password', 'INVALID_CREDENTIALS', 'the authorization server refused the username or password (invalid_grant)'],
    [
      'invalid_grant',
      400,
      'client_credentials',
      'CLIENT_MISCONFIGURED',
      'the authorization server refuses the client credentials grant (invalid_grant)',
    ],
    [
      'invalid_client',
      401,
      'refresh_token',
      'CLIENT_MISCONFIGURED',
      'the authorization server refuses this client (invalid_client): check clientId, the client secret or key, clientAuth and scope',
    ],
    [
      'unauthorized_client',
      400,
      'authorization_code',
      'CLIENT_MISCONFIGURED',
      'the authorization server refuses this client (unauthorized_client): check clientId, the client secret or key, clientAuth and scope',
    ],
    [
      'invalid_scope',
      400,
      'client_credentials',
      'CLIENT_MISCONFIGURED',
      'the authorization server refuses this client (invalid_scope): check clientId, the client secret or key, clientAuth and scope',
    ],
    ['temporarily_unavailable', 503, 'refresh_token', 'UPSTREAM_UNAVAILABLE', 'upstream refresh answered 503 (temporarily_unavailable)'],
    ['server_error', 500, 'refresh_token', 'UPSTREAM_UNAVAILABLE', 'upstream refresh answered 500 (server_error)'],
    ['slow_down', 400, 'refresh_token', 'UPSTREAM_UNAVAILABLE', 'upstream refresh answered 400 (slow_down)'],
    ['access_denied', 400, 'authorization_code', 'ACCESS_DENIED', 'the user or the authorization server denied access (access_denied)'],
    ['invalid_request', 400, 'refresh_token', 'UPSTREAM_REJECTED', 'upstream refresh answered 400 (invalid_request)'],
    ['password=hunter2', 400, 'refresh_token', 'UPSTREAM_REJECTED', 'upstream refresh answered 400 (an unlisted OAuth error)'],
  ] as const)('%s (%i) on %s → %s', (error, status, grant, code, message) => {
    const operation = grant === 'refresh_token' ? 'refresh' : 'login';
    const mapped = oauthError(error, status, grant, operation);
    expect(mapped.code).toBe(code);
    expect(mapped.message).toBe(message);
  });

  it('honours a Retry-After, and gives slow_down 5 s without one', () => {
    const answer = new Response('{}', { status: 429, headers: { 'retry-after': '12' } });
    expect(oauthError('slow_down', 429, 'refresh_token', 'refresh', answer).upstream?.retryAfterMs).toBe(12_000);
    expect(oauthError('slow_down', 400, 'refresh_token', 'refresh').upstream?.retryAfterMs).toBe(5_000);
    expect(oauthError('invalid_grant', 400, 'refresh_token', 'refresh').upstream?.retryAfterMs).toBeUndefined();
  });

  it('says the upstream may have acted only on a 5xx', () => {
    expect(oauthError('server_error', 500, 'refresh_token', 'refresh').upstream?.outcomeUnknown).toBe(true);
    expect(oauthError('invalid_grant', 400, 'refresh_token', 'refresh').upstream?.outcomeUnknown).toBeUndefined();
  });
});
