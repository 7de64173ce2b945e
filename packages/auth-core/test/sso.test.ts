import { createManualClock, type FakeSsoOptions, startFakeUpstream } from '@tokenkeeper/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { readHtmlPage, sessionRenew, ssoFormLogin, TokenKeeper, type TokenKeeperOptions } from '../src/index.js';
import { protocolCase, rejection } from './harness.js';

const resolver = protocolCase('sessionRenew');
const ada = resolver.credentials('ada') as { email: string; password: string; selectedOrg: number };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A session-renew upstream whose users sign in at a fake IdP on another loopback port, and a keeper with the form step. */
async function ssoSetup(sso: FakeSsoOptions | true = true, keeperOptions: Partial<TokenKeeperOptions<any>> = {}, idpOrigins?: string[]) {
  const clock = createManualClock();
  const upstream = await startFakeUpstream({ protocol: 'sessionRenew', clock, sso });
  cleanups.push(() => upstream.close());
  const loginStep = ssoFormLogin({ idpOrigins: idpOrigins ?? [upstream.idp!.url] });
  const keeper = new TokenKeeper({
    protocol: sessionRenew({ baseUrl: upstream.url, loginStep }),
    clock,
    keepAlive: false,
    ...keeperOptions,
  });
  cleanups.push(() => keeper.close());
  return { upstream, keeper, clock };
}

