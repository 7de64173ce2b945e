// redirect.test.ts
import { TokenKeeper } from '@tokenkeeper/auth-core';
import { fakeUpstreamPreset, startFakeUpstream, startRecordingServer } from '@tokenkeeper/testing';
import { expect, it } from 'vitest';

it('never sends the token to another origin, even through a redirect', async () => {
  const upstream = await startFakeUpstream({ protocol: 'refreshToken' });
  const keeper = new TokenKeeper({ protocol: fakeUpstreamPreset(upstream), allowedOrigins: ['*'] });
  const session = keeper.session('ada');
  await session.login({ username: 'ada', password: 'ada-password-1' });

  const foreign = await startRecordingServer();
  await session.fetch(`${upstream.url}/redirect?to=${encodeURIComponent(`${foreign.url}/steal`)}`);
  expect(foreign.requests).toHaveLength(1); // the redirect was followed…
  expect(foreign.requests.every((request) => request.authorization === undefined)).toBe(true); // …without the token
  await foreign.close();

  await keeper.close();
  await upstream.close();
});
