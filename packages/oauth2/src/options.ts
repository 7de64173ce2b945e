import type * as oauth from 'oauth4webapi';

/** Where the authorization server is: its issuer (metadata is discovered once), or its endpoints. */
export type OAuth2Server =
  | {
      /** The issuer identifier; `/.well-known/openid-configuration` (or `oauth-authorization-server`) is read from it once, on first use. */
      issuer: string | URL;
      /** `'oidc'` (default) reads OpenID discovery; `'oauth2'` reads RFC 8414 metadata. */
      discovery?: 'oidc' | 'oauth2';
    }
  | {
      /** For a server without discovery (GitHub-style): its endpoints, absolute URLs. */
      endpoints: OAuth2Endpoints;
    };

export interface OAuth2Endpoints {
  /** The issuer identifier, when the server has one (ID tokens are checked against it). Default: the token endpoint's origin. */
  issuer?: string;
  /** Where the browser is sent to sign in (needed by the connect flow). */
  authorization?: string;
  token: string;
  /** RFC 7009 revocation; without it, logout only forgets the tokens. */
  revocation?: string;
  /** The server's signing keys, when it issues ID tokens. */
  jwks?: string;
}

/** How the client authenticates at the token endpoint (RFC 6749 §2.3, RFC 7523). */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';

export interface OAuth2Options {
  /** The API the tokens are for: relative `session.fetch` paths resolve against it, and only its origin ever receives a token. */
  baseUrl: string | URL;
  clientId: string;
  /** For `client_secret_basic` and `client_secret_post`. */
  clientSecret?: string;
  /** For `private_key_jwt`: an asymmetric private key (WebCrypto), with the `kid` the server knows it by. */
  privateKey?: { key: oauth.CryptoKey; kid?: string };
  /**
   * Default: `client_secret_basic` with a `clientSecret`, `private_key_jwt` with a `privateKey`,
   * else `none` (a public client; PKCE still protects the code).
   */
  clientAuth?: ClientAuthMethod;
  /** Scope requested by the connect flow and the client credentials and password grants, space-separated. Default: none sent. */
  scope?: string;
  /**
   * Which grant logs in: `'authorization_code'` (default: per-user sessions from the connect
   * flow) or `'client_credentials'` (a service session: no user, no refresh token; the keeper
   * gets a new token before the old one expires).
   */
  grant?: 'authorization_code' | 'client_credentials';
  /** Allow the legacy resource owner password grant (`login({ username, password })`). Default `false`: RFC 9700 forbids it; enable only for a vendor that offers nothing else. */
  passwordGrant?: boolean;
  /**
   * Whether the server rotates refresh tokens (a used one is refused). Default `true`, as
   * RFC 9700 asks: when a refresh answer is lost, the old refresh token is treated as spent and
   * never presented again. Set `false` for a server that keeps one refresh token, so a lost
   * answer does not end the session.
   */
  rotatesRefreshTokens?: boolean;
  /** Used when a token answer has no `expires_in`. Default 3,600 s. */
  defaultExpiresInSeconds?: number;
  /** A name for events and errors. Default `'oauth2'`. */
  name?: string;
  /**
   * Allow `http:` for the authorization server and API. Default: only for loopback hosts
   * (127.0.0.1, ::1, localhost), as for tests; anything else must be `https:`.
   */
  allowHttp?: boolean;
  /**
   * Sender-constrained tokens (DPoP, RFC 9449): each session gets its own ES256 key pair, kept
   * with its tokens (encrypted with them in Redis), and every token-endpoint call and API request
   * carries a proof signed with it; a server's `DPoP-Nonce` is retried with once. A stolen token
   * is useless without the key. `session.fetch` only: the axios interceptor refuses such a
   * protocol. Default `false`.
   */
  dpop?: boolean;
  /** Extra client metadata oauth4webapi reads (e.g. `id_token_signed_response_alg`). */
  clientMetadata?: Partial<oauth.Client>;
}

/** What `session.login(...)` takes. */
export type OAuth2Credentials =
  /** After the connect flow's callback: the code, and the PKCE verifier and redirect URI of its request. */
  | { code: string; codeVerifier: string; redirectUri: string; nonce?: string; iss?: string }
  /** The legacy password grant (only with `passwordGrant: true`). */
  | { username: string; password: string }
  /** A client credentials keeper's service session: nothing to give. */
  | Record<string, never>;

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** An http(s) URL option, `https:` unless the host is loopback or `allowHttp` is set. */
export function checkUrl(value: unknown, name: string, allowHttp: boolean | undefined): URL {
  let url: URL;
  try {
    url = new URL(value as string | URL);
  } catch {
    throw new TypeError(`oauth2: ${name} must be an absolute URL`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && (allowHttp === true || (allowHttp === undefined && LOOPBACK.has(url.hostname)))) return url;
  throw new TypeError(
    `oauth2: ${name} must be an https: URL${url.protocol === 'http:' ? ' (http: only for loopback hosts or with allowHttp)' : ''}`,
  );
}

export function checkString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`oauth2: ${name} must be a non-empty string`);
  return value;
}
