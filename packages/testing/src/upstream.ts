import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Clock } from '@tokenkeeper/auth-core';
import { type ArmedFault, breakConnection, type FaultControl, FaultQueue, faultReply, isShapeFault } from './faults.js';
import { bearerToken, jsonReply, listen, type Reply, readBody, redirectReply, sendReply, textReply } from './http.js';
import { startFakeIdp } from './idp.js';
import { type FakeProtocol, type FakeUpstreamOptions, finite, resolveOptions } from './options.js';
import { basicAuthProtocol } from './protocols/basic-auth.js';
import { type ProtocolDefinition, type RequestContext, type Route, type UpstreamState, userById } from './protocols/protocol.js';
import { refreshTokenProtocol } from './protocols/refresh-token.js';
import { sessionRenewProtocol } from './protocols/session-renew.js';
import { type ReceivedRequest, RecordedRequests } from './requests.js';
import { createStats, type FakeStats } from './stats.js';
import { TokenStore } from './tokens.js';
import type { FakeUser } from './users.js';

export interface FakeUpstream {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  readonly url: string;
  readonly protocol: FakeProtocol;
  /** The clock given in the options, or the system clock. */
  readonly clock: Clock;
  /** The users who can log in; tests may push users or change passwords while the server runs. */
  readonly users: FakeUser[];
  readonly stats: FakeStats;
  readonly faults: FaultControl;
  /** Every request received, oldest first: method, path with query, `Authorization` header; the last 10 000. */
  readonly requests: ReceivedRequest[];
  /** Makes one access token (or every one issued so far, when omitted) invalid from now on, as if it died early. */
  expireAccessToken(token?: string): void;
  /** The user id a currently valid access token belongs to; undefined for a dead or unknown token. */
  tokenOwner(token: string): number | undefined;
  /** SSO mode (`sso` option): the fake identity provider, on its own loopback port. */
  readonly idp: { readonly url: string } | undefined;
  /** Changes the server clock's offset from `clock.now()`; positive = server ahead. */
  setClockSkew(ms: number): void;
  /** Drops every connection (releasing hung and delayed requests) and stops listening. */
  close(): Promise<void>;
}

const MAKE_TOKEN: Record<FakeProtocol, () => string> = {
  sessionRenew: () => randomBytes(32).toString('base64url'),
  refreshToken: () => randomUUID(),
  basicAuth: () => randomBytes(32).toString('base64url'),
};

const PROTOCOLS: Record<FakeProtocol, (state: UpstreamState) => ProtocolDefinition> = {
  sessionRenew: sessionRenewProtocol,
  refreshToken: refreshTokenProtocol,
  basicAuth: basicAuthProtocol,
};

/**
 * Starts a fake upstream for `options.protocol` on 127.0.0.1 and a free port.
 *
 * @example
 * const upstream = await startFakeUpstream({ protocol: 'refreshToken', clock });
 * const res = await fetch(`${upstream.url}/auth/login`, {
 *   method: 'POST', headers: { 'content-type': 'application/json' },
 *   body: JSON.stringify({ username: 'ada', password: 'ada-password-1' }),
 * });
 * await upstream.close();
 */
