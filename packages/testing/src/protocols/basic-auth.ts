import type { ShapeFault } from '../faults.js';
import { basicCredentials, bearerToken, isBasicAuthorization, jsonReply, parseJsonObject, type Reply, textReply } from '../http.js';
import type { RefreshToken, Session } from '../tokens.js';
import { EXTRA_FIELDS, findUser, type ProtocolDefinition, type RequestContext, type UpstreamState, withCrlf } from './protocol.js';

/** A refresh or logout request that passed the checks common to both, or the answer refusing it. */
type RefreshCheck = { refused: Reply; reused?: undefined } | { refused?: undefined; reused: boolean; record: RefreshToken };

/**
 * The HTTP Basic + refresh upstream, the Sensu Go API as its source behaves: `GET /auth` with Basic, `POST /auth/token`
 * with the (possibly expired) access token as bearer plus `{refresh_token}`; presenting a refresh
 * token that is no longer the latest deletes the whole session.
 */
export function basicAuthProtocol(state: UpstreamState): ProtocolDefinition {
  const { options, stats, tokens } = state;

  function tokenReply(session: Session, fault: ShapeFault | undefined): Reply {
    const access = tokens.issueAccessToken(session, options.accessTokenLifetimeMs);
    // Sliding: every refresh gives the session another full refresh lifetime, as current Sensu does.
    const refreshExpiresAt = state.serverNow() + options.refreshTokenLifetimeMs;
    const refresh = tokens.issueRefreshToken(session, refreshExpiresAt, options.rotateRefreshTokens);
    const body: Record<string, unknown> = {
      access_token: fault === 'crlfToken' ? withCrlf(access.token) : access.token,
      expires_at: Math.floor(access.expiresAt / 1000),
      refresh_token: refresh.token,
    };
    if (fault === 'missingExpiry') delete body.expires_at;
    else if (fault === 'pastExpiry') body.expires_at = Math.floor((state.serverNow() - 60_000) / 1000);
    else if (fault === 'extraFields') Object.assign(body, EXTRA_FIELDS);
    return jsonReply(200, body);
  }

  function login({ headers, shapeFault }: RequestContext): Reply {
    const credentials = basicCredentials(headers);
    const user = findUser(state, 'username', credentials?.username, credentials?.password);
    if (!user) {
      stats.loginFailures++;
      return unauthorized();
    }
    stats.logins++;
    return tokenReply(tokens.createSession(user.id), shapeFault);
  }

  function testCredentials({ headers }: RequestContext): Reply {
    const credentials = basicCredentials(headers);
    if (findUser(state, 'username', credentials?.username, credentials?.password)) return textReply(200, '');
    stats.loginFailures++;
    return unauthorized();
  }

  // The order of checks follows Sensu's handler: the header first, then the body, then the session.
  function checkRefreshRequest({ headers, body }: RequestContext): RefreshCheck {
    if (isBasicAuthorization(headers)) return { refused: textReply(400, 'bad request: basic authentication is not accepted here') };
    // Any token this server signed is accepted, expired or not, as Sensu only checks the signature.
    const bearer = tokens.findAccessToken(bearerToken(headers));
    if (!bearer) return { refused: unauthorized() };
    const fields = parseJsonObject(body);
    if (!fields) return { refused: textReply(400, 'bad request: invalid JSON body') };
    const presented = fields.refresh_token;
    const record = typeof presented === 'string' && presented !== '' ? tokens.findRefreshToken(presented) : undefined;
    if (!record || record.session.userId !== bearer.session.userId || record.session.loggedOut || tokens.isExpired(record)) {
      return { refused: unauthorized() };
    }
    return { reused: !tokens.isLatest(record), record };
  }

  function refresh(context: RequestContext): Reply {
    const check = checkRefreshRequest(context);
    if (check.refused) {
      stats.refreshFailures++;
      return check.refused;
    }
    if (check.reused) {
      tokens.deleteSession(check.record.session);
      stats.reuseDetections++;
      stats.refreshFailures++;
      return textReply(400, 'invalid access token');
    }
    stats.refreshes++;
    return tokenReply(check.record.session, context.shapeFault);
  }

  function logout(context: RequestContext): Reply {
    const check = checkRefreshRequest(context);
    if (check.refused) return check.refused;
    // Sensu checks a logout like a refresh: an old refresh token is reuse, and the session goes.
    if (check.reused) {
      tokens.deleteSession(check.record.session);
      stats.reuseDetections++;
      return textReply(400, 'invalid access token');
    }
    // Refreshes end here; access tokens keep working until they expire.
    check.record.session.loggedOut = true;
    stats.logouts++;
    return textReply(200, '');
  }

  return {
    expirySignal: () => jsonReply(401, { Code: 5, Message: 'invalid credentials' }),
    routes: [
      { method: 'GET', path: '/auth', endpoint: 'login', handle: login },
      { method: 'GET', path: '/auth/test', handle: testCredentials },
      { method: 'POST', path: '/auth/token', endpoint: 'refresh', handle: refresh },
      { method: 'POST', path: '/auth/logout', endpoint: 'logout', handle: logout },
      {
        method: 'GET',
        path: '/api/core/v2/namespaces',
        protected: true,
        handle: () => jsonReply(200, [{ name: 'default' }]),
      },
    ],
  };
}

function unauthorized(): Reply {
  return textReply(401, 'Unauthorized');
}
