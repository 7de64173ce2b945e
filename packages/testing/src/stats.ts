/** Counters of what the fake upstream did, for assertions like "exactly one refresh happened". */
export interface FakeStats {
  /** Logins that issued tokens. */
  logins: number;
  /** Logins refused (bad credentials, no membership, malformed body), including `auth_only` and `/auth/test` checks. */
  loginFailures: number;
  /** sessionRenew: successful `GET /user/authenticate` renewals. */
  renewals: number;
  /** refreshToken and basicAuth: refreshes the server carried out (a 'rotateThen500' fault counts: the server did rotate). */
  refreshes: number;
  /** Renewals and refreshes refused with a 4xx. */
  refreshFailures: number;
  /** Refreshes that presented an already-used refresh token. */
  reuseDetections: number;
  /** refreshToken: account switches (`POST /auth/masquerade`) the server carried out. */
  masquerades: number;
  /** sessionRenew in SSO mode: sign-ins the fake identity provider refused (wrong password) or could not finish (a one-time code was asked for). */
  ssoFailures: number;
  /** basicAuth: successful logouts. */
  logouts: number;
  /** Requests to protected resources (`/whoami` and the protocol's resource), whatever the answer. */
  apiCalls: number;
  /** Protected-resource requests refused with the expiry signal (including the 'expired' fault). */
  rejected: number;
  /** Sets every counter back to 0. */
  reset(): void;
}

export function createStats(): FakeStats {
  const stats: FakeStats = {
    logins: 0,
    loginFailures: 0,
    renewals: 0,
    refreshes: 0,
    refreshFailures: 0,
    reuseDetections: 0,
    masquerades: 0,
    ssoFailures: 0,
    logouts: 0,
    apiCalls: 0,
    rejected: 0,
    reset() {
      stats.logins = stats.loginFailures = stats.renewals = stats.refreshes = stats.refreshFailures = 0;
      stats.reuseDetections = stats.logouts = stats.apiCalls = stats.rejected = stats.masquerades = stats.ssoFailures = 0;
    },
  };
  return stats;
}
