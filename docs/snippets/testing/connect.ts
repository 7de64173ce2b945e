import { TokenKeeper } from '@tokenkeeper/auth-core';
import { defaultUsers, FAKE_RESOURCES, fakeCredentials, fakeUpstreamPreset, startFakeUpstream } from '@tokenkeeper/testing';

const upstream = await startFakeUpstream({ protocol: 'sessionRenew', accessTokenLifetimeMs: 3_000 });
const keeper = new TokenKeeper({ protocol: fakeUpstreamPreset(upstream, 3_000) });
await keeper.session('ada').login(fakeCredentials('sessionRenew', defaultUsers()[0]!));
const me = await keeper.session('ada').fetch(FAKE_RESOURCES.sessionRenew); // '/user/users/me'
console.log(me.status, await me.json()); // 200 { id: 1, email: 'ada@example.test', currentOrg: { id: 7 } }

await keeper.close();
await upstream.close();
