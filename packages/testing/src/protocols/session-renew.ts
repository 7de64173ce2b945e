import { randomBytes } from 'node:crypto';
import type { ShapeFault } from '../faults.js';
import { bearerToken, jsonReply, parseFormFields, parseJsonObject, type Reply, textReply } from '../http.js';
import { assertionIdOf } from '../idp.js';
import type { FakeUser } from '../users.js';
import { EXTRA_FIELDS, findUser, type ProtocolDefinition, type RequestContext, type UpstreamState, withCrlf } from './protocol.js';

/**
 * The session-renew upstream (Resolver Core session tokens): log in with email, password and org; renew the
 * still-valid bearer with `GET /user/authenticate`; 403 for a dead token.
 */
export function sessionRenewProtocol(state: UpstreamState): ProtocolDefinition {
  const { options, stats, tokens } = state;

  function tokenReply(token: string, fault: ShapeFault | undefined): Reply {
    const sent = fault === 'crlfToken' ? withCrlf(token) : token;
    if (options.loginBody === 'text') return textReply(200, sent);
    return jsonReply(200, fault === 'extraFields' ? { token: sent, ...EXTRA_FIELDS } : { token: sent });
  }

  function login({ body, shapeFault }: RequestContext): Reply {
    const fields = parseJsonObject(body);
    const selectedOrg = fields?.selectedOrg ?? undefined;
    if (
      !fields ||
      typeof fields.email !== 'string' ||
      typeof fields.password !== 'string' ||
      (selectedOrg !== undefined && !Number.isInteger(selectedOrg))
    ) {
      stats.loginFailures++;
      return jsonReply(400, { message: 'Body must be JSON {email, password, selectedOrg?}' });
    }
    if (state.idp) return redirectToIdp(selectedOrg as number | undefined);
    const user = findUser(state, 'email', fields.email, fields.password);
    if (!user) {
      stats.loginFailures++;
      return jsonReply(401, { message: 'Invalid email or password' });
    }
    return startSession(user, selectedOrg as number | undefined, shapeFault);
  }

  function startSession(user: FakeUser, selectedOrg: number | undefined, shapeFault: ShapeFault | undefined): Reply {
    const orgs = user.orgs ?? [];
    const orgId = selectedOrg === undefined ? orgs[0] : selectedOrg;
    if (orgId === undefined || !orgs.includes(orgId)) {
      stats.loginFailures++;
      return jsonReply(404, { message: 'User is not an active member of any org' });
    }
    const session = tokens.createSession(user.id, { orgId });
    stats.logins++;
    return tokenReply(tokens.issueAccessToken(session, options.accessTokenLifetimeMs).token, shapeFault);
  }

  /** Sign-ins sent to the IdP, by RelayState, until its answer comes back. */
  const pending = new Map<string, { selectedOrg: number | undefined }>();

  function redirectToIdp(selectedOrg: number | undefined): Reply {
    const relayState = randomBytes(12).toString('base64url');
    pending.set(relayState, { selectedOrg });
    const request = Buffer.from(`<samlp:AuthnRequest ID="_${relayState}" Destination="${state.idp!.url}/adfs/ls/"/>`).toString('base64');
    const location = `${state.idp!.url}/adfs/ls/?SAMLRequest=${encodeURIComponent(request)}&RelayState=${relayState}`;
    return { status: 302, headers: { location }, body: '' };
  }

  /** The assertion consumer service: the IdP's answer (SAMLResponse or code) in, the session token out. */
  function acs({ headers, body }: RequestContext): Reply {
    const fields = parseFormFields(headers, body) ?? {};
    const relayState = String(fields.RelayState ?? fields.state ?? '');
    const signIn = pending.get(relayState);
    const assertion = typeof fields.SAMLResponse === 'string' ? assertionIdOf(fields.SAMLResponse) : fields.code;
    const email = signIn && typeof assertion === 'string' ? state.idp?.consume(assertion) : undefined;
    const user = email === undefined ? undefined : state.options.users.find((candidate) => candidate.email === email);
    if (!signIn || !user) {
      stats.loginFailures++;
      return jsonReply(400, { message: 'No valid sign-in response' });
    }
    pending.delete(relayState);
    if (state.options.sso?.handoff !== 'redirect') return startSession(user, signIn.selectedOrg, undefined);
    // The browser way: a session cookie and a redirect; a client trades the cookie for the token.
    const cookie = randomBytes(12).toString('base64url');
    handoffs.set(cookie, { user, selectedOrg: signIn.selectedOrg });
    return {
      status: 303,
      headers: { location: '/user/authenticate/sso', 'set-cookie': `CoreSession=${cookie}; Path=/; HttpOnly` },
      body: '',
    };
  }

  /** Session cookies the ACS set, by value, until traded for a token once. */
  const handoffs = new Map<string, { user: FakeUser; selectedOrg: number | undefined }>();

  function tradeCookie({ headers }: RequestContext): Reply {
    const cookie = /(?:^|;\s*)CoreSession=([^;]+)/.exec(headers.cookie ?? '')?.[1] ?? '';
    const handoff = handoffs.get(cookie);
    if (!handoff) {
      stats.loginFailures++;
      return jsonReply(401, { message: 'No SSO session' });
    }
    handoffs.delete(cookie);
    return startSession(handoff.user, handoff.selectedOrg, undefined);
  }

  function renew({ headers, shapeFault }: RequestContext): Reply {
    const current = tokens.validAccessToken(bearerToken(headers));
    if (!current) {
      stats.refreshFailures++;
      return forbidden();
    }
    // The old token stays valid until its own expiry.
    stats.renewals++;
    return tokenReply(tokens.issueAccessToken(current.session, options.accessTokenLifetimeMs).token, shapeFault);
  }

  return {
    expirySignal: forbidden,
    routes: [
      { method: 'POST', path: '/user/authenticate', endpoint: 'login', handle: login },
      { method: 'GET', path: '/user/authenticate', endpoint: 'refresh', handle: renew },
      { method: 'POST', path: '/saml/acs', handle: acs },
      { method: 'GET', path: '/user/authenticate/sso', handle: tradeCookie },
      {
        method: 'GET',
        path: '/user/users/me',
        protected: true,
        handle: (_context, token, user) => jsonReply(200, { id: user.id, email: user.email, currentOrg: { id: token.session.orgId } }),
      },
    ],
  };
}

function forbidden(): Reply {
  return jsonReply(403, { message: 'Forbidden' });
}
