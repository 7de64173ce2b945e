import { basicAuth, type Protocol, refreshToken, sessionRenew } from '@tokenkeeper/auth-core';
import type { FakeProtocol } from './options.js';
import type { FakeUser } from './users.js';

/** The protected resource each fake upstream serves for its protocol (all of them also serve `/whoami`). */
export const FAKE_RESOURCES: Readonly<Record<FakeProtocol, string>> = {
  sessionRenew: '/user/users/me',
  refreshToken: '/reports/call-data',
  basicAuth: '/api/core/v2/namespaces',
};

/**
 * The auth-core preset that speaks to a fake upstream, for your tests and examples. A real app
 * picks the preset its upstream speaks, with that upstream's options.
 *
 * @param accessTokenLifetimeMs The fake's token lifetime, if you changed it: the session-renew upstream's answers
 * do not say how long a token lives, so its preset must be told.
 *
 * @example
 * const upstream = await startFakeUpstream({ protocol: 'sessionRenew', accessTokenLifetimeMs: 3_000 });
 * const keeper = new TokenKeeper({ protocol: fakeUpstreamPreset(upstream, 3_000) });
 */
export function fakeUpstreamPreset(upstream: { protocol: FakeProtocol; url: string }, accessTokenLifetimeMs?: number): Protocol<any> {
  const baseUrl = upstream.url;
  switch (upstream.protocol) {
    case 'sessionRenew':
      return sessionRenew({ baseUrl, ...(accessTokenLifetimeMs !== undefined && { lifetimeMs: accessTokenLifetimeMs }) });
    case 'refreshToken':
      return refreshToken({ baseUrl });
    case 'basicAuth':
      return basicAuth({ baseUrl });
  }
}

/** Login credentials of a fake upstream's user, in the shape its protocol's preset takes. */
export function fakeCredentials(
  protocol: FakeProtocol,
  user: Pick<FakeUser, 'email' | 'username' | 'password' | 'orgs'>,
): Record<string, unknown> {
  if (protocol === 'sessionRenew') return { email: user.email, password: user.password, selectedOrg: user.orgs?.[0] };
  return { username: user.username, password: user.password };
}
