import type { IncomingMessage, ServerResponse } from 'node:http';
import { httpDate, jsonReply, type Reply, textReply } from './http.js';
import type { FakeProtocol } from './options.js';

/** What can go wrong with one answer; see the README's table for exactly what each sends. */
export type FaultKind =
  | 'status500'
  | 'status502'
  | 'status503'
  | 'status429'
  | 'timeout'
  | 'lateAnswer'
  | 'echoRequest'
  | 'hang'
  | 'reset'
  | 'malformedJson'
  | 'htmlError'
  | 'ssoPage'
  | 'ssoRedirect'
  | 'hugeBody'
  | 'emptyBody'
  | 'truncated'
  | 'crlfToken'
  | 'missingExpiry'
  | 'pastExpiry'
  | 'stringLifetime'
  | 'extraFields'
  | 'rotateThen500'
  | 'expired';

/** The kinds of endpoint a fault can be aimed at. */
export type FaultEndpoint = 'login' | 'refresh' | 'api' | 'logout' | 'switch';

export interface FaultOptions {
  /** How many consecutive calls of the endpoint get the fault. Default 1. */
  count?: number;
  /** 'timeout' and 'lateAnswer': how long the answer is held back, in real milliseconds. Default 30 000. */
  delayMs?: number;
}

export interface FaultControl {
  /**
   * Injects `kind` into the next `count` (default 1) calls of `endpoint`. Faults queue up in the
   * order given. Throws a TypeError for a fault that cannot happen there (for example
   * 'stringLifetime' outside refreshToken, or 'expired' on a login).
   */
  next(endpoint: FaultEndpoint, kind: FaultKind, options?: FaultOptions): void;
  /** Drops every queued fault. */
  clear(): void;
  /** How many calls of `endpoint` will still get a fault. */
  pending(endpoint: FaultEndpoint): number;
}

export interface ArmedFault {
  kind: FaultKind;
  delayMs: number;
}

/** Faults that let the protocol answer and then change its successful token response. */
export type ShapeFault = 'crlfToken' | 'missingExpiry' | 'pastExpiry' | 'stringLifetime' | 'extraFields' | 'rotateThen500';
const SHAPE_FAULTS: ReadonlySet<FaultKind> = new Set<ShapeFault>([
  'crlfToken',
  'missingExpiry',
  'pastExpiry',
  'stringLifetime',
  'extraFields',
  'rotateThen500',
]);
const TOKEN_ENDPOINTS: readonly FaultEndpoint[] = ['login', 'refresh'];
const ENDPOINTS: readonly FaultEndpoint[] = ['login', 'refresh', 'api', 'logout', 'switch'];
/** Faults that replace the whole answer; with the shape faults and `expired`, every kind there is. */
const ANSWER_FAULTS: readonly FaultKind[] = [
  'status500',
  'status502',
  'status503',
  'status429',
  'timeout',
  'lateAnswer',
  'echoRequest',
  'hang',
  'reset',
  'malformedJson',
  'htmlError',
  'ssoPage',
  'ssoRedirect',
  'hugeBody',
  'emptyBody',
  'truncated',
];
const ALL_KINDS: ReadonlySet<string> = new Set<FaultKind>([...ANSWER_FAULTS, ...SHAPE_FAULTS, 'expired']);
const DEFAULT_TIMEOUT_DELAY_MS = 30_000;

export function isShapeFault(kind: FaultKind): kind is ShapeFault {
  return SHAPE_FAULTS.has(kind);
}

/** Where each fault makes sense; anything else is a mistake in the test, reported at once. */
function whereNotApplicable(protocol: FakeProtocol, endpoint: FaultEndpoint, kind: FaultKind): string | undefined {
  if (endpoint === 'logout' && protocol !== 'basicAuth') return `${protocol} has no logout endpoint`;
  if (endpoint === 'switch' && protocol !== 'refreshToken') return `${protocol} has no account switch endpoint`;
  if (kind === 'expired' && endpoint !== 'api') return "'expired' applies to 'api' calls only";
  if (kind === 'rotateThen500' && endpoint !== 'refresh') return "'rotateThen500' applies to 'refresh' calls only";
  if (isShapeFault(kind) && !TOKEN_ENDPOINTS.includes(endpoint)) return `'${kind}' applies to 'login' and 'refresh' calls only`;
  if ((kind === 'missingExpiry' || kind === 'pastExpiry') && protocol === 'sessionRenew')
    return `sessionRenew responses carry no expiry, so '${kind}' cannot apply`;
  if (kind === 'stringLifetime' && protocol !== 'refreshToken') return "'stringLifetime' applies to refreshToken only";
  return undefined;
}

