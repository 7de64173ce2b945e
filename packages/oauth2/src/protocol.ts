import type { webcrypto } from 'node:crypto';
import {
  AUTH_ERROR_MESSAGES,
  AuthError,
  type AuthorizedRequest,
  checkToken,
  credentialObject,
  credentialString,
  expiryFrom,
  type Protocol,
  type TokenSet,
  type UpstreamAnswer,
  type UpstreamClient,
  type UpstreamDetails,
  type UpstreamResponse,
} from '@tokenkeeper/auth-core';
import * as oauth from 'oauth4webapi';
import { type GrantKind, toAuthError } from './errors.js';
import {
  type ClientAuthMethod,
  checkString,
  checkUrl,
  type OAuth2Credentials,
  type OAuth2Endpoints,
  type OAuth2Options,
  type OAuth2Server,
} from './options.js';

/** What the connect flow needs from the protocol to build an authorization request. */
export interface AuthorizationRequest {
  /** Where to send the browser. */
  url: URL;
  state: string;
  codeVerifier: string;
  /** Sent when the scope has `openid`; the ID token must carry it back. */
  nonce?: string;
}

/** An OAuth 2.0 protocol for a `TokenKeeper`, plus what the connect flow asks of it. */
export interface OAuth2Protocol extends Protocol<OAuth2Credentials> {
  /**
   * Builds an authorization request with PKCE (S256), `state` and (for OpenID) `nonce`. The
   * caller keeps `state`, `codeVerifier` and `nonce` until the callback.
   */
  authorizationRequest(client: UpstreamClient, redirectUri: string, options?: { scope?: string }): Promise<AuthorizationRequest>;
  /** Checks a callback's parameters against the expected `state`; answers the code's credentials or throws the AuthError of an error callback. */
  callbackCredentials(
    client: UpstreamClient,
    parameters: URLSearchParams,
    expected: { state: string; codeVerifier: string; redirectUri: string; nonce?: string | undefined },
  ): Promise<OAuth2Credentials>;
}

const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
const NULL_BODY = new Set([101, 204, 205, 304]);

/**
 * An OAuth 2.0 (and OpenID Connect) upstream, on oauth4webapi: authorization code with PKCE,
 * refresh with rotation, client credentials, and (if enabled) the password grant. Every call
 * goes through the keeper's bounded, abortable client; server metadata is discovered once.
 *
 * @example
 * const keeper = new TokenKeeper({
 *   protocol: oauth2({ issuer: 'https://login.vendor.example' }, {
 *     baseUrl: 'https://api.vendor.example', clientId: 'app', clientSecret: process.env.CLIENT_SECRET!,
 *     scope: 'openid offline_access incidents:read',
 *   }),
 * });
 */
