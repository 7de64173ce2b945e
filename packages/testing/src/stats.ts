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
    logouts: 0,
    apiCalls: 0,
    rejected: 0,
    reset() {
      stats.logins = stats.loginFailures = stats.renewals = stats.refreshes = stats.refreshFailures = 0;
      stats.reuseDetections = stats.logouts = stats.apiCalls = stats.rejected = 0;
    },
  };
  return stats;
}
