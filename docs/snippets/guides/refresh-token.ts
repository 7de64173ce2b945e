import { type RefreshTokenCredentials, refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';
import { RedisLock, RedisStore } from '@tokenkeeper/redis';

/** Your own store of users' upstream credentials (a secrets manager, an encrypted table). */
export interface Vault {
  credentialsFor(key: string): Promise<RefreshTokenCredentials | undefined>;
}

export function createKeeper(vault: Vault, baseUrl = 'https://api.teletracker.example') {
  // TOKEN_KEY: 32 random bytes (`openssl rand -base64 32`); the store refuses to start without one
  const store = new RedisStore({ url: process.env.REDIS_URL, encryptionKey: process.env.TOKEN_KEY });
  const keeper = new TokenKeeper({
    protocol: refreshToken({
      baseUrl,
      loginPath: '/auth/login', // POST { username, password, account_id? }
      refreshPath: '/auth/refresh', // POST { refresh_token }
      refreshRequestField: 'refresh_token',
      fields: {
        // the answer's field names
        token: 'token',
        tokenLifetime: 'tokenLifetime', // seconds, counted from when the request was sent
        tokenExpiration: 'tokenExpiration', // ISO date, used only when there is no lifetime
        refreshToken: 'refreshToken',
        refreshTokenExpiration: 'refreshTokenExpiration',
      },
      defaultLifetimeMs: 3_600_000, // when the answer states neither
      invalidCredentialsStatuses: [401],
      expirySignal: [401, 403],
      header: 'authorization', // the vendor's docs say "Authentication": a typo
    }),
    // Several app instances: share sessions, refresh each once between them.
    store,
    lock: new RedisLock({ store }),
    // Log in again before the refresh token lapses (instead of after a failure):
    credentials: (key) => vault.credentialsFor(key),
  });
  return { keeper, store };
}

/** When a user connects their upstream account: account 100 of theirs. */
export async function connect(keeper: TokenKeeper<RefreshTokenCredentials>, userId: string, username: string, password: string) {
  await keeper.session(userId).login({ username, password, accountId: 100 });
}