export function oauth2(server: OAuth2Server, options: OAuth2Options): OAuth2Protocol {
  if (typeof options !== 'object' || options === null) throw new TypeError('oauth2: options must be an object');
  const allowHttp = options.allowHttp;
  const api = checkUrl(options.baseUrl, 'baseUrl', allowHttp);
  const client: oauth.Client = { ...options.clientMetadata, client_id: checkString(options.clientId, 'clientId') };
  const clientAuth = clientAuthOf(options);
  const grant = options.grant ?? 'authorization_code';
  if (grant !== 'authorization_code' && grant !== 'client_credentials') {
    throw new TypeError(`oauth2: grant must be 'authorization_code' or 'client_credentials', got ${String(grant)}`);
  }
  const scope = options.scope === undefined ? undefined : checkString(options.scope, 'scope');
  const defaultLifetime = options.defaultExpiresInSeconds ?? 3600;
  if (!Number.isFinite(defaultLifetime) || defaultLifetime <= 0)
    throw new TypeError('oauth2: defaultExpiresInSeconds must be a positive number');
  const rotates = options.rotatesRefreshTokens ?? true;
  const dpop = options.dpop ?? false;
  if (typeof dpop !== 'boolean') throw new TypeError('oauth2: dpop must be a boolean');
  const proofs = dpop ? proofKeys(client) : undefined;
  const insecure = (url: URL) => url.protocol === 'http:';

  const known = 'endpoints' in server ? metadataOf(server.endpoints, allowHttp) : undefined;
  const issuer = 'issuer' in server ? checkUrl(server.issuer, 'issuer', allowHttp) : undefined;
  if (!known && !issuer) throw new TypeError('oauth2: the server needs an issuer or endpoints');
  const algorithm = 'issuer' in server ? (server.discovery ?? 'oidc') : 'oidc';
  let discovered: Promise<oauth.AuthorizationServer> | undefined;

  /** The server's metadata: given, or discovered once (a failed discovery is tried again next time). */
  function metadata(upstream: UpstreamClient): Promise<oauth.AuthorizationServer> {
    if (known) return Promise.resolve(known);
    if (!discovered) {
      const call = transport(upstream, 'discovery');
      discovered = oauth
        .discoveryRequest(issuer!, { algorithm, [oauth.customFetch]: call.fetch, [oauth.allowInsecureRequests]: insecure(issuer!) })
        .then((response) => oauth.processDiscoveryResponse(issuer!, response))
        .catch((error: unknown) => {
          discovered = undefined;
          throw toAuthError(error, 'authorization_code', 'discovery');
        });
    }
    return discovered;
  }

  /** Runs one token-endpoint exchange and turns its answer into a token set. */
  async function exchange(
    upstream: UpstreamClient,
    kind: GrantKind,
    operation: 'login' | 'refresh',
    send: (as: oauth.AuthorizationServer, request: oauth.TokenEndpointRequestOptions) => Promise<Response>,
    process: (as: oauth.AuthorizationServer, response: Response) => Promise<oauth.TokenEndpointResponse>,
    previous?: TokenSet,
  ): Promise<TokenSet> {
    const as = await metadata(upstream);
    // A session keeps its DPoP key across refreshes; a login (or a session from before DPoP) gets a new one.
    const proof = proofs && (previous?.proofKey ? await proofs.of(previous.proofKey) : await proofs.create());
    for (let attempt = 0; ; attempt++) {
      const call = transport(upstream, operation);
      try {
        const response = await send(as, {
          [oauth.customFetch]: call.fetch,
          [oauth.allowInsecureRequests]: insecureServer(as),
          ...(proof && { DPoP: proof.handle }),
        });
        const result = await process(as, response);
        return tokenSetOf(result, call.answer!, operation, previous, proof?.proofKey);
      } catch (error) {
        // The server wants its nonce in the proof (RFC 9449 §8): the handle has learned it; once more.
        if (proof && attempt === 0 && oauth.isDPoPNonceError(error)) continue;
        throw toAuthError(error, kind, operation);
      }
    }
  }

  function tokenSetOf(
    result: oauth.TokenEndpointResponse,
    answer: UpstreamResponse,
    operation: 'login' | 'refresh',
    previous: TokenSet | undefined,
    proofKey: TokenSet['proofKey'],
  ): TokenSet {
    const details: UpstreamDetails = { operation, status: answer.status, outcomeUnknown: true };
    if (result.token_type !== (dpop ? 'dpop' : 'bearer')) {
      throw new AuthError('UPSTREAM_MALFORMED', `upstream ${operation} answer: token_type is not ${dpop ? 'DPoP' : 'Bearer'}`, {
        upstream: details,
      });
    }
    const accessToken = checkToken(result.access_token, 'access_token', details);
    const stated =
      expiryFrom({ lifetimeSeconds: result.expires_in }, answer, 'access_token', details) ?? answer.sentAt + defaultLifetime * 1000;
    // Servers count expires_in from a whole second of their clock (oidc-provider: exp = floor(now) + ttl),
    // so up to a second of it may be gone when the answer leaves: plan with that second less.
    const expiresAt = stated - Math.min(1000, (stated - answer.sentAt) / 10);
    // Rotation is decided per answer: a server that sends no new refresh token keeps the old one.
    const refreshToken =
      result.refresh_token !== undefined ? checkToken(result.refresh_token, 'refresh_token', details) : previous?.refreshToken;
    // Not in RFC 6749, but Keycloak and others say when the refresh token lapses.
    const refreshExpiresAt =
      result.refresh_token !== undefined
        ? expiryFrom({ lifetimeSeconds: result.refresh_expires_in }, answer, 'refresh_token', details)
        : previous?.refreshExpiresAt;
    const idClaims = oauth.getValidatedIdTokenClaims(result);
    const claims = idClaims ? publicClaims(idClaims) : previous?.claims;
    return {
      accessToken,
      issuedAt: answer.sentAt,
      expiresAt,
      ...(refreshToken !== undefined && { refreshToken }),
      ...(refreshExpiresAt !== undefined && { refreshExpiresAt }),
      ...(claims && { claims }),
      ...(proofKey && { proofKey }),
    };
  }

  const protocol: OAuth2Protocol = {
    name: options.name ?? 'oauth2',
    baseUrl: api.href.endsWith('/') ? api.href : `${api.href}/`,
    origin: api.origin,
    rotatesRefreshTokens: grant === 'client_credentials' ? false : rotates,
    header: 'authorization',

    checkCredentials(credentials): OAuth2Credentials {
      if (grant === 'client_credentials') {
        if (credentials !== undefined && (typeof credentials !== 'object' || credentials === null || Object.keys(credentials).length > 0)) {
          throw new AuthError('INVALID_CREDENTIALS', 'a client credentials session takes no credentials: login({})');
        }
        return {} as OAuth2Credentials;
      }
      const given = credentialObject(credentials);
      if ('code' in given) {
        const codeVerifier = credentialString(given, 'codeVerifier');
        if (!VERIFIER.test(codeVerifier))
          throw new AuthError('INVALID_CREDENTIALS', 'credentials.codeVerifier is not an RFC 7636 code verifier');
        return {
          code: credentialString(given, 'code'),
          codeVerifier,
          redirectUri: credentialString(given, 'redirectUri'),
          ...(given.nonce !== undefined && { nonce: credentialString(given, 'nonce') }),
          ...(given.iss !== undefined && { iss: credentialString(given, 'iss') }),
        };
      }
      if ('username' in given || 'password' in given) {
        if (options.passwordGrant !== true) {
          throw new AuthError('INVALID_CREDENTIALS', 'the password grant is off for this upstream (set passwordGrant: true to allow it)');
        }
        return { username: credentialString(given, 'username'), password: credentialString(given, 'password') };
      }
      throw new AuthError('INVALID_CREDENTIALS', 'credentials must be { code, codeVerifier, redirectUri } from the connect flow');
    },

    async login(credentials, upstream) {
      if (grant === 'client_credentials') {
        return exchange(
          upstream,
          'client_credentials',
          'login',
          (as, request) => oauth.clientCredentialsGrantRequest(as, client, clientAuth, scope ? { scope } : {}, request),
          (as, response) => oauth.processClientCredentialsResponse(as, client, response),
        );
      }
      if ('username' in credentials) {
        const { username, password } = credentials as { username: string; password: string };
        return exchange(
          upstream,
          'password',
          'login',
          (as, request) =>
            oauth.genericTokenEndpointRequest(as, client, clientAuth, 'password', { username, password, ...(scope && { scope }) }, request),
          (as, response) => oauth.processGenericTokenEndpointResponse(as, client, response),
        );
      }
      const { code, codeVerifier, redirectUri, nonce, iss } = credentials as Extract<OAuth2Credentials, { code: string }>;
      return exchange(
        upstream,
        'authorization_code',
        'login',
        (as, request) => {
          // oauth4webapi takes the code only from parameters it has validated itself.
          let parameters: URLSearchParams;
          try {
            parameters = oauth.validateAuthResponse(as, client, new URLSearchParams({ code, ...(iss && { iss }) }), oauth.skipStateCheck);
          } catch (error) {
            throw new AuthError('INVALID_CREDENTIALS', `the callback's parameters are not valid: ${callbackProblem(error)}`);
          }
          return oauth.authorizationCodeGrantRequest(as, client, clientAuth, parameters, redirectUri, codeVerifier, request);
        },
        (as, response) =>
          oauth.processAuthorizationCodeResponse(as, client, response, {
            expectedNonce: nonce ?? oauth.expectNoNonce,
            requireIdToken: nonce !== undefined,
          }),
      );
    },

    canRefresh(tokens, now) {
      if (grant === 'client_credentials') return true;
      return tokens.refreshToken !== undefined && (tokens.refreshExpiresAt === undefined || now < tokens.refreshExpiresAt);
    },

    async refresh(tokens, upstream) {
      if (grant === 'client_credentials') return protocol.login({}, upstream);
      const refreshToken = tokens.refreshToken;
      if (refreshToken === undefined) throw new AuthError('SESSION_EXPIRED', AUTH_ERROR_MESSAGES.SESSION_EXPIRED);
      return exchange(
        upstream,
        'refresh_token',
        'refresh',
        (as, request) => oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshToken, request),
        (as, response) => oauth.processRefreshTokenResponse(as, client, response),
        tokens,
      );
    },

    async logout(tokens, upstream) {
      const as = await metadata(upstream);
      if (!as.revocation_endpoint) return;
      // Revoking the refresh token ends the grant, and with it every access token (RFC 7009 §2.1).
      const [token, hint] = tokens.refreshToken ? [tokens.refreshToken, 'refresh_token'] : [tokens.accessToken, 'access_token'];
      const call = transport(upstream, 'logout');
      try {
        const response = await oauth.revocationRequest(as, client, clientAuth, token, {
          additionalParameters: { token_type_hint: hint },
          [oauth.customFetch]: call.fetch,
          [oauth.allowInsecureRequests]: insecureServer(as),
        });
        await oauth.processRevocationResponse(response);
      } catch (error) {
        throw toAuthError(error, 'refresh_token', 'logout');
      }
    },

    authorize(headers, accessToken) {
      headers.set('authorization', `Bearer ${accessToken}`);
    },

    isExpirySignal: isBearerExpiry,

    ...(proofs && {
      /** Each request carries a proof of its method and URL, signed with the session's key; a resource server's nonce is retried with once. */
      async send({ url, init, fetch }: AuthorizedRequest, tokens: TokenSet): Promise<Response> {
        if (!tokens.proofKey) {
          throw new AuthError('UPSTREAM_MALFORMED', 'the session has no DPoP key: log in again', { upstream: { operation: 'request' } });
        }
        const { handle } = await proofs.of(tokens.proofKey);
        const headers = new Headers(init.headers);
        headers.delete('authorization'); // this request's authorization is the session's, with its proof
        const target = new URL(url);
        const repeatable = !(init.body instanceof ReadableStream); // a stream cannot be sent twice
        for (let attempt = 0; ; attempt++) {
          try {
            return await oauth.protectedResourceRequest(
              tokens.accessToken,
              init.method ?? 'GET',
              target,
              headers,
              init.body as oauth.ProtectedResourceRequestBody,
              {
                DPoP: handle,
                [oauth.customFetch]: (address, request) => fetch(address, { ...(request as RequestInit), signal: init.signal ?? null }),
                [oauth.allowInsecureRequests]: target.protocol === 'http:',
              },
            );
          } catch (error) {
            if (!(error instanceof oauth.WWWAuthenticateChallengeError)) throw error;
            if (attempt === 0 && repeatable && oauth.isDPoPNonceError(error)) {
              await error.response.body?.cancel();
              continue;
            }
            return error.response; // a challenge is an answer: the keeper decides (invalid_token refreshes once)
          }
        }
      },
    }),

    async authorizationRequest(upstream, redirectUri, request = {}) {
      const as = await metadata(upstream);
      if (!as.authorization_endpoint) {
        throw new AuthError('CLIENT_MISCONFIGURED', 'the authorization server has no authorization endpoint', {
          upstream: { operation: 'discovery' },
        });
      }
      const url = new URL(as.authorization_endpoint);
      const codeVerifier = oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const wanted = request.scope ?? scope;
      const nonce = wanted?.split(' ').includes('openid') ? oauth.generateRandomNonce() : undefined;
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('client_id', client.client_id);
      url.searchParams.set('redirect_uri', redirectUri);
      url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
      url.searchParams.set('code_challenge_method', 'S256');
      url.searchParams.set('state', state);
      if (wanted) url.searchParams.set('scope', wanted);
      // A refresh token for offline_access needs consent (OpenID Connect Core §11).
      if (wanted?.split(' ').includes('offline_access')) url.searchParams.set('prompt', 'consent');
      if (nonce) url.searchParams.set('nonce', nonce);
      return { url, state, codeVerifier, ...(nonce && { nonce }) };
    },

    async callbackCredentials(upstream, parameters, expected) {
      const as = await metadata(upstream);
      let checked: URLSearchParams;
      try {
        checked = oauth.validateAuthResponse(as, client, parameters, expected.state);
      } catch (error) {
        if (error instanceof oauth.AuthorizationResponseError) throw toAuthError(error, 'authorization_code', 'login');
        throw new AuthError('INVALID_CALLBACK', `the callback does not match the authorization request: ${callbackProblem(error)}`);
      }
      const code = checked.get('code');
      if (!code) throw new AuthError('INVALID_CALLBACK', 'the callback has no authorization code');
      const iss = checked.get('iss');
      return {
        code,
        codeVerifier: expected.codeVerifier,
        redirectUri: expected.redirectUri,
        ...(expected.nonce !== undefined && { nonce: expected.nonce }),
        ...(iss && { iss }),
      };
    },
  };
  return protocol;

  function insecureServer(as: oauth.AuthorizationServer): boolean {
    return as.token_endpoint !== undefined && new URL(as.token_endpoint).protocol === 'http:';
  }
}

