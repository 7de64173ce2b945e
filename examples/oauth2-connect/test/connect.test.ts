/**
 * The example as a user runs it: the app from src/main.ts, oidc-provider as the provider, a
 * browser stand-in that clicks "Connect", signs in and lands back connected.
 */

import { startProvider, TestBrowser, type TestProvider } from '@tokenkeeper/oauth2/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningExample, startExample } from './example.js';

let provider: TestProvider;
let example: RunningExample;
let url: string;

beforeAll(async () => {
  provider = await startProvider();
  example = await startExample(provider);
  url = example.url;
});
afterAll(async () => {
  await example?.close();
  await provider?.close();
});

describe('examples/oauth2-connect', () => {
  it('offers Connect, signs the user in at the provider, lands back connected, calls the API as them, and logs out', async () => {
    const browser = new TestBrowser('ada');

    const home = await browser.open(`${url}/`);
    expect(home.body).toBe('<a href="/connect?returnTo=/me">Connect</a>');

    const connected = await browser.open(`${url}/connect?returnTo=/me`);
    expect(connected.status).toBe(200);
    expect(JSON.parse(connected.body)).toMatchObject({ sub: 'ada', clientId: 'basic-client' });
    expect((await browser.open(`${url}/`)).body).toBe('<p>Connected as ada</p>');

    const cookie = [...browser.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const logout = await fetch(`${url}/logout`, { method: 'POST', headers: { cookie }, redirect: 'manual' });
    expect(logout.status).toBe(303);
    expect(provider.tokenCalls).toEqual({ authorization_code: 1 });
    expect((await browser.open(`${url}/me`)).status).toBe(401);
  });
});
