import { AuthError, stateError, type UpstreamDetails } from '../errors.js';
import { describeAnswer, mediaType, type UpstreamResponse } from '../http.js';
import { malformed } from '../tokens.js';

/** Which failure statuses mean what, for one kind of call. Anything else 4xx is `UPSTREAM_REJECTED`. */
export interface StatusMeaning {
  /** Statuses that mean the credentials are wrong (login) → `INVALID_CREDENTIALS`. */
  invalidCredentials?: readonly number[];
  /** Statuses that mean "no active membership" (the session-renew upstream's login) → `NO_ACTIVE_MEMBERSHIP`. */
  noMembership?: readonly number[];
  /** Statuses that mean the credentials are right but this login is not allowed (an account the user may not use) → `ACCESS_DENIED`. */
  accessDenied?: readonly number[];
  /** Statuses that mean the renew/refresh was refused → `SESSION_EXPIRED`. */
  refused?: readonly number[] | 'any-4xx';
}

/**
 * Throws the AuthError a non-2xx answer stands for. 3xx is an SSO redirect or a wrong URL;
 * 429 and 5xx mean the upstream is unavailable right now.
 */
export function expectSuccess(operation: UpstreamDetails['operation'], response: UpstreamResponse, meaning: StatusMeaning): void {
  const { status } = response;
  if (status >= 200 && status < 300) return;
  const upstream = describeAnswer(operation, response);
  if (status >= 300 && status < 400) {
    const location = response.headers.get('location');
    const where = location ? ` to ${safeOrigin(location)}` : '';
    throw new AuthError('UPSTREAM_REJECTED', `upstream ${operation} was redirected${where} (an SSO login page?)`, { upstream });
  }
  if (status === 429 || status >= 500) {
    throw new AuthError('UPSTREAM_UNAVAILABLE', `upstream ${operation} answered ${status}`, { upstream });
  }
  if (meaning.invalidCredentials?.includes(status)) {
    throw new AuthError('INVALID_CREDENTIALS', 'the upstream refused the credentials', { upstream });
  }
  if (meaning.noMembership?.includes(status)) {
    throw new AuthError('NO_ACTIVE_MEMBERSHIP', 'the user is not an active member of any organisation', { upstream });
  }
  if (meaning.accessDenied?.includes(status)) {
    throw new AuthError('ACCESS_DENIED', `the upstream refused this ${operation} (${status})`, { upstream });
  }
  const refused = meaning.refused;
  if (refused === 'any-4xx' ? status < 500 : refused?.includes(status)) {
    throw stateError('SESSION_EXPIRED', { upstream });
  }
  throw new AuthError('UPSTREAM_REJECTED', `upstream ${operation} answered ${status}`, { upstream });
}

function safeOrigin(location: string): string {
  try {
    return new URL(location).origin;
  } catch {
    return 'another page';
  }
}

function looksLikeHtml(response: UpstreamResponse): boolean {
  return mediaType(response.headers) === 'text/html' || /^\s*</.test(response.body);
}

/** Checks the answer's status, then parses its body as a JSON object. */
export function parseJsonAnswer(
  operation: UpstreamDetails['operation'],
  response: UpstreamResponse,
  meaning: StatusMeaning,
): Record<string, unknown> {
  expectSuccess(operation, response, meaning);
  const details = describeAnswer(operation, response);
  if (looksLikeHtml(response)) throw malformed('an HTML page instead of JSON (an SSO login page?)', details);
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body);
  } catch {
    // The parser's message quotes the body, which may hold a token: it is not kept.
    throw malformed(response.body.trim() === '' ? 'an empty body' : 'not valid JSON', details);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw malformed('not a JSON object', details);
  }
  return parsed as Record<string, unknown>;
}

/** Checks the status; returns the body as text when it is not JSON (`text/plain` token answers). */
export function textOrJsonAnswer(
  operation: UpstreamDetails['operation'],
  response: UpstreamResponse,
  meaning: StatusMeaning,
): Record<string, unknown> | string {
  expectSuccess(operation, response, meaning);
  const type = mediaType(response.headers);
  if (type === 'application/json' || type.endsWith('+json') || /^\s*[{[]/.test(response.body)) {
    return parseJsonAnswer(operation, response, meaning);
  }
  if (looksLikeHtml(response)) {
    throw malformed('an HTML page instead of a token (an SSO login page?)', describeAnswer(operation, response));
  }
  return response.body.trim();
}

const MAX_CREDENTIAL_LENGTH = 4096;

/** Reads a credentials field that must be a non-empty string of at most 4,096 characters without control characters. */
export function credentialString(credentials: Record<string, unknown>, field: string): string {
  const value = credentials[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw new AuthError('INVALID_CREDENTIALS', `credentials.${field} must be a non-empty string`);
  }
  // No upstream takes more; refusing here beats an upstream 413/431 reported as its failure.
  if (value.length > MAX_CREDENTIAL_LENGTH) {
    throw new AuthError('INVALID_CREDENTIALS', `credentials.${field} is longer than ${MAX_CREDENTIAL_LENGTH} characters`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new AuthError('INVALID_CREDENTIALS', `credentials.${field} contains control characters`);
  }
  return value;
}

/** Reads an optional integer credentials field. */
export function credentialInteger(credentials: Record<string, unknown>, field: string): number | undefined {
  const value = credentials[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new AuthError('INVALID_CREDENTIALS', `credentials.${field} must be an integer`);
  }
  return value;
}

/**
 * Refuses a field the preset does not know: a field it would drop (say a misspelt account id)
 * makes a login that looks fine and binds the wrong thing.
 */
export function refuseUnknownFields(credentials: Record<string, unknown>, known: readonly string[]): void {
  for (const field of Object.keys(credentials)) {
    if (!known.includes(field)) {
      // The name, never the value: an app that put a password in the wrong field must not log it.
      const name = /^[A-Za-z0-9_$-]{1,64}$/.test(field) ? field : '(a field with an unusual name)';
      throw new AuthError('INVALID_CREDENTIALS', `credentials.${name} is not a field this protocol takes (it takes ${known.join(', ')})`);
    }
  }
}

/** Checks that credentials are an object at all. */
export function credentialObject(credentials: unknown): Record<string, unknown> {
  if (typeof credentials !== 'object' || credentials === null) {
    throw new AuthError('INVALID_CREDENTIALS', 'credentials must be an object');
  }
  return credentials as Record<string, unknown>;
}

/** Joins a base URL and a path option ('/auth' or 'auth' both stay under the base). */
export function endpoint(baseUrl: string, path: string): string {
  return new URL(path.replace(/^\//, ''), baseUrl).href;
}
