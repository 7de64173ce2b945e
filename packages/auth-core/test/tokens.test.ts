import { describe, expect, it } from 'vitest';
import { AuthError } from '../src/errors.js';
import type { UpstreamResponse } from '../src/http.js';
import { checkToken, expiryFrom } from '../src/tokens.js';

const details = { operation: 'login' as const };
const answer = (date?: Date, sentAt = 1_700_000_000_000): UpstreamResponse => ({
  status: 200,
  headers: new Headers(date ? { date: date.toUTCString() } : {}),
  body: '',
  sentAt,
});

function expectMalformed(run: () => unknown, message: RegExp) {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe('UPSTREAM_MALFORMED');
    expect((error as AuthError).message).toMatch(message);
    return;
  }
  throw new Error('expected an UPSTREAM_MALFORMED error');
}

describe('checkToken', () => {
  it('accepts RFC 6750 b64token characters, including padding', () => {
    expect(checkToken('abc-._~+/XYZ09==', 'token', details)).toBe('abc-._~+/XYZ09==');
  });

  it('refuses a token with CR/LF, spaces or quotes, without echoing it', () => {
    for (const bad of ['abc\r\nX-Evil: 1', 'a b', 'a"b', '=abc']) {
      expectMalformed(
        () => checkToken(bad, 'token', details),
        /^upstream login answer: token has characters outside RFC 6750's token set$/,
      );
    }
  });

  it('refuses a missing or non-string token', () => {
    expectMalformed(() => checkToken(undefined, 'token', details), /token is missing or not a string/);
    expectMalformed(() => checkToken(42, 'token', details), /token is missing or not a string/);
  });
});

describe('expiryFrom', () => {
  it('counts a relative lifetime from the send time', () => {
    expect(expiryFrom({ lifetimeSeconds: 3600 }, answer(), 'token', details)).toBe(1_700_000_000_000 + 3_600_000);
  });

  it('prefers the relative lifetime over an absolute date', () => {
    const response = answer(new Date(0));
    expect(expiryFrom({ lifetimeSeconds: 60, isoDate: '2000-01-01T00:00:00+00:00' }, response, 'token', details)).toBe(
      response.sentAt + 60_000,
    );
  });

  it('cancels a skewed upstream clock using the answer’s Date header', () => {
    const sentAt = 1_700_000_000_000;
    const upstreamNow = sentAt + 10 * 60_000; // the upstream's clock runs 10 minutes ahead
    const response = answer(new Date(upstreamNow), sentAt);
    const expiresAt = expiryFrom({ epochSeconds: upstreamNow / 1000 + 300 }, response, 'expires_at', details)!;
    // five minutes from the send, less at most the second the Date header rounds away
    expect(expiresAt).toBeLessThanOrEqual(sentAt + 300_000);
    expect(expiresAt).toBeGreaterThan(sentAt + 298_000);
  });

  it('uses an absolute time as it is when there is no Date header', () => {
    const response = answer(undefined, 1_000);
    expect(expiryFrom({ isoDate: '1970-01-01T00:00:05+00:00' }, response, 'token', details)).toBe(5_000);
  });

  it('answers undefined when the upstream states nothing, so a default lifetime applies', () => {
    expect(expiryFrom({}, answer(), 'token', details)).toBeUndefined();
  });

  it('refuses a lifetime given as a string or not positive, and a date that is no date', () => {
    expectMalformed(() => expiryFrom({ lifetimeSeconds: '3600' }, answer(), 'token', details), /token lifetime is not a number/);
    expectMalformed(() => expiryFrom({ lifetimeSeconds: -60 }, answer(), 'token', details), /token lifetime is not positive/);
    expectMalformed(() => expiryFrom({ isoDate: 'yesterday' }, answer(), 'token', details), /not an ISO 8601 date/);
  });

  it('does not believe an absolute time already past or more than a year ahead: the default lifetime applies', () => {
    const sentAt = 1_700_000_000_000;
    const proxyDate = answer(new Date(sentAt), sentAt); // a proxy's Date, on our clock
    expect(expiryFrom({ epochSeconds: (sentAt - 5 * 60_000) / 1000 }, proxyDate, 'expires_at', details)).toBeUndefined();
    expect(expiryFrom({ isoDate: '2999-01-01T00:00:00+00:00' }, proxyDate, 'expires_at', details)).toBeUndefined();
  });

  it('caps a relative lifetime at a year (a huge one would never expire in a store)', () => {
    expect(expiryFrom({ lifetimeSeconds: 1e306 }, answer(), 'token', details)).toBe(1_700_000_000_000 + 366 * 24 * 3_600_000);
  });
});

describe('AuthError', () => {
  it('carries the status an adapter answers with and serialises without a cause', () => {
    const error = new AuthError('SESSION_EXPIRED', 'the session has expired: log in again', { cause: new Error('inner secret') });
    expect(error.status).toBe(401);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'AuthError',
      code: 'SESSION_EXPIRED',
      status: 401,
      message: 'the session has expired: log in again',
    });
  });
});
