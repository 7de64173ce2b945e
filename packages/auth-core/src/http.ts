import { deadline } from './abort.js';
import { AuthError, type UpstreamDetails } from './errors.js';

/** What a protocol needs to talk to its upstream: bounded, abortable, size-capped HTTP. */
export interface UpstreamClient {
  /** Sends one request; resolves with the whole (capped) body, or throws an AuthError. */
  send(operation: UpstreamDetails['operation'], url: string, init: RequestInit): Promise<UpstreamResponse>;
  /** Epoch ms on the keeper's clock; read before a call so lifetimes count from the send. */
  now(): number;
}

export interface UpstreamResponse {
  status: number;
  headers: Headers;
  body: string;
  /** When the request was sent, on the keeper's clock. */
  sentAt: number;
  /**
   * With `errorBodyPreview` on, up to 200 characters of a 4xx/5xx body with every secret of the
   * call (credentials, tokens, the request's header values) replaced by `[redacted]`.
   */
  errorPreview?: string;
}

export interface UpstreamClientOptions {
  fetch: typeof globalThis.fetch;
  timeoutMs: number;
  maxBodyBytes: number;
  now: () => number;
  signal?: AbortSignal | undefined;
  /** Keep a scrubbed preview of error bodies (`TokenKeeperOptions.errorBodyPreview`). Default `false`. */
  errorBodyPreview?: boolean;
}

/** Builds the client one protocol call uses: its own timeout, the caller's signal, a body cap. */
export function createUpstreamClient(options: UpstreamClientOptions): UpstreamClient {
  return {
    now: options.now,
    async send(operation, url, init) {
      const limit = deadline(options.timeoutMs, options.signal);
      const sentAt = options.now();
      try {
        // Protocol calls never follow redirects: a redirect here is an SSO page or a misconfiguration.
        const response = await options.fetch(url, { ...init, signal: limit.signal, redirect: 'manual' });
        const body = await readCapped(response, options.maxBodyBytes, operation);
        const answer: UpstreamResponse = { status: response.status, headers: response.headers, body, sentAt };
        if (options.errorBodyPreview && response.status >= 400 && body) answer.errorPreview = scrub(body, secretsOf(init)).slice(0, 200);
        return answer;
      } catch (error) {
        if (error instanceof AuthError) throw error;
        if (options.signal?.aborted) throw options.signal.reason;
        if (limit.timedOut) {
          throw new AuthError('TIMEOUT', `upstream ${operation} took longer than ${options.timeoutMs} ms`, {
            upstream: { operation, outcomeUnknown: true },
          });
        }
        throw networkFailure(operation, error);
      } finally {
        limit.clear();
      }
    },
  };
}

async function readCapped(response: Response, maxBytes: number, operation: UpstreamDetails['operation']): Promise<string> {
  const tooLarge = () =>
    new AuthError('UPSTREAM_MALFORMED', `upstream ${operation} answer is larger than ${maxBytes} bytes`, {
      upstream: { operation, status: response.status, outcomeUnknown: true },
    });
  const declared = Number(response.headers.get('content-length'));
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) throw tooLarge(); // leaving the loop cancels the stream
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** Failures that happen before a request reaches the upstream: it cannot have acted. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_INVALID_URL']);

/** An `UPSTREAM_UNAVAILABLE` for a call that failed on the network, saying whether the upstream may have acted on it. */
export function networkFailure(operation: UpstreamDetails['operation'], error: unknown): AuthError {
  const reason = networkReason(error);
  return new AuthError('UPSTREAM_UNAVAILABLE', `upstream ${operation} failed: ${reason}`, {
    cause: error,
    upstream: { operation, outcomeUnknown: !NOT_SENT.has(reason) },
  });
}

/** A short, secret-free reason for a network failure (`ECONNRESET`, `ECONNREFUSED`, …). */
function networkReason(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return 'connection failed';
}

/** Header values that carry no secret. */
const PLAIN_HEADERS = new Set(['accept', 'content-type', 'content-length', 'user-agent', 'accept-encoding']);
const REDACTED = '[redacted]';

/** Every secret one call carries: its header values (Basic credentials decoded) and its body's values. */
export function secretsOf(init: RequestInit): string[] {
  const secrets: string[] = [];
  const add = (value: unknown) => {
    if (typeof value === 'string' && value.length >= 4) secrets.push(value);
  };
  for (const [name, value] of new Headers(init.headers)) {
    if (PLAIN_HEADERS.has(name)) continue;
    add(value);
    const [scheme, credential] = value.split(' ');
    add(credential);
    if (credential && /^basic$/i.test(scheme ?? '')) {
      const decoded = Buffer.from(credential, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      add(decoded.slice(0, colon));
      add(decoded.slice(colon + 1));
    }
  }
  if (typeof init.body === 'string') {
    add(init.body);
    try {
      collectStrings(JSON.parse(init.body), add);
    } catch {
      for (const [, value] of new URLSearchParams(init.body)) add(value);
    }
  } else if (init.body instanceof URLSearchParams) {
    for (const [, value] of init.body) add(value);
  }
  return secrets;
}

function collectStrings(value: unknown, add: (value: unknown) => void, depth = 0): void {
  if (depth > 8) return;
  if (typeof value === 'string') add(value);
  else if (typeof value === 'object' && value !== null) for (const item of Object.values(value)) collectStrings(item, add, depth + 1);
}

/** Replaces every secret, as written and as JSON or URL encoding would write it, with `[redacted]`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let scrubbed = text;
  const forms = secrets.flatMap((secret) => [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)]);
  for (const form of [...new Set(forms)].sort((a, b) => b.length - a.length)) scrubbed = scrubbed.replaceAll(form, REDACTED);
  return scrubbed;
}

/** The content type without parameters, lower-cased. */
export function mediaType(headers: Headers): string {
  return (headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Safe facts about an answer for an error. No raw body is kept: an upstream's error page may
 * quote the request (a password, a refresh token). Only a scrubbed preview of a 4xx/5xx body, and
 * only with `errorBodyPreview` on; never of a 3xx or a success (those may hold tokens).
 */
export function describeAnswer(operation: UpstreamDetails['operation'], response: UpstreamResponse): UpstreamDetails {
  const details: UpstreamDetails = { operation, status: response.status };
  const contentType = mediaType(response.headers);
  if (contentType) details.contentType = contentType;
  if (response.errorPreview) details.bodyPreview = response.errorPreview;
  // A 5xx or an unusable success: the upstream may have acted (rotated a refresh token) anyway.
  if (response.status >= 500 || (response.status >= 200 && response.status < 300)) details.outcomeUnknown = true;
  if (response.status === 429 || response.status === 503) {
    const pause = retryAfterMs(response.headers, response.sentAt);
    if (pause !== undefined) details.retryAfterMs = pause;
  }
  return details;
}

/** No upstream pause is believed for longer: a larger `Retry-After` is a mistake, and sessions must not stall for a day. */
const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * An answer's `Retry-After` (RFC 9110 §10.2.3: seconds, or an HTTP date counted against the
 * answer's own `Date`, which cancels a skewed clock), in ms, capped at an hour; `undefined`
 * when it has none or it cannot be read.
 */
export function retryAfterMs(headers: Headers, sentAt: number): number | undefined {
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Math.min(Number(value) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  const date = Date.parse(headers.get('date') ?? '');
  const pause = at - (Number.isNaN(date) ? sentAt : date);
  return Math.min(Math.max(pause, 0), MAX_RETRY_AFTER_MS);
}
