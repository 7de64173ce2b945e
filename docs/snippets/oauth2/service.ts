import { TokenKeeper } from '@tokenkeeper/auth-core';
import { oauth2 } from '@tokenkeeper/oauth2';

/** A service session from the client credentials grant: no user, kept alive by a new grant before each token expires. */
export async function reportsService(config: { issuer: string; api: string; clientSecret: string }) {
  const keeper = new TokenKeeper({
    protocol: oauth2(
      { issuer: config.issuer },
      {
        baseUrl: config.api,
        clientId: 'service-client',
        clientSecret: config.clientSecret,
        grant: 'client_credentials',
        scope: 'incidents',
      },
    ),
  });
  await keeper.login('reports', {}, { service: true }); // a service session is renewed for as long as the keeper runs
  const incidents = await keeper.session('reports').fetch('/incidents');
  return { keeper, incidents: await incidents.json() };
}
