import { errorChannel } from './diagnostics.js';

/** The HTTP status an adapter answers with for each {@link AuthErrorCode}. */
export const AUTH_ERROR_STATUS = {
  /** The upstream refused the credentials. */
  INVALID_CREDENTIALS: 401,
  /** Seed 000: the user is not an active member of any org (upstream 404 on login). */
  NO_ACTIVE_MEMBERSHIP: 403,
  /** No session under this key: log in first. */
  NOT_LOGGED_IN: 401,
  /** The session can no longer be renewed or refreshed and no credentials are at hand. */
  SESSION_EXPIRED: 401,
  /** The upstream answered a status the protocol does not expect. */
  UPSTREAM_REJECTED: 502,
  /** The upstream could not be reached, reset the connection, or answered 5xx/429. */
  UPSTREAM_UNAVAILABLE: 502,
  /** The upstream's answer could not be used: bad JSON, HTML, missing fields, unsafe token. */
  UPSTREAM_MALFORMED: 502,
  /** An upstream call, lock or store call took longer than its timeout. */
  TIMEOUT: 504,
  /** The session store (or the keeper itself, once closed) cannot be used. */
  STORE_UNAVAILABLE: 503,
} as const;

export type AuthErrorCode = keyof typeof AUTH_ERROR_STATUS;

/** Safe facts about the upstream answer behind an error: never a body that may hold a token. */
export interface UpstreamDetails {
  /** Which call failed. */
  operation: 'login' | 'refresh' | 'logout' | 'verify' | 'request';
  status?: number;
  contentType?: string;
  /** Up to 200 characters of an error body (non-2xx answers only; success bodies may hold tokens). */
  bodyPreview?: string;
}

export interface AuthErrorOptions {
  cause?: unknown;
  upstream?: UpstreamDetails;
}

/**
 * The one error class of tokenkeeper. `code` is stable and `status` is what an HTTP adapter
 * should answer with. Messages are written by tokenkeeper, never copied from credentials or
 * token responses, so they are safe to log.
 *
 * @example
 * try { await session.login(credentials) }
 * catch (error) { if (error instanceof AuthError && error.code === 'INVALID_CREDENTIALS') … }
 */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  readonly code: AuthErrorCode;
  readonly status: number;
  readonly upstream: UpstreamDetails | undefined;

  constructor(code: AuthErrorCode, message: string, options: AuthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = AUTH_ERROR_STATUS[code];
    this.upstream = options.upstream;
    if (errorChannel.hasSubscribers) errorChannel.publish(this);
  }

  toJSON(): { name: string; code: AuthErrorCode; status: number; message: string; upstream?: UpstreamDetails } {
    return {
      name: this.name,
      code: this.code,
      status: this.status,
      message: this.message,
      ...(this.upstream && { upstream: this.upstream }),
    };
  }
}

export function isAuthError(value: unknown, code?: AuthErrorCode): value is AuthError {
  return value instanceof AuthError && (code === undefined || value.code === code);
}

/** Turns whatever a call threw into an AuthError, keeping AuthErrors as they are. */
export function toAuthError(error: unknown, fallback: AuthErrorCode, message: string): AuthError {
  if (error instanceof AuthError) return error;
  return new AuthError(fallback, message, { cause: error });
}
