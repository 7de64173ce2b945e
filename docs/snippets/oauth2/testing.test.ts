import { TokenKeeper } from '@tokenkeeper/auth-core';
import { oauth2 } from '@tokenkeeper/oauth2';
import { connect, SECRET, startProvider } from '@tokenkeeper/oauth2/testing';
import { expect, it } from 'vitest';

it('calls the API as a user who connected at a real OpenID provider', async () => {
  const provider = await startProvider(); // oidc-provider on a loopback port, with its own API
  const protocol = oauth2(
    { issuer: provider.issuer },
    { baseUrl: provider.api, clientId: 'basic-client', clientSecret: SECRET, scope: 'openid offline_access' },
  );
  const keeper = new TokenKeeper({ protocol });
  try {
    await connect(keeper, protocol, 'user-1', 'ada'); // signs in as "ada" on the provider's own pages
    const answer = await keeper.session('user-1').fetch('/me');
    expect(await answer.json()).toMatchObject({ sub: 'ada' });
    expect(provider.tokenCalls).toEqual({ authorization_code: 1 });
  } finally {
    await keeper.close();
    await provider.close();
  }
});
