/**
 * A user the fake upstream knows. `sessionRenew` logs in by `email`, the other protocols by
 * `username`. Tests may change these objects (a new password, fewer orgs) while a server runs:
 * every request reads them afresh.
 */
export interface FakeUser {
  id: number;
  /** Login name for `sessionRenew`. */
  email?: string;
  /** Login name for `refreshToken` and `basicAuth`. */
  username?: string;
  password: string;
  /** `sessionRenew`: the orgs the user is an active member of; none (or `[]`) answers login with 404. */
  orgs?: number[];
  /** `refreshToken`: the accounts the user may log in to or masquerade as; the first is the default. */
  accounts?: number[];
}

/** The users every fake upstream starts with, unless `users` is given. Fresh copies on every call. */
export function defaultUsers(): FakeUser[] {
  return [
    { id: 1, email: 'ada@example.test', username: 'ada', password: 'ada-password-1', orgs: [7], accounts: [100] },
    { id: 2, email: 'grace@example.test', username: 'grace', password: 'grace-password-2', orgs: [7, 8], accounts: [200, 201] },
    { id: 3, email: 'nomember@example.test', username: 'nomember', password: 'nomember-password-3', orgs: [], accounts: [] },
  ];
}