/** The per-endpoint queues behind {@link FaultControl}. */
export class FaultQueue implements FaultControl {
  private readonly queues = new Map<FaultEndpoint, Array<ArmedFault & { remaining: number }>>();

  constructor(private readonly protocol: FakeProtocol) {}

  next(endpoint: FaultEndpoint, kind: FaultKind, options: FaultOptions = {}): void {
    if (!ENDPOINTS.includes(endpoint)) throw new TypeError(`faults.next: unknown endpoint ${String(endpoint)}`);
    if (!ALL_KINDS.has(kind)) throw new TypeError(`faults.next: unknown fault kind ${String(kind)}`);
    const problem = whereNotApplicable(this.protocol, endpoint, kind);
    if (problem) throw new TypeError(`faults.next('${endpoint}', '${kind}'): ${problem}`);
    const count = options.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new TypeError(`faults.next: count must be an integer >= 1, got ${count}`);
    const delayMs = options.delayMs ?? DEFAULT_TIMEOUT_DELAY_MS;
    if (!Number.isFinite(delayMs) || delayMs < 0) throw new TypeError(`faults.next: delayMs must be >= 0, got ${delayMs}`);
    const queue = this.queues.get(endpoint) ?? [];
    queue.push({ kind, delayMs, remaining: count });
    this.queues.set(endpoint, queue);
  }

  /** The fault for this call of `endpoint`, if one is queued; consumes it. */
  take(endpoint: FaultEndpoint): ArmedFault | undefined {
    const queue = this.queues.get(endpoint);
    const head = queue?.[0];
    if (!queue || !head) return undefined;
    head.remaining -= 1;
    if (head.remaining === 0) queue.shift();
    return { kind: head.kind, delayMs: head.delayMs };
  }

  clear(): void {
    this.queues.clear();
  }

  pending(endpoint: FaultEndpoint): number {
    return (this.queues.get(endpoint) ?? []).reduce((sum, fault) => sum + fault.remaining, 0);
  }
}

const HUGE_BODY_BYTES = 2 * 1024 * 1024;
const SSO_REDIRECT_URL = 'http://127.0.0.1:1/adfs/ls?client=x';

/** The fixed answer of a fault that replaces the whole response, or undefined for the others. */
export function faultReply(kind: FaultKind): Reply | undefined {
  switch (kind) {
    case 'status500':
      return textReply(500, 'Internal Server Error');
    case 'status502':
      return textReply(502, 'Bad Gateway');
    case 'status503':
      return textReply(503, 'Service Unavailable');
    case 'status429':
      return { ...textReply(429, 'Too Many Requests'), headers: { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1' } };
    case 'malformedJson':
      return { ...jsonReply(200, null), body: '{"token": "abc' };
    case 'htmlError':
      return textReply(500, HTML_ERROR_PAGE, 'text/html; charset=utf-8');
    case 'ssoPage':
      return textReply(200, SSO_LOGIN_PAGE, 'text/html; charset=utf-8');
    case 'ssoRedirect':
      return { status: 302, headers: { location: SSO_REDIRECT_URL }, body: '' };
    case 'emptyBody':
      return { status: 200, headers: { 'content-type': 'application/json' }, body: '' };
    case 'hugeBody': {
      const envelope = '{"padding":""}';
      return { ...jsonReply(200, null), body: `{"padding":"${'x'.repeat(HUGE_BODY_BYTES - envelope.length)}"}` };
    }
    default:
      return undefined;
  }
}

/**
 * Faults that break the connection rather than answer: 'hang' leaves the request open (until the
 * server closes), 'reset' destroys the socket, 'truncated' promises 200 bytes and sends 20.
 * Returns false for every other kind.
 */
export function breakConnection(kind: FaultKind, req: IncomingMessage, res: ServerResponse, serverNow: number): boolean {
  switch (kind) {
    case 'hang':
      return true;
    case 'reset':
      req.socket.destroy();
      return true;
    case 'truncated':
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '200', date: httpDate(serverNow) });
      res.write('{"token": "truncated', () => res.socket?.end());
      return true;
    default:
      return false;
  }
}

const HTML_ERROR_PAGE = `<!DOCTYPE html>
<html><head><title>500 Internal Server Error</title></head>
<body><h1>Internal Server Error</h1><p>The server encountered an unexpected condition.</p></body></html>
`;

const SSO_LOGIN_PAGE = `<!DOCTYPE html>
<html><head><title>Sign In</title></head>
<body>
<form method="post" id="loginForm" action="/adfs/ls/?client=x">
  <input id="userNameInput" name="UserName" type="email" placeholder="someone@example.com">
  <input id="passwordInput" name="Password" type="password">
  <input id="submitButton" type="submit" value="Sign in">
</form>
</body></html>
`;