/**
 * RFC 6750 §3.1: an expired token is a 401 whose `WWW-Authenticate` says `error="invalid_token"`;
 * a 401 without an error code counts too (many APIs send no challenge). `insufficient_scope`
 * (403) is a permission answer, never a refresh.
 */
export function isBearerExpiry(answer: UpstreamAnswer): boolean {
  if (answer.status !== 401) return false;
  const challenge = answer.headers.get('www-authenticate');
  if (!challenge) return true;
  const error = /\berror\s*=\s*"?([^",\s]+)/i.exec(challenge)?.[1];
  return error === undefined || error === 'invalid_token';
}

/** What a session's `proofKey` holds: its DPoP key pair as JWKs. */
interface ProofKeyJwks {
  privateJwk: webcrypto.JsonWebKey;
  publicJwk: webcrypto.JsonWebKey;
}

interface Proof {
  handle: oauth.DPoPHandle;
  proofKey: TokenSet['proofKey'];
}

const MAX_HANDLES = 10_000;

/**
 * DPoP key pairs: a new one per login, kept with the session as JWKs, and the oauth4webapi
 * handles built from them (which also remember each server's nonce), cached by public key and
 * bounded, so a request does not import a key.
 */
function proofKeys(client: oauth.Client) {
  const handles = new Map<string, Promise<Proof>>();
  const remember = (id: string, entry: Promise<Proof>) => {
    if (handles.size >= MAX_HANDLES) handles.delete(handles.keys().next().value!);
    handles.set(id, entry);
    entry.catch(() => handles.delete(id));
    return entry;
  };
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' };
  return {
    async create(): Promise<Proof> {
      const pair = await oauth.generateKeyPair('ES256', { extractable: true });
      const jwks: ProofKeyJwks = {
        privateJwk: await crypto.subtle.exportKey('jwk', pair.privateKey),
        publicJwk: await crypto.subtle.exportKey('jwk', pair.publicKey),
      };
      const proofKey = jwks as unknown as TokenSet['proofKey'];
      return remember(`${jwks.publicJwk.x}.${jwks.publicJwk.y}`, Promise.resolve({ handle: oauth.DPoP(client, pair), proofKey }));
    },
    of(proofKey: NonNullable<TokenSet['proofKey']>): Promise<Proof> {
      const { privateJwk, publicJwk } = proofKey as unknown as ProofKeyJwks;
      if (typeof publicJwk?.x !== 'string' || typeof privateJwk?.d !== 'string') {
        return Promise.reject(
          new AuthError('UPSTREAM_MALFORMED', 'the session DPoP key is unreadable: log in again', { upstream: { operation: 'request' } }),
        );
      }
      const id = `${publicJwk.x}.${publicJwk.y}`;
      const known = handles.get(id);
      if (known) return known;
      return remember(
        id,
        (async () => {
          const pair = {
            privateKey: await crypto.subtle.importKey('jwk', privateJwk, algorithm, false, ['sign']),
            publicKey: await crypto.subtle.importKey('jwk', publicJwk, algorithm, true, ['verify']),
          };
          return { handle: oauth.DPoP(client, pair as oauth.CryptoKeyPair), proofKey };
        })(),
      );
    },
  };
}

