import { createManualClock, startFakeUpstream } from '@tokenkeeper/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { staySignedInStep } from '../docs/snippets/session-renew/sso-custom-step.js';
import { signIn, ssoKeeper } from '../docs/snippets/session-renew/sso-login.js';
import { sessionRenew, TokenKeeper } from '../packages/auth-core/src/index.js';
import { guideBlock, snippetFile } from './support/guide-snippets.js';

const GUIDE = 'docs/guides/session-renew.md';
const SNIPPETS = ['docs/snippets/session-renew/sso-login.ts', 'docs/snippets/session-renew/sso-custom-step.ts'];
const ada = { email: 'ada@example.test', password: 'ada-password-1', selectedOrg: 7 };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('the session-renew guide’s SSO section', () => {
  it.each(SNIPPETS)('shows %s character for character', async (snippet) => {
    expect(await guideBlock(GUIDE, snippet)).toBe(await snippetFile(snippet));
  });

  it('signs a user in through the fake identity provider with the shipped step, and tells an MFA page apart', async () => {
    const upstream = await startFakeUpstream({ protocol: 'sessionRenew', sso: { mfaUsers: ['grace@example.test'] } });
    cleanups.push(() => upstream.close());
    const keeper = ssoKeeper(upstream.url, upstream.idp!.url);
    cleanups.push(() => keeper.close());

    expect(await signIn(keeper, 'ada', ada)).toMatchObject({ signedIn: true, state: { status: 'active' } });
    expect((await keeper.session('ada').fetch('/user/users/me')).status).toBe(200);
    expect(await signIn(keeper, 'grace', { email: 'grace@example.test', password: 'grace-password-2', selectedOrg: 7 })).toEqual({
      signedIn: false,
      askTheUser:
        'the identity provider asks for more than a password (“Additional verification required”, fields: otc): a person must sign in',
    });
    await expect(signIn(keeper, 'ada', { ...ada, password: 'not-the-password' })).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' });
  });

  it('runs the custom step for an IdP that asks “Stay signed in?”, which the shipped step leaves to a person', async () => {
    const clock = createManualClock();
    const upstream = await startFakeUpstream({ protocol: 'sessionRenew', clock, sso: { staySignedIn: true } });
    cleanups.push(() => upstream.close());
    const keeper = new TokenKeeper({
      protocol: sessionRenew({ baseUrl: upstream.url, loginStep: staySignedInStep(upstream.idp!.url) }),
      clock,
      keepAlive: false,
    });
    cleanups.push(() => keeper.close());

    await keeper.session('ada').login(ada);
    expect(await (await keeper.session('ada').fetch('/whoami')).json()).toEqual({ userId: 1 });
    await expect(keeper.session('ada').login({ ...ada, password: 'not-the-password' })).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
      message: 'the upstream refused the credentials',
    });
    expect(upstream.stats).toMatchObject({ logins: 1, ssoFailures: 1 });
  });
});
