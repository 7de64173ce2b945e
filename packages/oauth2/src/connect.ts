import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { AuthError, createUpstreamClient, type RedirectLogin, type UpstreamClient } from '@tokenkeeper/auth-core';
import type { OAuth2Credentials } from './options.js';
import type { OAuth2Protocol } from './protocol.js';

export interface OAuthConnectOptions {
  /** The keeper's protocol, from `oauth2(...)`. */
  protocol: OAuth2Protocol;
  /** The callback route's absolute URL, exactly as registered with the authorization server. */
  redirectUri: string | URL;
  /**
   * At least 32 bytes (a `Buffer`, or a string of at least 32 characters) that encrypt and
   * authenticate the cookie holding one attempt's `state`, PKCE verifier and `nonce`. Keep it
   * secret and the same on every instance.
   */
  secret: string | Buffer;
  /** Scope to ask for; default the protocol's. */
  scope?: string;
  /** How long a user has to sign in and come back. Default 10 minutes. */
  maxAgeMs?: number;
  /** Where to send the browser after connecting, when `/connect` got no (or no safe) `returnTo`. Default `'/'`. */
  returnTo?: string;
  /** Default: `__Host-tk.connect` when the redirect URI is `https:`, else `tk.connect`. */
  cookieName?: string;
  /** Timeout of the metadata discovery this flow may have to do, ms. Default 10,000. */
  timeoutMs?: number;
  /** For tests: the fetch used for discovery. Default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
  /** For tests: the clock, epoch ms. Default `Date.now`. */
  now?: () => number;
}

