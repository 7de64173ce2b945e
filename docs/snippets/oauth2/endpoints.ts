import { TokenKeeper } from '@tokenkeeper/auth-core';
import { oauth2 } from '@tokenkeeper/oauth2';

/** A provider without discovery (GitHub-style): its endpoints, given by hand. */
export function endpointsUpstream(config: { server: string; api: string; clientSecret: string }) {
  const protocol = oauth2(
    {
      endpoints: {
        authorization: `${config.server}/auth`,
        token: `${config.server}/token`,
        revocation: `${config.server}/token/revocation`, // without it, logout only forgets the tokens
      },
    },
    {
      baseUrl: config.api,
      clientId: 'post-client',
      clientSecret: config.clientSecret,
      clientAuth: 'client_secret_post', // the secret in the form body, as some providers want
      scope: 'offline_access',
      defaultExpiresInSeconds: 8 * 3600, // when an answer has no expires_in
    },
  );
  return new TokenKeeper({ protocol });
}
