import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** Options of the built-in session cookie that server adapters use when no `sessionKey` is given. */
export interface SessionCookieOptions {
  /**
   * HMAC-SHA-256 secrets, each at least 32 characters. The first signs; every one verifies, so a
   * secret can be rotated by putting the new one first and dropping the old one later. Required.
   */
  secret: string | readonly string[];
  /**
   * Cookie name. Default `'__Host-tk.sid'` when the cookie is `secure` with path `/` and no
   * domain (the browser then refuses the cookie from a sibling subdomain or plain HTTP), else
   * `'tk.sid'`.
   */
  name?: string;
  /** Send the cookie over HTTPS only. Default `true`; turn off only for plain-HTTP development. */
  secure?: boolean;
  /** Default `'lax'`: sent on top-level navigation, not on cross-site subrequests. */
  sameSite?: 'lax' | 'strict' | 'none';
  /** Default `'/'`. */
  path?: string;
  /** Cookie domain. Default: none (the host only). */
  domain?: string;
  /** Lifetime of the cookie. Default: none (a browser-session cookie). */
  maxAgeMs?: number;
  /**
   * An absolute session lifetime, enforced by the server: a cookie issued longer ago than this
   * reads as no session, whatever the browser kept (the time of issue is signed into the cookie).
   * Default: none.
   */
  absoluteLifetimeMs?: number;
}

const ID_BYTES = 16; // 128 bits
const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
const SIGNATURE_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const ISSUED_PATTERN = /^[0-9a-z]{1,11}$/;
const NAME_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A cookie path: starts with `/`, no `;`, no white space or control characters (RFC 6265 §4.1.1). */
const PATH_PATTERN = /^\/[\x21-\x3a\x3c-\x7e]*$/;
const DOMAIN_PATTERN = /^\.?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
/** Our own value is 66 characters; a longer one under our name is not ours (other cookies may be any size). */
const MAX_VALUE_LENGTH = 256;

/**
 * Whether `text` holds only white space (as `trim` sees it) from `from` to `to`. Spaces and tabs,
 * all a browser puts there, are checked in place: a `slice` and `trim` per candidate cost a
 * verified cookie's read about a seventh of its instructions.
 */
function isBlank(text: string, from: number, to: number): boolean {
  for (let at = from; at < to; at++) {
    const code = text.charCodeAt(at);
    if (code !== 0x20 && code !== 0x09) return text.slice(from, to).trim() === '';
  }
  return true;
}

/**
 * `value.trim()`, without the call when neither end can be white space (every character `trim`
 * removes is a control character, a space or non-ASCII). An empty value reads `NaN` at both
 * ends, which no comparison matches: it is returned as it is.
 */
function trimmed(value: string): string {
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(value.length - 1);
  return first <= 0x20 || first >= 0x7f || last <= 0x20 || last >= 0x7f ? value.trim() : value;
}

/**
 * A random 128-bit session id in an HttpOnly cookie, signed with HMAC-SHA-256. Anything that
 * is not exactly one well-formed cookie with a valid signature reads as "no session".
 *
 * @example
 * const cookie = new SessionCookie({ secret: process.env.COOKIE_SECRET! });
 * const key = cookie.read(request.headers.cookie);           // string | undefined
 * const { id, header } = cookie.issue();                     // on login: a new id
 * response.setHeader('set-cookie', header);
 */
export class SessionCookie {
  readonly name: string;
  readonly #secrets: Buffer[];
  /** Cookie values already verified, so a returning browser costs a lookup, not an HMAC. */
  readonly #verified = new LRUCache<string, string>({ max: 10_000 });
  readonly #attributes: string;
  readonly #absoluteLifetimeMs: number | undefined;
  readonly #now: () => number;

  /** @param now The clock absolute lifetimes are counted on (the adapters pass the keeper's). */
  constructor(options: SessionCookieOptions, now: () => number = Date.now) {
    if (typeof options !== 'object' || options === null) throw new TypeError('session cookie: options must be an object');
    const secrets = typeof options.secret === 'string' ? [options.secret] : options.secret;
    if (!Array.isArray(secrets) || secrets.length === 0 || secrets.some((secret) => typeof secret !== 'string' || secret.length < 32)) {
      throw new TypeError('session cookie: secret must be a string (or a list of strings) of at least 32 characters');
    }
    this.#secrets = secrets.map((secret) => Buffer.from(secret, 'utf8'));
    const sameSite = options.sameSite ?? 'lax';
    if (!['lax', 'strict', 'none'].includes(sameSite)) throw new TypeError("session cookie: sameSite must be 'lax', 'strict' or 'none'");
    const secure = options.secure ?? true;
    if (sameSite === 'none' && !secure) throw new TypeError("session cookie: sameSite 'none' needs secure");
    const path = options.path ?? '/';
    // An attribute value with ';' would add attributes of its own ('/; Domain=evil.example').
    if (typeof path !== 'string' || !PATH_PATTERN.test(path)) {
      throw new TypeError("session cookie: path must start with '/' and hold no ';', spaces or control characters");
    }
    if (options.domain !== undefined && (typeof options.domain !== 'string' || !DOMAIN_PATTERN.test(options.domain))) {
      throw new TypeError('session cookie: domain must be a host name (letters, digits, hyphens and dots)');
    }
    const hostOnly = secure && path === '/' && !options.domain;
    this.name = options.name ?? (hostOnly ? '__Host-tk.sid' : 'tk.sid');
    if (!NAME_PATTERN.test(this.name)) throw new TypeError('session cookie: name must be a valid cookie name');
    if (this.name.startsWith('__Host-') && !hostOnly) {
      throw new TypeError('session cookie: a __Host- name needs secure, path / and no domain');
    }
    const parts = [`Path=${path}`, 'HttpOnly', `SameSite=${sameSite[0]!.toUpperCase()}${sameSite.slice(1)}`];
    if (secure) parts.push('Secure');
    if (options.domain) parts.push(`Domain=${options.domain}`);
    if (options.maxAgeMs !== undefined) {
      // Max-Age counts whole seconds, and 0 would delete the cookie at once.
      if (!(options.maxAgeMs >= 1000)) throw new TypeError('session cookie: maxAgeMs must be at least 1000 (one second)');
      parts.push(`Max-Age=${Math.floor(options.maxAgeMs / 1000)}`);
    }
    this.#attributes = parts.join('; ');
    if (options.absoluteLifetimeMs !== undefined && !(options.absoluteLifetimeMs >= 1000 && Number.isFinite(options.absoluteLifetimeMs))) {
      throw new TypeError('session cookie: absoluteLifetimeMs must be at least 1000 (one second)');
    }
    this.#absoluteLifetimeMs = options.absoluteLifetimeMs;
    this.#now = now;
  }