interface Attempt {
  state: string;
  codeVerifier: string;
  nonce?: string;
  returnTo: string;
  expiresAt: number;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** States already used, remembered for the cookie's lifetime so a replayed callback is refused; bounded. */
const MAX_REMEMBERED = 10_000;

/**
 * The "connect your account" flow of an OAuth 2.0 upstream, for the server adapters' connect
 * routes (`connectRoutes` in `@tokenkeeper/express`, `@tokenkeeper/koa`): `start` sends the
 * browser to the authorization endpoint with PKCE (S256), `state` and (for OpenID) `nonce`, kept
 * in an encrypted, `HttpOnly`, `SameSite=Lax` cookie; `finish` checks the callback against it and
 * hands the code to `session.login`. A wrong, expired or replayed `state` is `INVALID_CALLBACK`
 * (400); an error the server sent back (`access_denied`) keeps its own code.
 *
 * @example
 * const connect = oauthConnect({ protocol, redirectUri: 'https://app.example/callback', secret: process.env.CONNECT_SECRET! });
 * app.use(connectRoutes(connect)); // GET /connect → the provider → GET /callback → req.upstream is logged in
 */
export function oauthConnect(options: OAuthConnectOptions): RedirectLogin<OAuth2Credentials> {
  if (typeof options !== 'object' || options === null) throw new TypeError('oauthConnect: options must be an object');
  const { protocol } = options;
  if (typeof protocol?.authorizationRequest !== 'function') throw new TypeError('oauthConnect: protocol must come from oauth2(...)');
  let redirect: URL;
  try {
    redirect = new URL(options.redirectUri);
  } catch {
    throw new TypeError('oauthConnect: redirectUri must be an absolute URL');
  }
  const redirectUri = redirect.href;
  const secure = redirect.protocol === 'https:';
  const key = keyOf(options.secret);
  const maxAgeMs = options.maxAgeMs ?? 600_000;
  if (!Number.isSafeInteger(maxAgeMs) || maxAgeMs < 10_000)
    throw new TypeError('oauthConnect: maxAgeMs must be an integer of at least 10,000');
  const fallback = options.returnTo ?? '/';
  if (!isLocalPath(fallback)) throw new TypeError('oauthConnect: returnTo must be a path on this site, starting with one /');
  const cookieName = options.cookieName ?? (secure ? '__Host-tk.connect' : 'tk.connect');
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(cookieName)) throw new TypeError('oauthConnect: cookieName must be a cookie token');
  const now = options.now ?? Date.now;
  const client: UpstreamClient = createUpstreamClient({
    fetch: options.fetch ?? globalThis.fetch,
    timeoutMs: options.timeoutMs ?? 10_000,
    maxBodyBytes: 1024 * 1024,
    now,
  });
  const used = new Map<string, number>();
  const attributes = `Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;

  function remember(state: string, until: number): void {
    const time = now();
    for (const [old, expiry] of used) {
      if (expiry > time && used.size < MAX_REMEMBERED) break;
      used.delete(old);
    }
    used.set(state, until);
  }

  return {
    async start(request) {
      const query = new URL(request.url, 'http://x').searchParams;
      const asked = query.get('returnTo');
      const returnTo = asked !== null && isLocalPath(asked) ? asked : fallback;
      const authorization = await protocol.authorizationRequest(client, redirectUri, options.scope ? { scope: options.scope } : {});
      const attempt: Attempt = {
        state: authorization.state,
        codeVerifier: authorization.codeVerifier,
        ...(authorization.nonce && { nonce: authorization.nonce }),
        returnTo,
        expiresAt: now() + maxAgeMs,
      };
      const cookie = `${cookieName}=${seal(key, attempt)}; Max-Age=${Math.floor(maxAgeMs / 1000)}; ${attributes}`;
      return { location: authorization.url.href, setCookies: [cookie] };
    },

    async finish(request) {
      const clear = `${cookieName}=; Max-Age=0; ${attributes}`;
      const sealed = cookieValue(request.cookieHeader, cookieName);
      if (!sealed) throw callbackError('no connect attempt is pending in this browser (its cookie is missing or expired)');
      const attempt = open(key, sealed);
      if (!attempt) throw callbackError('the connect cookie is not one this server wrote');
      if (attempt.expiresAt <= now()) throw callbackError('the connect attempt has expired: start again');
      if (used.has(attempt.state)) throw callbackError('this callback was already used');
      const parameters = new URL(request.url, 'http://x').searchParams;
      const credentials = await protocol.callbackCredentials(client, parameters, {
        state: attempt.state,
        codeVerifier: attempt.codeVerifier,
        redirectUri,
        nonce: attempt.nonce,
      });
      remember(attempt.state, attempt.expiresAt);
      return { credentials, location: attempt.returnTo, setCookies: [clear] };
    },
  };
}

function callbackError(message: string): AuthError {
  return new AuthError('INVALID_CALLBACK', message);
}

/** A path on this site: one leading slash, no scheme-relative `//` or `/\` (an open redirect). */
function isLocalPath(value: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  return /^\/(?![/\\])/.test(value) && !/[\u0000-\u001f\\]/.test(value);
}

function keyOf(secret: unknown): Buffer {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.isBuffer(secret) ? secret : undefined;
  if (!bytes || bytes.length < 32)
    throw new TypeError('oauthConnect: secret must be at least 32 bytes (a Buffer or a string of 32+ characters)');
  return Buffer.from(hkdfSync('sha256', bytes, Buffer.alloc(0), 'tokenkeeper oauth2 connect cookie', 32));
}

function seal(key: Buffer, attempt: Attempt): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  const body = Buffer.concat([cipher.update(JSON.stringify(attempt), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

function open(key: Buffer, sealed: string): Attempt | undefined {
  try {
    const bytes = Buffer.from(sealed, 'base64url');
    if (bytes.length <= IV_BYTES + TAG_BYTES) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    const json = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    const attempt = JSON.parse(json) as Attempt;
    return typeof attempt.state === 'string' && typeof attempt.codeVerifier === 'string' && typeof attempt.expiresAt === 'number'
      ? attempt
      : undefined;
  } catch {
    return undefined;
  }
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}
