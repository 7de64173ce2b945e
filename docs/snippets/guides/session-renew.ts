import { type SessionRenewCredentials, sessionRenew, TokenKeeper } from '@tokenkeeper/auth-core';

/** Your own store of users' upstream credentials (a secrets manager, an encrypted table). */
export interface Vault {
  credentialsFor(key: string): Promise<SessionRenewCredentials | undefined>;
}

export function createKeeper(vault: Vault, baseUrl = 'https://core.vendor.example') {
  return new TokenKeeper({
    protocol: sessionRenew({
      baseUrl,
      loginPath: '/user/authenticate', // POST { email, password, selectedOrg }
      renewPath: '/user/authenticate', // GET with the still-valid bearer
      tokenField: 'token', // {"token": "..."}; a text/plain body holding only the token works too
      lifetimeMs: 15 * 60_000, // the upstream does not say; counted from when the login was sent
      invalidCredentialsStatuses: [401], // → INVALID_CREDENTIALS
      noMembershipStatuses: [404], // → NO_ACTIVE_MEMBERSHIP (403 to your client)
      expirySignal: [403], // on API calls: renew once, retry once
      header: 'authorization',
    }),
    // Renewal is only possible while the token is valid, so keep sessions alive in the background
    // (this is the vendor's "child thread that guarantees the refresh window is not missed").
    keepAlive: true,
    idleMs: 30 * 60_000, // a user away this long is let go; service sessions never
    refreshWindowMs: 60_000, // renew in the last minute
    // Without credentials, a missed window ends the session (SESSION_EXPIRED). With them, the keeper
    // logs in again. Pick one of:
    credentials: (key) => vault.credentialsFor(key), // your own store of user credentials
    // rememberCredentials: true,          // or: keep each login's credentials sealed in memory
  });
}

/** A service account for a long job: kept alive however long it goes unused. */
export async function startNightlyExport(keeper: TokenKeeper<SessionRenewCredentials>, account: SessionRenewCredentials) {
  await keeper.session('nightly-export').login(account, { service: true });
}