  /** The session id in a `Cookie` header, or `undefined` when it is missing, forged, tampered, truncated or duplicated. */
  read(cookieHeader: string | readonly string[] | undefined): string | undefined {
    if (cookieHeader === undefined) return undefined;
    const found = this.#valueIn(typeof cookieHeader === 'string' ? cookieHeader : cookieHeader.join('; '));
    // Only our own cookie's size is capped: an app's unrelated 9,000-character cookie logs no one out.
    if (found === undefined || found.length > MAX_VALUE_LENGTH) return undefined;
    const known = this.#verified.get(found);
    if (known !== undefined) return this.#withinLifetime(found) ? known : undefined;
    const id = this.#verify(found);
    if (id === undefined || !this.#withinLifetime(found)) return undefined;
    this.#verified.set(found, id);
    return id;
  }

  /**
   * The value of the one cookie of this name in a `Cookie` header (`name=value` pairs split by
   * `;`, each trimmed), or `undefined` when there is none, or more than one: two cookies of one
   * name may be an attacker's, planted from a sibling domain, so neither is trusted. Searches for
   * the name instead of splitting the header: most of a header is other cookies.
   */
  #valueIn(header: string): string | undefined {
    const name = this.name;
    let found: string | undefined;
    for (let at = header.indexOf(name); at >= 0; at = header.indexOf(name, at + 1)) {
      // Our pair: nothing but white space between the pair's start and the name, and between the name and '='.
      if (!isBlank(header, header.lastIndexOf(';', at) + 1, at)) continue;
      const semicolon = header.indexOf(';', at);
      const end = semicolon < 0 ? header.length : semicolon;
      const equals = header.indexOf('=', at);
      if (equals < 0 || equals > end || !isBlank(header, at + name.length, equals)) continue;
      if (found !== undefined) return undefined;
      found = trimmed(header.slice(equals + 1, end));
    }
    return found;
  }

  /** A new random session id and the `Set-Cookie` header value that carries it. */
  issue(): { id: string; header: string } {
    const id = randomBytes(ID_BYTES).toString('base64url');
    // With an absolute lifetime, the time of issue is part of what is signed: id.issued.signature.
    const signed = this.#absoluteLifetimeMs === undefined ? id : `${id}.${Math.floor(this.#now() / 1000).toString(36)}`;
    return { id, header: `${this.name}=${signed}.${this.#sign(signed, this.#secrets[0]!)}; ${this.#attributes}` };
  }

  /** The `Set-Cookie` header value that removes the cookie. */
  clear(): string {
    return `${this.name}=; ${this.#attributes}; Max-Age=0`;
  }

  #sign(id: string, secret: Buffer): string {
    return createHmac('sha256', secret).update(id).digest('base64url');
  }

  /** A cookie issued within the absolute lifetime (always, without one); its issue time is signed, so checked by {@link #verify}. */
  #withinLifetime(value: string): boolean {
    if (this.#absoluteLifetimeMs === undefined) return true;
    const issued = Number.parseInt(value.split('.')[1] ?? '', 36) * 1000;
    return this.#now() - issued < this.#absoluteLifetimeMs;
  }

  #verify(value: string): string | undefined {
    const dot = value.lastIndexOf('.');
    if (dot < 0) return undefined;
    const signed = value.slice(0, dot);
    const signature = value.slice(dot + 1);
    const [id, issued, extra] = signed.split('.');
    if (!id || !ID_PATTERN.test(id) || !SIGNATURE_PATTERN.test(signature) || extra !== undefined) return undefined;
    // The cookie's shape must be this cookie's: with an absolute lifetime, id.issued; without, id alone.
    if ((this.#absoluteLifetimeMs === undefined) !== (issued === undefined)) return undefined;
    if (issued !== undefined && !ISSUED_PATTERN.test(issued)) return undefined;
    // Compare the text, not the decoded bytes: the last base64url character has two bits that
    // decoding ignores, and every spelling but the canonical one is a tampered cookie.
    const given = Buffer.from(signature, 'latin1');
    for (const secret of this.#secrets) {
      if (timingSafeEqual(given, Buffer.from(this.#sign(signed, secret), 'latin1'))) return id;
    }
    return undefined;
  }
}
