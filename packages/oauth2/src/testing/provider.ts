/**
 * A real authorization server for the tests: panva's certified `oidc-provider`, in process on a
 * loopback port, with a client per client-auth method, refresh token rotation (a reused refresh
 * token revokes the grant), revocation, introspection and client credentials. Beside it, a
 * resource server that accepts only tokens the provider says are live.
 */
import { generateKeyPairSync, type webcrypto } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type ClientMetadata, type Configuration, errors } from 'oidc-provider';
import { dpopFeatures, dpopResource } from './dpop.js';

/** What tests reach into oidc-provider for (its types stay out of this package's declarations). */
export interface ProviderModels {
  AccessToken: { find(token: string): Promise<{ grantId?: string | undefined; destroy(): Promise<void> } | undefined> };
  Grant: { find(id: string): Promise<{ destroy(): Promise<void> } | undefined> };
}

export const SECRET = 'test-client-secret-that-is-long-enough-0123456789';

export interface ProviderOptions {
  /** Access token lifetime, seconds. Default 60. */
  accessTokenTtl?: number;
  /**
   * The host name in the issuer URL (the server listens on 127.0.0.1 either way). Default
   * `'127.0.0.1'`; `'localhost'` makes the provider a different site from an app on 127.0.0.1,
   * so a browser treats the way back to the app as the cross-site redirect it is in production.
   */
  host?: '127.0.0.1' | 'localhost';
  /**
   * Registers `web-client` (a web application, `client_secret_basic`) with these redirect URIs,
   * matched exactly: for an `https:` app on loopback, which a native client may not use.
   * Default: no such client.
   */
  webRedirectUris?: string[];
  /**
   * DPoP (RFC 9449): the provider binds tokens to the client's key and wants its nonce in every
   * proof; access tokens are JWTs for the API, which accepts them only with a valid proof
   * (oauth4webapi's resource-server validation), wants its own nonce too, and refuses a proof
   * it has seen before.
   */
  dpop?: boolean;
}

export interface TestProvider {
  issuer: string;
  /** The provider's own token and grant models, for tests that revoke or expire behind the keeper's back. */
  provider: ProviderModels;
  /** The resource server's base URL: `GET /me` answers the token's subject and scope. */
  api: string;
  /** Token endpoint calls by grant type. */
  tokenCalls: Record<string, number>;
  /** Grants the provider revoked (a reused refresh token revokes its grant). */
  revokedGrants: number;
  /** Requests the resource server refused as invalid_token. */
  apiRejections: number;
  /** The private key of the `jwt-client` (private_key_jwt), and its kid. */
  clientKey: { key: webcrypto.CryptoKey; kid: string };
  close(): Promise<void>;
}

