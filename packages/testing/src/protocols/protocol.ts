import type { IncomingHttpHeaders } from 'node:http';
import type { FaultEndpoint, ShapeFault } from '../faults.js';
import type { Reply } from '../http.js';
import type { IssuedAssertions } from '../idp.js';
import type { ResolvedOptions } from '../options.js';
import type { FakeStats } from '../stats.js';
import type { AccessToken, TokenStore } from '../tokens.js';
import type { FakeUser } from '../users.js';

/** What a route sees of a request. */
export interface RequestContext {
  headers: IncomingHttpHeaders;
  query: URLSearchParams;
  body: Buffer;
  /** A fault that changes this call's successful token response, if one was queued. */
  shapeFault: ShapeFault | undefined;
}

interface RouteBase {
  method: 'GET' | 'POST';
  /** Path without query. */
  path: string;
}

/** An endpoint anyone may call; `endpoint` names the fault queue it draws from, if any. */
export interface OpenRoute extends RouteBase {
  protected?: false;
  endpoint?: FaultEndpoint;
  handle(context: RequestContext): Reply;
}

/** A resource behind the access token; the server answers the expiry signal for a bad token itself. */
export interface ProtectedRoute extends RouteBase {
  protected: true;
  handle(context: RequestContext, token: AccessToken, user: FakeUser): Reply;
}

export type Route = OpenRoute | ProtectedRoute;

/** One protocol's endpoints plus its answer to a dead token. */
export interface ProtocolDefinition {
  routes: Route[];
  /** What an API call with an expired, revoked or unknown token gets. */
  expirySignal(): Reply;
}

/** The server state every protocol works on. */
export interface UpstreamState {
  options: ResolvedOptions;
  stats: FakeStats;
  tokens: TokenStore;
  /** The server's time: the clock plus the skew. */
  serverNow(): number;
  /** SSO mode: the identity provider, once it listens. */
  idp?: IssuedAssertions & { url: string };
}

export function findUser(state: UpstreamState, login: 'email' | 'username', name: unknown, password: unknown): FakeUser | undefined {
  if (typeof name !== 'string' || typeof password !== 'string') return undefined;
  return state.options.users.find((user) => user[login] === name && user.password === password);
}

/** The user behind a session, as the users list says now (tests may remove users). */
export function userById(state: UpstreamState, id: number): FakeUser | undefined {
  return state.options.users.find((user) => user.id === id);
}

/** Inserts CR LF into a token, for the 'crlfToken' fault (header injection attempt). */
export function withCrlf(token: string): string {
  const middle = Math.floor(token.length / 2);
  return `${token.slice(0, middle)}\r\n${token.slice(middle)}`;
}

/** Unknown fields a tolerant client must ignore, for the 'extraFields' fault. */
export const EXTRA_FIELDS = { apiVersion: '9.9', scope: ['read', 'write'], meta: { region: 'test', flags: null } } as const;