function clientAuthOf(options: OAuth2Options): oauth.ClientAuth {
  const method: ClientAuthMethod =
    options.clientAuth ?? (options.clientSecret !== undefined ? 'client_secret_basic' : options.privateKey ? 'private_key_jwt' : 'none');
  switch (method) {
    case 'client_secret_basic':
      return oauth.ClientSecretBasic(checkString(options.clientSecret, `clientSecret (for ${method})`));
    case 'client_secret_post':
      return oauth.ClientSecretPost(checkString(options.clientSecret, `clientSecret (for ${method})`));
    case 'private_key_jwt': {
      const key = options.privateKey;
      if (!key || typeof key !== 'object' || key.key?.type !== 'private') {
        throw new TypeError('oauth2: privateKey must be { key: a private CryptoKey, kid? } for private_key_jwt');
      }
      return oauth.PrivateKeyJwt(key.kid === undefined ? { key: key.key } : { key: key.key, kid: key.kid });
    }
    case 'none':
      return oauth.None();
    default:
      throw new TypeError(
        `oauth2: clientAuth must be one of client_secret_basic, client_secret_post, private_key_jwt, none; got ${String(method)}`,
      );
  }
}

function metadataOf(endpoints: OAuth2Endpoints, allowHttp: boolean | undefined): oauth.AuthorizationServer {
  if (typeof endpoints !== 'object' || endpoints === null) throw new TypeError('oauth2: endpoints must be an object');
  const token = checkUrl(endpoints.token, 'endpoints.token', allowHttp);
  const as: oauth.AuthorizationServer = {
    issuer: endpoints.issuer ?? token.origin,
    token_endpoint: token.href,
    ...(endpoints.authorization && {
      authorization_endpoint: checkUrl(endpoints.authorization, 'endpoints.authorization', allowHttp).href,
    }),
    ...(endpoints.revocation && { revocation_endpoint: checkUrl(endpoints.revocation, 'endpoints.revocation', allowHttp).href }),
    ...(endpoints.jwks && { jwks_uri: checkUrl(endpoints.jwks, 'endpoints.jwks', allowHttp).href }),
  };
  return as;
}

/** The ID token's claims without the ones that only served its own validation. */
function publicClaims(claims: oauth.IDToken): Record<string, unknown> {
  const { nonce: _nonce, at_hash: _atHash, c_hash: _cHash, s_hash: _sHash, ...rest } = claims as oauth.IDToken & Record<string, unknown>;
  return rest;
}

function callbackProblem(error: unknown): string {
  if (error instanceof oauth.OperationProcessingError) return error.message;
  return 'unexpected parameters';
}

/** oauth4webapi's fetch, sent through the keeper's client (its timeout, abort signal and body cap), keeping the answer's send time. */
function transport(upstream: UpstreamClient, operation: UpstreamDetails['operation']) {
  const call: { answer?: UpstreamResponse; fetch: (url: string, init: oauth.CustomFetchOptions<string, unknown>) => Promise<Response> } = {
    async fetch(url, init) {
      const answer = await upstream.send(operation, url, {
        method: init.method,
        headers: init.headers,
        ...(init.body !== undefined && { body: init.body as RequestInit['body'] }),
      });
      call.answer = answer;
      return new Response(NULL_BODY.has(answer.status) ? null : answer.body, { status: answer.status, headers: answer.headers });
    },
  };
  return call;
}
