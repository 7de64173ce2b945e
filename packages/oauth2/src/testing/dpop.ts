/**
 * DPoP for the test provider: the features that make oidc-provider bind tokens to the client's
 * key (and want its nonce), and a resource server that checks each request's proof with
 * oauth4webapi's own resource-server validation, wants a nonce of its own, and refuses a proof
 * it has seen before.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as oauth from 'oauth4webapi';

export function dpopFeatures(api: () => string) {
  return {
    dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
    // Access tokens for the API are JWTs it can validate on its own, bound to the proof key (cnf.jkt).
    resourceIndicators: {
      enabled: true,
      defaultResource: () => api(),
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: 'incidents', audience: api(), accessTokenFormat: 'jwt' as const }),
    },
  };
}

/** The API's own nonce, and the proofs it has accepted (each may be used once). */
const NONCE = randomBytes(16).toString('base64url');
const seen = new Set<string>();
const servers = new Map<string, Promise<oauth.AuthorizationServer>>();

export async function dpopResource(
  req: IncomingMessage,
  res: ServerResponse,
  issuer: string,
  counters: { api: string; apiRejections: number; replaysRefused?: number },
): Promise<void> {
  const refuse = (error: string, extra: Record<string, string> = {}) => {
    counters.apiRejections++;
    res.writeHead(401, { 'www-authenticate': `DPoP error="${error}"`, 'content-type': 'application/json', ...extra });
    res.end(JSON.stringify({ error }));
  };
  const proof = req.headers.dpop;
  const payload = typeof proof === 'string' ? claimsOf(proof) : undefined;
  if (payload && payload.nonce !== NONCE) return refuse('use_dpop_nonce', { 'dpop-nonce': NONCE });
  if (payload && seen.has(String(payload.jti))) {
    counters.replaysRefused = (counters.replaysRefused ?? 0) + 1;
    return refuse('invalid_dpop_proof');
  }
  let claims: oauth.JWTAccessTokenClaims;
  try {
    const request = new Request(`${counters.api}${req.url}`, { method: req.method, headers: req.headers as Record<string, string> });
    claims = await oauth.validateJwtAccessToken(await serverOf(issuer), request, counters.api, {
      requireDPoP: true,
      [oauth.allowInsecureRequests]: true,
    });
  } catch {
    return refuse('invalid_token');
  }
  seen.add(String(payload!.jti));
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ sub: claims.sub, clientId: claims.client_id, scope: claims.scope ?? '', bound: claims.cnf?.jkt !== undefined }));
}

function claimsOf(jwt: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

function serverOf(issuer: string): Promise<oauth.AuthorizationServer> {
  let known = servers.get(issuer);
  if (!known) {
    const url = new URL(issuer);
    known = oauth
      .discoveryRequest(url, { [oauth.allowInsecureRequests]: true })
      .then((response) => oauth.processDiscoveryResponse(url, response));
    servers.set(issuer, known);
  }
  return known;
}