describe('SSO logins through the identity provider’s sign-in form', () => {
  it('follows the redirect to the IdP, submits the credentials, posts its SAML response back, and gets the session token', async () => {
    const { keeper, upstream } = await ssoSetup();
    const session = keeper.session('ada');
    expect(await session.login(ada)).toMatchObject({ status: 'active' });
    expect(await (await session.fetch(resolver.resource)).json()).toEqual({ id: 1, email: ada.email, currentOrg: { id: 7 } });
    expect(upstream.stats).toMatchObject({ logins: 1, loginFailures: 0, ssoFailures: 0 });
    expect(upstream.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'POST /user/authenticate',
      'POST /saml/acs',
      'GET /user/users/me',
    ]);
  });

  it('carries an authorization code back just as well as a SAML response', async () => {
    const { keeper, upstream } = await ssoSetup({ response: 'code' });
    await keeper.session('ada').login({ ...ada, selectedOrg: undefined });
    expect(upstream.stats.logins).toBe(1);
    expect(await (await keeper.session('ada').fetch('/whoami')).json()).toEqual({ userId: 1 });
  });

  it('carries cookies across the redirects of an ADFS-like IdP and an upstream that hands the token over by cookie', async () => {
    const { keeper, upstream } = await ssoSetup({ redirectAfterPassword: true, handoff: 'redirect' });
    await keeper.session('ada').login(ada);
    expect(await (await keeper.session('ada').fetch(resolver.resource)).json()).toMatchObject({ id: 1, currentOrg: { id: 7 } });
    expect(upstream.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'POST /user/authenticate',
      'POST /saml/acs',
      'GET /user/authenticate/sso',
      'GET /user/users/me',
    ]);
  });

  it('leaves renewal to the preset: the token is renewed with the bearer, without another trip to the IdP', async () => {
    const { keeper, upstream, clock } = await ssoSetup();
    await keeper.session('ada').login(ada);
    await clock.advance(resolver.lifetimeMs - 30_000);
    await keeper.session('ada').token();
    await keeper.settled();
    expect(upstream.stats).toMatchObject({ logins: 1, renewals: 1 });
  });

  it('logs in again through the IdP once the token has lapsed, with remembered credentials', async () => {
    const { keeper, upstream, clock } = await ssoSetup(true, { rememberCredentials: true });
    await keeper.session('ada').login(ada);
    await clock.advance(resolver.lifetimeMs + 1_000);
    expect((await keeper.session('ada').fetch(resolver.resource)).status).toBe(200);
    expect(upstream.stats.logins).toBe(2);
  });

  it('answers a password the IdP refuses (its sign-in form shown again) with INVALID_CREDENTIALS', async () => {
    const { keeper, upstream } = await ssoSetup();
    const error = await rejection(() => keeper.session('ada').login({ ...ada, password: 'not-the-password' }));
    expect(error).toMatchObject({ code: 'INVALID_CREDENTIALS', status: 401, message: 'the upstream refused the credentials' });
    expect(upstream.stats).toMatchObject({ logins: 0, ssoFailures: 1 });
    expect(await keeper.session('ada').state()).toEqual({ status: 'none' });
  });

  it('answers an MFA page with SSO_INTERACTION_REQUIRED naming what the IdP asked for', async () => {
    const { keeper, upstream } = await ssoSetup({ mfaUsers: [ada.email] });
    expect(await rejection(() => keeper.session('ada').login(ada))).toMatchObject({
      code: 'SSO_INTERACTION_REQUIRED',
      status: 401,
      message:
        'the identity provider asks for more than a password (“Additional verification required”, fields: otc): a person must sign in',
    });
    expect(upstream.stats.logins).toBe(0);
  });

  it('answers a “Stay signed in?” page with SSO_INTERACTION_REQUIRED too: a person’s choice is not made for them', async () => {
    const { keeper } = await ssoSetup({ staySignedIn: true });
    expect(await rejection(() => keeper.session('ada').login(ada))).toMatchObject({
      code: 'SSO_INTERACTION_REQUIRED',
      message:
        'the identity provider asks for more than a password (“Stay signed in?”, fields: DontShowAgain, StaySignedIn): a person must sign in',
    });
  });

  it('never sends the password to an IdP that is not in idpOrigins: the redirect is refused', async () => {
    const { keeper, upstream } = await ssoSetup(true, {}, ['https://adfs.corp.example']);
    expect(await rejection(() => keeper.session('ada').login(ada))).toMatchObject({
      code: 'UPSTREAM_REJECTED',
      status: 502,
      message: `the SSO login led by a redirect to ${upstream.idp!.url}, which is not in idpOrigins`,
    });
  });

  it('never posts the IdP’s answer anywhere but the upstream, even when the IdP’s page says so', async () => {
    const clock = createManualClock();
    const upstream = await startFakeUpstream({ protocol: 'sessionRenew', clock, sso: true });
    cleanups.push(() => upstream.close());
    // An IdP page tampered with on the way: the hand-back form aims at another server.
    const tampering: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const body = await response.text();
      return new Response(body.replaceAll(`${upstream.url}/saml/acs`, 'http://127.0.0.1:9/collect'), response);
    };
    const loginStep = ssoFormLogin({ idpOrigins: [upstream.idp!.url] });
    const keeper = new TokenKeeper({
      protocol: sessionRenew({ baseUrl: upstream.url, loginStep }),
      clock,
      keepAlive: false,
      fetch: tampering,
    });
    cleanups.push(() => keeper.close());
    expect(await rejection(() => keeper.session('ada').login(ada))).toMatchObject({
      code: 'UPSTREAM_REJECTED',
      message: "the identity provider's answer posts to http://127.0.0.1:9, not to the upstream",
    });
    expect(upstream.stats.logins).toBe(0);
  });

  it('refuses a sign-in form served by the upstream itself: the password goes to idpOrigins only', async () => {
    const { keeper, upstream } = await ssoSetup();
    upstream.faults.next('login', 'ssoPage');
    expect(await rejection(() => keeper.session('ada').login(ada))).toMatchObject({
      code: 'UPSTREAM_REJECTED',
      message: `the sign-in form posts to ${upstream.url}, which is not in idpOrigins`,
    });
  });

  it('reports a page without a form from the upstream itself as UPSTREAM_MALFORMED, not as the IdP asking for something', async () => {
    const clock = createManualClock();
    const upstream = await startFakeUpstream({ protocol: 'sessionRenew', clock });
    cleanups.push(() => upstream.close());
    // A maintenance page in place of the login's answer.
    const maintenance: typeof fetch = async () =>
      new Response('<html><head><title>Down for maintenance</title></head><body>Back soon</body></html>', {
        status: 200,
        headers: { 'content-type': 'text/html' },
      });
    const loginStep = ssoFormLogin({ idpOrigins: ['https://adfs.corp.example'] });
    const keeper = new TokenKeeper({
      protocol: sessionRenew({ baseUrl: upstream.url, loginStep }),
      clock,
      keepAlive: false,
      fetch: maintenance,
    });
    cleanups.push(() => keeper.close());
    expect(await rejection(() => keeper.session('ada').login(ada))).toMatchObject({
      code: 'UPSTREAM_MALFORMED',
      message: 'upstream login answer: an HTML page instead of a token (an SSO login page?)',
    });
  });

  it('gives up on a chain of redirects longer than maxSteps', async () => {
    const clock = createManualClock();
    const upstream = await startFakeUpstream({ protocol: 'sessionRenew', clock });
    cleanups.push(() => upstream.close());
    // Five redirects in a row, each to the next (GET after the first: 302 turns the POST into a GET).
    let target = `${upstream.url}/public`;
    for (let hop = 0; hop < 5; hop++) target = `${upstream.url}/redirect?to=${encodeURIComponent(target)}`;
    const loop = target.slice(upstream.url.length);
    const loginStep = ssoFormLogin({ idpOrigins: ['https://adfs.corp.example'], maxSteps: 3 });
    const keeper = new TokenKeeper({
      protocol: sessionRenew({ baseUrl: upstream.url, loginPath: loop, loginStep }),
      clock,
      keepAlive: false,
    });
    cleanups.push(() => keeper.close());
    expect(await rejection(() => keeper.session('ada').login(ada))).toMatchObject({
      code: 'UPSTREAM_REJECTED',
      message: 'the SSO login took more than 3 steps',
    });
  });

  it('logs a user who needs no SSO straight in with the same step', async () => {
    const clock = createManualClock();
    const upstream = await startFakeUpstream({ protocol: 'sessionRenew', clock });
    cleanups.push(() => upstream.close());
    const loginStep = ssoFormLogin({ idpOrigins: ['https://adfs.corp.example'] });
    const keeper = new TokenKeeper({ protocol: sessionRenew({ baseUrl: upstream.url, loginStep }), clock, keepAlive: false });
    cleanups.push(() => keeper.close());
    await keeper.session('ada').login(ada);
    expect(upstream.stats.logins).toBe(1);
  });

  it('without a login step, an SSO redirect is still reported as one (UPSTREAM_REJECTED), not followed', async () => {
    const clock = createManualClock();
    const upstream = await startFakeUpstream({ protocol: 'sessionRenew', clock, sso: true });
    cleanups.push(() => upstream.close());
    const keeper = new TokenKeeper({ protocol: sessionRenew({ baseUrl: upstream.url }), clock, keepAlive: false });
    cleanups.push(() => keeper.close());
    expect(await rejection(() => keeper.session('ada').login(ada))).toMatchObject({
      code: 'UPSTREAM_REJECTED',
      message: `upstream login was redirected to ${upstream.idp!.url} (an SSO login page?)`,
    });
  });

  it('refuses options it cannot use with TypeErrors naming them', () => {
    expect(() => ssoFormLogin({ idpOrigins: [] })).toThrow(
      new TypeError('ssoFormLogin: idpOrigins must list the identity provider origins, e.g. https://adfs.corp.example'),
    );
    expect(() => ssoFormLogin({ idpOrigins: ['https://adfs.corp.example/adfs/ls'] })).toThrow(
      "ssoFormLogin: idpOrigins must hold http(s) origins like 'https://adfs.corp.example', got https://adfs.corp.example/adfs/ls",
    );
    expect(() => ssoFormLogin({ idpOrigins: ['https://adfs.corp.example'], maxSteps: 0 })).toThrow(
      new TypeError('ssoFormLogin: maxSteps must be a positive integer'),
    );
    expect(() => sessionRenew({ baseUrl: 'https://core.example', loginStep: 'sso' as never })).toThrow(
      new TypeError('sessionRenew: loginStep must be a function (for example ssoFormLogin({ idpOrigins }))'),
    );
  });
});

describe('readHtmlPage', () => {
  it('reads forms as a browser submits them: quotes of both kinds, entities, unchecked boxes and buttons left out but named as choices', () => {
    const page = readHtmlPage(`<title>Sign &amp; go</title>
      <form METHOD=POST action='/login?a=1&amp;b=2'>
        <input type=hidden name='csrf' value="x&#x27;y&quot;">
        <input name=user><input type="checkbox" name="remember"><input type="checkbox" name="terms" checked>
        <input type="submit" name="go" value="Go"><input value="no name">
      </form><input name="outside">`);
    expect(page).toEqual({
      title: 'Sign & go',
      forms: [
        {
          action: '/login?a=1&b=2',
          method: 'post',
          inputs: [
            { name: 'csrf', value: `x'y"`, type: 'hidden' },
            { name: 'user', value: '', type: 'text' },
            { name: 'terms', value: 'on', type: 'checkbox' },
          ],
          choices: ['remember', 'terms', 'go'],
        },
      ],
    });
  });
});
