import { TokenKeeper } from '@tokenkeeper/auth-core';
import { oauth2 } from '@tokenkeeper/oauth2';

/** Sender-constrained tokens (DPoP): a key pair per session, a signed proof on every call. */
export function dpopUpstream(config: { issuer: string; api: string; clientSecret: string }) {
  const protocol = oauth2(
    { issuer: config.issuer },
    { baseUrl: config.api, clientId: 'basic-client', clientSecret: config.clientSecret, scope: 'openid offline_access', dpop: true },
  );
  return new TokenKeeper({ protocol }); // call the API with session.fetch: each request gets its own proof
}