export async function startProvider(options: ProviderOptions = {}): Promise<TestProvider> {
  const server = await listen(createServer());
  const issuer = `http://${options.host ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`;
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = 'jwt-client-key';
  const redirectUris = ['http://127.0.0.1/callback'];
  const grantTypes = ['authorization_code', 'refresh_token'];
  // Native clients (RFC 8252 §7.3): oidc-provider matches a loopback redirect URI on any port, so each test app's own port works.
  const configuration: Configuration = {
    clients: [
      {
        application_type: 'native',
        client_id: 'basic-client',
        client_secret: SECRET,
        redirect_uris: redirectUris,
        grant_types: grantTypes,
        token_endpoint_auth_method: 'client_secret_basic',
      },
      {
        application_type: 'native',
        client_id: 'post-client',
        client_secret: SECRET,
        redirect_uris: redirectUris,
        grant_types: grantTypes,
        token_endpoint_auth_method: 'client_secret_post',
      },
      {
        application_type: 'native',
        client_id: 'jwt-client',
        redirect_uris: redirectUris,
        grant_types: grantTypes,
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        jwks: { keys: [{ ...(publicKey.export({ format: 'jwk' }) as object), kid, use: 'sig', alg: 'ES256' }] },
      },
      {
        application_type: 'native',
        client_id: 'public-client',
        redirect_uris: redirectUris,
        grant_types: grantTypes,
        token_endpoint_auth_method: 'none',
      },
      ...(options.webRedirectUris
        ? [
            {
              client_id: 'web-client',
              client_secret: SECRET,
              redirect_uris: options.webRedirectUris,
              grant_types: grantTypes,
              token_endpoint_auth_method: 'client_secret_basic',
            } satisfies ClientMetadata,
          ]
        : []),
      {
        client_id: 'service-client',
        client_secret: SECRET,
        redirect_uris: [],
        response_types: [],
        grant_types: ['client_credentials'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      {
        client_id: 'password-client',
        client_secret: SECRET,
        redirect_uris: [],
        response_types: [],
        grant_types: ['password', 'refresh_token'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      clientCredentials: { enabled: true },
      ...(options.dpop ? dpopFeatures(() => result.api) : {}),
    },
    scopes: ['openid', 'offline_access', 'email', 'incidents'],
    claims: { openid: ['sub'], email: ['email'] },
    // Every refresh rotates, for every client: a reused refresh token revokes the grant.
    rotateRefreshToken: true,
    pkce: { required: () => true },
    ttl: {
      AccessToken: options.accessTokenTtl ?? 60,
      ClientCredentials: options.accessTokenTtl ?? 60,
      RefreshToken: 24 * 3600,
      IdToken: 3600,
    },
    cookies: { keys: ['oidc-provider-test-cookie-key-0123456789'] },
    async findAccount(_ctx, sub) {
      return { accountId: sub, claims: async () => ({ sub, email: `${sub}@example.test` }) };
    },
    // Never an HTML error page with the request in it: a plain message.
    async renderError(ctx, out) {
      ctx.type = 'text/plain';
      ctx.body = `error: ${out.error}`;
    },
  };
  // Its quick-start warnings (in-memory adapter, development keys and sign-in pages) are what a test provider is.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => void (String(args[0]).includes('oidc-provider WARNING') || warn(...args));
  let provider: Provider;
  try {
    provider = new Provider(issuer, configuration);
  } finally {
    console.warn = warn;
  }
  registerPasswordGrant(provider);
  const result: TestProvider = {
    issuer,
    provider: provider as unknown as ProviderModels,
    api: '',
    tokenCalls: {},
    revokedGrants: 0,
    apiRejections: 0,
    clientKey: {
      key: (await crypto.subtle.importKey('jwk', privateKey.export({ format: 'jwk' }), { name: 'ECDSA', namedCurve: 'P-256' }, false, [
        'sign',
      ])) as webcrypto.CryptoKey,
      kid,
    },
    async close() {
      await Promise.all([close(server), close(api)]);
    },
  };
  provider.on('grant.revoked', () => {
    result.revokedGrants++;
  });
  const count = (ctx: { oidc?: { params?: Record<string, unknown> } }) => {
    const grant = String(ctx.oidc?.params?.grant_type ?? 'unknown');
    result.tokenCalls[grant] = (result.tokenCalls[grant] ?? 0) + 1;
  };
  provider.on('grant.success', count);
  provider.on('grant.error', count);
  server.on('request', provider.callback());

  const api = await listen(
    createServer(async (req, res) => {
      if (options.dpop) return dpopResource(req, res, issuer, result);
      const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(req.headers.authorization ?? '');
      const token = match ? await provider.AccessToken.find(match[1]!) : undefined;
      const live = token ?? (match ? await provider.ClientCredentials.find(match[1]!) : undefined);
      if (!live || live.isExpired) {
        result.apiRejections++;
        res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-type': 'application/json' });
        res.end('{"error":"invalid_token"}');
        return;
      }
      const scope = String(live.scope ?? '');
      if (req.url === '/incidents' && !scope.split(' ').includes('incidents')) {
        res.writeHead(403, {
          'www-authenticate': 'Bearer error="insufficient_scope", scope="incidents"',
          'content-type': 'application/json',
        });
        res.end('{"error":"insufficient_scope"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ sub: 'accountId' in live ? live.accountId : undefined, clientId: live.clientId, scope, path: req.url }));
    }),
  );
  result.api = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  return result;
}

/** The user's password in the password grant (a legacy grant oidc-provider leaves out): their login, then `-password`. */
export const passwordOf = (login: string) => `${login}-password`;

/**
 * The legacy resource owner password grant, through oidc-provider's own extension point
 * (`registerGrantType`): a grant, an access token and a rotating refresh token from its models,
 * so refreshes afterwards are the provider's own.
 */
function registerPasswordGrant(provider: Provider): void {
  provider.registerGrantType(
    'password',
    async (ctx) => {
      const { username, password } = ctx.oidc.params as { username?: string; password?: string };
      if (!username || password !== passwordOf(username)) throw new errors.InvalidGrant('wrong username or password');
      const client = ctx.oidc.client!;
      const scope = 'offline_access';
      const grant = new provider.Grant({ accountId: username, clientId: client.clientId });
      grant.addOIDCScope(scope);
      const grantId = await grant.save();
      const common = { accountId: username, client, grantId, scope, gty: 'password' };
      const accessToken = new provider.AccessToken(common);
      const refreshToken = new provider.RefreshToken(common);
      ctx.body = {
        access_token: await accessToken.save(),
        token_type: 'Bearer',
        expires_in: accessToken.expiration,
        refresh_token: await refreshToken.save(),
        scope,
      };
    },
    ['username', 'password', 'scope'],
  );
}

async function listen(server: Server): Promise<Server> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
