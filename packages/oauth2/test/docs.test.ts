/**
 * The guide's code blocks are files (test/snippets.test.ts keeps them equal to the guide), and
 * each is run here against oidc-provider; the README's is examples/oauth2-connect, run by its test.
 */
import type { OAuth2Protocol } from '@tokenkeeper/oauth2';
import { connect, SECRET, startProvider, type TestProvider } from '@tokenkeeper/oauth2/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dpopUpstream } from '../../../docs/snippets/oauth2/dpop.js';
import { endpointsUpstream } from '../../../docs/snippets/oauth2/endpoints.js';
import { openIdUpstream } from '../../../docs/snippets/oauth2/openid.js';
import { reportsService } from '../../../docs/snippets/oauth2/service.js';

describe("the guide's snippets, against oidc-provider", () => {
  let provider: TestProvider;
  beforeEach(async () => {
    provider = await startProvider();
  });
  afterEach(() => provider.close());

  it('openid.ts: discovery, a connected user, claims and the API as that user', async () => {
    const { keeper } = openIdUpstream({
      issuer: provider.issuer,
      api: provider.api,
      clientSecret: SECRET,
      publicUrl: 'http://127.0.0.1',
      connectSecret: 'a-connect-secret-of-at-least-32-chars',
    });
    try {
      const state = await connect(keeper, keeper.protocol as OAuth2Protocol, 'ada');
      expect(state.claims).toMatchObject({ sub: 'ada' });
      expect(await (await keeper.session('ada').fetch('/me')).json()).toMatchObject({ sub: 'ada', clientId: 'basic-client' });
    } finally {
      await keeper.close();
    }
  });

  it('endpoints.ts: given endpoints, client_secret_post, and a logout that revokes', async () => {
    const keeper = endpointsUpstream({ server: provider.issuer, api: provider.api, clientSecret: SECRET });
    try {
      await connect(keeper, keeper.protocol as OAuth2Protocol, 'grace', 'grace');
      const token = await keeper.session('grace').token();
      expect((await keeper.session('grace').fetch('/me')).status).toBe(200);
      await keeper.session('grace').logout();
      expect((await fetch(`${provider.api}/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    } finally {
      await keeper.close();
    }
  });

  it('service.ts: a client credentials session reads the API', async () => {
    const { keeper, incidents } = await reportsService({ issuer: provider.issuer, api: provider.api, clientSecret: SECRET });
    await keeper.close();
    expect(incidents).toMatchObject({ clientId: 'service-client', scope: 'incidents' });
  });

  it('dpop.ts: a DPoP-bound session calls the API with proofs', async () => {
    await provider.close();
    provider = await startProvider({ dpop: true });
    const keeper = dpopUpstream({ issuer: provider.issuer, api: provider.api, clientSecret: SECRET });
    try {
      await connect(keeper, keeper.protocol as OAuth2Protocol, 'ada');
      expect(await (await keeper.session('ada').fetch('/me')).json()).toMatchObject({ sub: 'ada', bound: true });
    } finally {
      await keeper.close();
    }
  });
});
