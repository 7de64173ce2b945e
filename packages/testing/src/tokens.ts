/** One login: the tokens issued to it share its fate (logout, deletion on refresh token reuse). */
export interface Session {
  readonly id: number;
  readonly userId: number;
  /** sessionRenew: the org chosen at login. */
  readonly orgId?: number | undefined;
  /** refreshToken: the account the session is bound to (null for a user without accounts). */
  readonly accountId?: number | null | undefined;
  /** The refresh token a refresh must present; older ones are "used". */
  latestRefreshToken?: string | undefined;
  loggedOut: boolean;
  deleted: boolean;
}

export interface AccessToken {
  readonly token: string;
  readonly session: Session;
  /** Server time. */
  readonly expiresAt: number;
  revoked: boolean;
}

export interface RefreshToken {
  readonly token: string;
  readonly session: Session;
  /** Server time; basicAuth moves it forward when a refresh without rotation echoes this token. */
  expiresAt: number;
}

/**
 * Every session and token the server issued. Records are kept (revoked, not forgotten) so the
 * server can tell "a token I issued that is now dead" from "a token I never issued".
 */
export class TokenStore {
  private readonly accessTokens = new Map<string, AccessToken>();
  private readonly refreshTokens = new Map<string, RefreshToken>();
  private nextSessionId = 1;

  constructor(
    /** Server time in epoch ms. */
    private readonly serverNow: () => number,
    private readonly newToken: () => string,
    /** Issue access tokens as JWTs whose `iat` and `exp` are on the server's clock. */
    private readonly jwt = false,
  ) {}

  createSession(userId: number, binding: { orgId?: number; accountId?: number | null } = {}): Session {
    return { id: this.nextSessionId++, userId, ...binding, loggedOut: false, deleted: false };
  }

  issueAccessToken(session: Session, lifetimeMs: number): AccessToken {
    const issuedAt = this.serverNow();
    const expiresAt = issuedAt + lifetimeMs;
    const token = this.jwt ? fakeJwt(issuedAt, expiresAt, this.newToken()) : this.newToken();
    const record: AccessToken = { token, session, expiresAt, revoked: false };
    this.accessTokens.set(record.token, record);
    return record;
  }

  /**
   * Issues the session's refresh token, valid until `expiresAt` (server time). With `rotate`, a new
   * token becomes the session's latest and the old one counts as used; without, the latest one is
   * kept and only its expiry moves.
   */
  issueRefreshToken(session: Session, expiresAt: number, rotate: boolean): RefreshToken {
    const current = session.latestRefreshToken === undefined ? undefined : this.refreshTokens.get(session.latestRefreshToken);
    if (current && !rotate) {
      current.expiresAt = expiresAt;
      return current;
    }
    const record: RefreshToken = { token: this.newToken(), session, expiresAt };
    this.refreshTokens.set(record.token, record);
    session.latestRefreshToken = record.token;
    return record;
  }

  /** Any access token this server issued, dead or alive. */
  findAccessToken(token: string | undefined): AccessToken | undefined {
    return token === undefined ? undefined : this.accessTokens.get(token);
  }

  /** An access token that is neither revoked, nor expired, nor from a deleted session. */
  validAccessToken(token: string | undefined): AccessToken | undefined {
    const record = this.findAccessToken(token);
    if (!record || record.revoked || record.session.deleted || this.serverNow() >= record.expiresAt) return undefined;
    return record;
  }

  findRefreshToken(token: string): RefreshToken | undefined {
    const record = this.refreshTokens.get(token);
    return record && !record.session.deleted ? record : undefined;
  }

  isLatest(record: RefreshToken): boolean {
    return record.session.latestRefreshToken === record.token;
  }

  isExpired(record: RefreshToken): boolean {
    return this.serverNow() >= record.expiresAt;
  }

  /** Kills the session and every token it holds, as Sensu does on refresh token reuse. */
  deleteSession(session: Session): void {
    session.deleted = true;
  }

  /** Makes one access token, or every one issued so far, invalid from now on. */
  revokeAccessTokens(token?: string): void {
    if (token !== undefined) {
      const record = this.accessTokens.get(token);
      if (record) record.revoked = true;
      return;
    }
    for (const record of this.accessTokens.values()) record.revoked = true;
  }
}

/** A JWT-shaped token: `iat` and `exp` in epoch seconds on the issuer's clock, a random `jti` and signature. */
function fakeJwt(issuedAt: number, expiresAt: number, id: string): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
  const claims = { iat: Math.floor(issuedAt / 1000), exp: Math.floor(expiresAt / 1000), jti: id };
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.${Buffer.from(id, 'utf8').toString('base64url')}`;
}
