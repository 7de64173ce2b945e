import { type BasicAuthCredentials, basicAuth, TokenKeeper } from '@tokenkeeper/auth-core';

export function createKeeper(baseUrl = 'https://sensu.example:8080') {
  return new TokenKeeper({
    protocol: basicAuth({
      baseUrl, // the real paths are at the root, not /api/core/v2
      loginPath: '/auth', // GET with Basic
      testPath: '/auth/test', // GET with Basic → keeper.verifyCredentials()
      refreshPath: '/auth/token', // POST, bearer + { refresh_token }
      logoutPath: '/auth/logout', // POST, like a refresh; used by session.logout()
      defaultLifetimeMs: 5 * 60_000, // when the answer has no expires_at
      expirySignal: [401],
    }),
    rememberCredentials: true, // or credentials: (key) => ...
  });
}

/** Checks the credentials first (no session is made), then logs the ops session in. */
export async function connectOps(keeper: TokenKeeper<BasicAuthCredentials>, { username, password }: BasicAuthCredentials) {
  if (await keeper.verifyCredentials({ username, password })) {
    await keeper.session('ops').login({ username, password });
    return true;
  }
  return false;
}