export async function startFakeUpstream(options: FakeUpstreamOptions): Promise<FakeUpstream> {
  const resolved = resolveOptions(options);
  const { clock, protocol } = resolved;
  const serverNow = (): number => clock.now() + resolved.clockSkewMs;
  const stats = createStats();
  // The `Date` header's clock: the upstream's own, or a proxy's in front of it.
  const dateNow = (): number => clock.now() + (resolved.dateClockSkewMs ?? resolved.clockSkewMs);
  const tokens = new TokenStore(serverNow, MAKE_TOKEN[protocol], resolved.jwtAccessTokens);
  const state: UpstreamState = { options: resolved, stats, tokens, serverNow };
  const definition = PROTOCOLS[protocol](state);
  const routes = [...definition.routes, ...commonRoutes()];
  const faults = new FaultQueue(protocol);
  const recorded = new RecordedRequests();
  const delays = new RealTimeDelays();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    recorded.add(req, clock.now());
    const body = await readBody(req);
    if (body === undefined) return;
    if (body === 'tooLarge') return sendReply(res, textReply(413, 'Payload Too Large'), dateNow());
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = routes.find((candidate) => candidate.path === url.pathname && candidate.method === req.method);
    if (!route) {
      const known = routes.some((candidate) => candidate.path === url.pathname);
      return sendReply(res, textReply(known ? 405 : 404, known ? 'Method Not Allowed' : 'Not Found'), dateNow());
    }
    if (route.protected) stats.apiCalls++;
    const endpoint = route.protected ? 'api' : route.endpoint;
    const fault = endpoint ? faults.take(endpoint) : undefined;
    if (resolved.latencyMs > 0 && !(await delays.wait(resolved.latencyMs))) return;
    if (fault?.kind === 'echoRequest') {
      // A careless upstream's error page quotes the request it failed on: credentials, tokens and all.
      const echoed = `error while handling ${body.toString('utf8')} (authorization: ${req.headers.authorization ?? 'none'}, x-auth-token: ${req.headers['x-auth-token'] ?? 'none'})`;
      return sendReply(res, textReply(500, echoed), dateNow());
    }
    if (fault && !isShapeFault(fault.kind)) {
      const answered = await answerFault(fault, req, res);
      if (answered) return;
    }
    const context: RequestContext = {
      headers: req.headers,
      query: url.searchParams,
      body,
      shapeFault: fault && isShapeFault(fault.kind) ? fault.kind : undefined,
    };
    let reply = respond(route, context);
    if (fault?.kind === 'rotateThen500' && reply.status === 200) reply = textReply(500, 'Internal Server Error');
    // Handled (a refresh has rotated) but not yet answered: what a client racing it must survive.
    if (fault?.kind === 'lateAnswer' && !(await delays.wait(fault.delayMs))) return;
    sendReply(res, reply, dateNow());
  }

  /** Answers with the fault; false when the request should then be handled normally ('timeout'). */
  async function answerFault(fault: ArmedFault, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (fault.kind === 'timeout') return !(await delays.wait(fault.delayMs));
    if (fault.kind === 'lateAnswer') return false; // handled now, answered later (see handle)
    if (fault.kind === 'expired') {
      stats.rejected++;
      sendReply(res, definition.expirySignal(), dateNow());
      return true;
    }
    if (breakConnection(fault.kind, req, res, dateNow())) return true;
    const reply = faultReply(fault.kind);
    if (reply) sendReply(res, reply, dateNow());
    return reply !== undefined;
  }

  function respond(route: Route, context: RequestContext): Reply {
    if (!route.protected) return route.handle(context);
    const token = tokens.validAccessToken(bearerToken(context.headers));
    const user = token && userById(state, token.session.userId);
    if (!token || !user) {
      stats.rejected++;
      return definition.expirySignal();
    }
    return route.handle(context, token, user);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      sendReply(res, textReply(500, `fake upstream bug: ${error instanceof Error ? error.message : String(error)}`), dateNow());
    });
  });
  const port = await listen(server);
  const url = `http://127.0.0.1:${port}`;
  const idp = resolved.sso && (await startFakeIdp(resolved.sso, () => resolved.users, stats, `${url}/saml/acs`, dateNow));
  if (idp) state.idp = idp;
  let closing: Promise<void> | undefined;

  return {
    url,
    idp: idp ? { url: idp.url } : undefined,
    protocol,
    clock,
    users: resolved.users,
    stats,
    faults,
    requests: recorded.list,
    expireAccessToken: (token) => tokens.revokeAccessTokens(token),
    tokenOwner: (token) => tokens.validAccessToken(token)?.session.userId,
    setClockSkew(ms) {
      resolved.clockSkewMs = finite('setClockSkew(ms)', ms);
    },
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        delays.releaseAll();
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }).then(() => idp?.close());
      return closing;
    },
  };
}

/** Endpoints every protocol serves, for adapter and redirect tests. */
function commonRoutes(): Route[] {
  return [
    { method: 'GET', path: '/whoami', protected: true, handle: (_context, _token, user) => jsonReply(200, { userId: user.id }) },
    {
      method: 'POST',
      path: '/echo',
      protected: true,
      handle: (context, _token, user) => jsonReply(200, { userId: user.id, body: context.body.toString('utf8') }),
    },
    { method: 'GET', path: '/public', handle: () => jsonReply(200, { public: true }) },
    {
      method: 'GET',
      path: '/redirect',
      handle: ({ query }) => redirectReply(query),
    },
    { method: 'POST', path: '/redirect', handle: ({ query }) => redirectReply(query) },
  ];
}

/** Real-time waits (latency, 'timeout' faults) that close() can cut short. */
class RealTimeDelays {
  private readonly pending = new Map<NodeJS.Timeout, (elapsed: boolean) => void>();

  /** Resolves true after `ms`, or false if the server closed first. */
  wait(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(timer);
        resolve(true);
      }, ms);
      this.pending.set(timer, resolve);
    });
  }

  releaseAll(): void {
    for (const [timer, resolve] of this.pending) {
      clearTimeout(timer);
      resolve(false);
    }
    this.pending.clear();
  }
}
