import { TokenKeeper } from '@tokenkeeper/auth-core';
import { oauth2, oauthConnect } from '@tokenkeeper/oauth2';

/** Per-user sessions at an OpenID provider: discovery, a confidential client, rotating refresh tokens. */
export function openIdUpstream(config: { issuer: string; api: string; clientSecret: string; publicUrl: string; connectSecret: string }) {
  const protocol = oauth2(
    { issuer: config.issuer }, // reads /.well-known/openid-configuration once, on first use
    {
      baseUrl: config.api, // the API the tokens are for: the only origin that ever receives them
      clientId: 'basic-client',
      clientSecret: config.clientSecret, // client_secret_basic; clientAuth picks another method
      scope: 'openid offline_access', // offline_access: a refresh token, so sessions outlive the access token
    },
  );
  const keeper = new TokenKeeper({ protocol });
  const connect = oauthConnect({ protocol, redirectUri: `${config.publicUrl}/callback`, secret: config.connectSecret });
  return { keeper, connect }; // app.use(tokenKeeper({ keeper, cookie }), connectRoutes(connect))
}
