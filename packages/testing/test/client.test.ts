import { TokenKeeper } from '@tokenkeeper/auth-core';
import { describe, expect, it } from 'vitest';
import { defaultUsers, FAKE_RESOURCES, type FakeProtocol, fakeCredentials, fakeUpstreamPreset, startFakeUpstream } from '../src/index.js';

describe.each<FakeProtocol>(['sessionRenew', 'refreshToken', 'basicAuth'])('client helpers for a %s fake upstream', (protocol) => {
  it('give the preset, credentials and resource that log in and call it', async () => {
    const upstream = await startFakeUpstream({ protocol, accessTokenLifetimeMs: 90_000 });
    const keeper = new TokenKeeper({ protocol: fakeUpstreamPreset(upstream, 90_000), keepAlive: false });
    try {
      const state = await keeper.session('ada').login(fakeCredentials(protocol, defaultUsers()[0]!));
      expect(state.expiresAt! - Date.now()).toBeLessThanOrEqual(90_000);
      expect(state.expiresAt! - Date.now()).toBeGreaterThan(85_000);
      expect((await keeper.session('ada').fetch(FAKE_RESOURCES[protocol])).status).toBe(200);
    } finally {
      await keeper.close();
      await upstream.close();
    }
  });
});
