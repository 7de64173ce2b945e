import { randomUUID } from 'node:crypto';
import type { ShapeFault } from '../faults.js';
import { bearerToken, jsonReply, parseFormFields, type Reply } from '../http.js';
import type { Session } from '../tokens.js';
import {
  EXTRA_FIELDS,
  findUser,
  type ProtocolDefinition,
  type RequestContext,
  type UpstreamState,
  userById,
  withCrlf,
} from './protocol.js';

/**
 * The rotating refresh-token upstream (TeleTracker bearer tokens): log in with username and password (JSON, form or
 * multipart), refresh with a rotating `refresh_token`, `expiredStatus` for a dead token.
 */
export function refreshTokenProtocol(state: UpstreamState): ProtocolDefinition {
  const { options, stats, tokens } = state;

  /**
   * Issues a fresh token pair for the session and renders it as the vendor does. The refresh
   * token's expiry is absolute: fixed at login, inherited by every rotated refresh token.
   */
  function tokenReply(session: Session, refreshExpiresAt: number, fault: ShapeFault | undefined): Reply {
    const access = tokens.issueAccessToken(session, options.accessTokenLifetimeMs);
    const refresh = tokens.issueRefreshToken(session, refreshExpiresAt, options.rotateRefreshTokens);
    const lifetimeSeconds = Math.floor(options.accessTokenLifetimeMs / 1000);
    const body: Record<string, unknown> = {
      success: true,
      guid: randomUUID(),
      token: fault === 'crlfToken' ? withCrlf(access.token) : access.token,
      tokenExpiration: isoWithOffset(access.expiresAt),
      tokenLifetime: lifetimeSeconds,
      refreshToken: refresh.token,
      refreshTokenExpiration: isoWithOffset(refresh.expiresAt),
      accountId: session.accountId ?? null,
    };
    if (fault === 'missingExpiry') {
      delete body.tokenExpiration;
      delete body.tokenLifetime;
    } else if (fault === 'pastExpiry') {
      body.tokenLifetime = -60;
      body.tokenExpiration = isoWithOffset(state.serverNow() - 60_000);
    } else if (fault === 'stringLifetime') {
      body.tokenLifetime = String(lifetimeSeconds);
    } else if (fault === 'extraFields') {
      Object.assign(body, EXTRA_FIELDS);
    }
    return jsonReply(200, body);
  }

  function newSession(userId: number, accountId: number | null, fault: ShapeFault | undefined): Reply {
    const session = tokens.createSession(userId, { accountId });
    return tokenReply(session, state.serverNow() + options.refreshTokenLifetimeMs, fault);
  }

  function login({ headers, body, shapeFault }: RequestContext): Reply {
    const fields = parseFormFields(headers, body);
    const accountId = parseAccountId(fields?.account_id);
    if (!fields || typeof fields.username !== 'string' || typeof fields.password !== 'string' || accountId === 'invalid') {
      stats.loginFailures++;
      return failure(400, 'username and password are required; account_id must be an integer');
    }
    const user = findUser(state, 'username', fields.username, fields.password);
    if (!user) {
      stats.loginFailures++;
      return failure(401, 'Invalid username or password');
    }
    const accounts = user.accounts ?? [];
    // The right password for an account the user may not use: the vendor answers 403.
    if (accountId !== undefined && !accounts.includes(accountId)) {
      stats.loginFailures++;
      return failure(403, 'No access to account');
    }
    if (['1', 1, true, 'true'].includes(fields.auth_only as string)) return jsonReply(200, { success: true });
    stats.logins++;
    return newSession(user.id, accountId ?? accounts[0] ?? null, shapeFault);
  }

  function refresh({ headers, body, shapeFault }: RequestContext): Reply {
    const presented = parseFormFields(headers, body)?.refresh_token;
    if (typeof presented !== 'string' || presented === '') {
      stats.refreshFailures++;
      return failure(400, 'refresh_token is required');
    }
    const record = tokens.findRefreshToken(presented);
    if (!record || tokens.isExpired(record) || !tokens.isLatest(record)) {
      if (record && !tokens.isLatest(record)) stats.reuseDetections++;
      stats.refreshFailures++;
      return failure(401, 'Invalid refresh token');
    }
    stats.refreshes++;
    return tokenReply(record.session, record.expiresAt, shapeFault);
  }

  /** Switches a logged-in user to another of their accounts: a new session bound to it. */
  function masquerade({ headers, body }: RequestContext): Reply {
    const token = tokens.validAccessToken(bearerToken(headers));
    if (!token) return expirySignal();
    const accountId = parseAccountId(parseFormFields(headers, body)?.account_id);
    if (accountId === undefined || accountId === 'invalid') return failure(400, 'account_id must be an integer');
    const user = userById(state, token.session.userId);
    // Like a login to an account the user may not use: the vendor's 403.
    if (!user || !(user.accounts ?? []).includes(accountId)) return failure(403, 'No access to account');
    stats.masquerades++;
    return newSession(user.id, accountId, undefined);
  }

  function expirySignal(): Reply {
    return failure(options.expiredStatus, 'Token is expired or invalid');
  }

  return {
    expirySignal,
    routes: [
      { method: 'POST', path: '/auth/login', endpoint: 'login', handle: login },
      { method: 'POST', path: '/auth/refresh', endpoint: 'refresh', handle: refresh },
      { method: 'POST', path: '/auth/masquerade', endpoint: 'switch', handle: masquerade },
      {
        method: 'GET',
        path: '/reports/call-data',
        protected: true,
        handle: (_context, token, user) =>
          jsonReply(200, { success: true, data: [], userId: user.id, accountId: token.session.accountId ?? null }),
      },
    ],
  };
}

function failure(status: number, message: string): Reply {
  return jsonReply(status, { success: false, message });
}

/** An integer account id from JSON (number or digits) or a form field; undefined when absent. */
function parseAccountId(value: unknown): number | 'invalid' | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number') return Number.isInteger(value) ? value : 'invalid';
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return 'invalid';
}

/** ISO 8601 in UTC with a `+00:00` offset and whole seconds, as the vendor writes times. */
function isoWithOffset(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace('.000Z', '+00:00');
}
