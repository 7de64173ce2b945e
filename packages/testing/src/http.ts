import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a route answers; written by {@link sendReply}, which adds `Date` and `Content-Length`. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

/** Request bodies larger than this are refused with 413. */
export const MAX_REQUEST_BODY_BYTES = 64 * 1024;
// Past this, a client is not sending a mistake but a flood: stop draining and drop the socket.
const MAX_DRAIN_BYTES = 16 * 1024 * 1024;

export function jsonReply(status: number, value: unknown, headers: Record<string, string> = {}): Reply {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(value) };
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * The answer to `/redirect?to=<absolute URL>&status=<3xx>` (status default 302), which both fake
 * servers serve so that redirect chains can leave an origin and come back.
 */
export function redirectReply(query: URLSearchParams): Reply {
  const target = query.get('to');
  const status = Number(query.get('status') ?? 302);
  if (!target || !URL.canParse(target)) return textReply(400, 'to= must be an absolute URL');
  if (!REDIRECT_STATUSES.has(status)) return textReply(400, 'status= must be 301, 302, 303, 307 or 308');
  return { status, headers: { location: target }, body: '' };
}

export function textReply(status: number, body: string, contentType = 'text/plain; charset=utf-8'): Reply {
  return { status, headers: { 'content-type': contentType }, body };
}

/** Writes a reply with a `Date` header taken from the server's (possibly skewed) clock. */
export function sendReply(res: ServerResponse, reply: Reply, serverNow: number): void {
  if (res.headersSent || res.destroyed) return;
  const body = typeof reply.body === 'string' ? Buffer.from(reply.body, 'utf8') : reply.body;
  res.writeHead(reply.status, {
    ...reply.headers,
    date: httpDate(serverNow),
    'content-length': String(body.length),
  });
  res.end(body);
}

export function httpDate(epochMs: number): string {
  return new Date(epochMs).toUTCString();
}

/** The whole request body, `'tooLarge'` past {@link MAX_REQUEST_BODY_BYTES}, or undefined if the client went away. */
export function readBody(req: IncomingMessage): Promise<Buffer | 'tooLarge' | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received <= MAX_REQUEST_BODY_BYTES) chunks.push(chunk);
      else if (received > MAX_DRAIN_BYTES) req.socket.destroy();
    });
    req.on('end', () => resolve(received > MAX_REQUEST_BODY_BYTES ? 'tooLarge' : Buffer.concat(chunks)));
    req.on('error', () => resolve(undefined));
    req.on('close', () => resolve(undefined)); // no-op when 'end' resolved first
  });
}

/** The token of an `Authorization: Bearer <token>` header, if that is what was sent. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const match = /^Bearer +(\S.*)$/i.exec(headers.authorization ?? '');
  return match?.[1]?.trim();
}

/** Username and password of an `Authorization: Basic ...` header, if one was sent and decodes. */
export function basicCredentials(headers: IncomingHttpHeaders): { username: string; password: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/=]+)\s*$/i.exec(headers.authorization ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function isBasicAuthorization(headers: IncomingHttpHeaders): boolean {
  return /^Basic\b/i.test(headers.authorization ?? '');
}

/** A JSON object, or undefined when the body is not JSON or not an object. */
export function parseJsonObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The fields of a JSON, `application/x-www-form-urlencoded` or `multipart/form-data` body (text
 * fields only), chosen by `Content-Type`; undefined when the body does not parse.
 */
export function parseFormFields(headers: IncomingHttpHeaders, body: Buffer): Record<string, unknown> | undefined {
  const contentType = (headers['content-type'] ?? '').toLowerCase();
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(body.toString('utf8')));
  }
  if (contentType.startsWith('multipart/form-data')) {
    const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(headers['content-type'] ?? '');
    const value = boundary?.[1] ?? boundary?.[2];
    return value ? parseMultipart(body.toString('utf8'), value) : undefined;
  }
  return parseJsonObject(body);
}

function parseMultipart(body: string, boundary: string): Record<string, unknown> | undefined {
  const fields: Record<string, unknown> = {};
  const parts = body.split(`--${boundary}`);
  // parts[0] is the preamble; the last part starts with '--' (the closing delimiter).
  for (const part of parts.slice(1)) {
    if (part.startsWith('--')) return fields;
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd < 0) return undefined;
    const name = /content-disposition:[^\r\n]*\bname="([^"]*)"/i.exec(part.slice(0, headerEnd))?.[1];
    if (name === undefined) return undefined;
    fields[name] = part.slice(headerEnd + 4).replace(/\r\n$/, '');
  }
  return undefined; // no closing delimiter
}

/** Listens on 127.0.0.1 and a free port (tests run in parallel); resolves with the port. */
export function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
