import { describe, expect, it } from 'vitest';
import { ADA, useUpstreams } from './helpers.js';

/** What a browser does by hand: the fields of a page's form, its action and the cookie it set. */
function formOf(html: string): { action: string; fields: URLSearchParams } {
  const action = /<form[^>]*action=["']([^"']*)["']/i.exec(html)![1]!.replaceAll('&amp;', '&');
  const fields = new URLSearchParams();
  for (const [, attributes = ''] of html.matchAll(/<input\b([^>]*)>/gi)) {
    const name = /name=["']([^"']*)["']/.exec(attributes)?.[1];
    const type = /type=["']([^"']*)["']/.exec(attributes)?.[1];
    if (name && type === 'hidden') fields.set(name, /value=["']([^"']*)["']/.exec(attributes)?.[1] ?? '');
  }
  return { action, fields };
}

const postForm = (url: string, fields: URLSearchParams, cookie?: string) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie && { cookie }) },
    body: fields.toString(),
    redirect: 'manual',
  });

describe('sessionRenew fake upstream in SSO mode', () => {
  const start = useUpstreams();

  /** Logs in by hand up to the IdP's sign-in page: its URL, form and cookie. */
  async function signInPage(upstream: Awaited<ReturnType<typeof start>>) {
    const login = await fetch(`${upstream.url}/user/authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: ADA.email, password: ADA.password, selectedOrg: 7 }),
      redirect: 'manual',
    });
    expect(login.status).toBe(302);
    const location = login.headers.get('location')!;
    expect(location.startsWith(`${upstream.idp!.url}/adfs/ls/?SAMLRequest=`)).toBe(true);
    const page = await fetch(location);
    const cookie = page.headers.getSetCookie()[0]!.split(';')[0]!;
    const html = await page.text();
    return { html, cookie, form: formOf(html) };
  }

  it('redirects a login to the IdP, whose sign-in form sets a cookie and carries a hidden AuthState', async () => {
    const upstream = await start({ protocol: 'sessionRenew', sso: true });
    const { html, cookie, form } = await signInPage(upstream);
    expect(html).toMatch(/<input id="passwordInput" name="Password" type="password"/);
    expect(cookie).toMatch(/^MSISContext=/);
    expect(form.fields.get('AuthState')).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(upstream.stats.logins).toBe(0);
  });

  it('answers the right password with an auto-submitting SAMLResponse form aimed at /saml/acs, which issues the token once', async () => {
    const upstream = await start({ protocol: 'sessionRenew', sso: true });
    const { cookie, form } = await signInPage(upstream);
    form.fields.set('UserName', ADA.email);
    form.fields.set('Password', ADA.password);
    const answer = await (await postForm(new URL(form.action, upstream.idp!.url).href, form.fields, cookie)).text();
    expect(answer).toMatch(/document\.forms\[0\]\.submit\(\)/);
    const handBack = formOf(answer);
    expect(handBack.action).toBe(`${upstream.url}/saml/acs`);
    expect([...handBack.fields.keys()]).toEqual(['SAMLResponse', 'RelayState']);

    const acs = await postForm(handBack.action, handBack.fields);
    const { token } = (await acs.json()) as { token: string };
    expect(upstream.tokenOwner(token)).toBe(1);
    expect(upstream.stats.logins).toBe(1);
    expect((await postForm(handBack.action, handBack.fields)).status).toBe(400); // single use
  });

  it('shows the sign-in form again with an error for a wrong password, and refuses a post without its cookie', async () => {
    const upstream = await start({ protocol: 'sessionRenew', sso: true });
    const { cookie, form } = await signInPage(upstream);
    const action = new URL(form.action, upstream.idp!.url).href;
    form.fields.set('UserName', ADA.email);
    form.fields.set('Password', 'wrong');
    expect((await postForm(action, form.fields)).status).toBe(400);
    const again = await (await postForm(action, form.fields, cookie)).text();
    expect(again).toMatch(/Incorrect user ID or password/);
    expect(again).toMatch(/type="password"/);
    expect(upstream.stats.ssoFailures).toBe(1);
  });

  it('asks an MFA user for a one-time code, and posts a code instead of a SAMLResponse when told to', async () => {
    const mfa = await start({ protocol: 'sessionRenew', sso: { mfaUsers: [ADA.email] } });
    const first = await signInPage(mfa);
    first.form.fields.set('UserName', ADA.email);
    first.form.fields.set('Password', ADA.password);
    const page = await (await postForm(new URL(first.form.action, mfa.idp!.url).href, first.form.fields, first.cookie)).text();
    expect(page).toMatch(/<title>Additional verification required<\/title>/);
    expect(page).toMatch(/name="otc"/);

    const code = await start({ protocol: 'sessionRenew', sso: { response: 'code' } });
    const second = await signInPage(code);
    second.form.fields.set('UserName', ADA.email);
    second.form.fields.set('Password', ADA.password);
    const answer = await (await postForm(new URL(second.form.action, code.idp!.url).href, second.form.fields, second.cookie)).text();
    expect([...formOf(answer).fields.keys()]).toEqual(['code', 'state']);
  });

  it('with handoff: redirect, answers the ACS with a session cookie that GET /user/authenticate/sso trades for the token once', async () => {
    const upstream = await start({ protocol: 'sessionRenew', sso: { handoff: 'redirect', redirectAfterPassword: true } });
    const { cookie, form } = await signInPage(upstream);
    form.fields.set('UserName', ADA.email);
    form.fields.set('Password', ADA.password);
    const afterPassword = await postForm(new URL(form.action, upstream.idp!.url).href, form.fields, cookie);
    expect(afterPassword.status).toBe(302);
    const signedIn = afterPassword.headers.getSetCookie()[0]!.split(';')[0]!;
    const next = new URL(afterPassword.headers.get('location')!, upstream.idp!.url).href;
    expect((await fetch(next, { headers: { cookie } })).status).toBe(400); // without the sign-in cookie
    const handBack = formOf(await (await fetch(next, { headers: { cookie: `${cookie}; ${signedIn}` } })).text());

    const acs = await postForm(handBack.action, handBack.fields);
    expect(acs.status).toBe(303);
    expect(acs.headers.get('location')).toBe('/user/authenticate/sso');
    const session = acs.headers.getSetCookie()[0]!.split(';')[0]!;
    const trade = () => fetch(`${upstream.url}/user/authenticate/sso`, { headers: { cookie: session } });
    const { token } = (await (await trade()).json()) as { token: string };
    expect(upstream.tokenOwner(token)).toBe(1);
    expect((await trade()).status).toBe(401);
  });

  it('refuses sso on other protocols and unknown settings with TypeErrors', async () => {
    await expect(start({ protocol: 'refreshToken', sso: true })).rejects.toThrow(
      new TypeError('sso applies to sessionRenew only, not refreshToken'),
    );
    await expect(start({ protocol: 'sessionRenew', sso: { response: 'oidc' as never } })).rejects.toThrow(
      new TypeError("sso.response must be 'saml' or 'code', got oidc"),
    );
  });

  it('closes the IdP with the upstream', async () => {
    const upstream = await start({ protocol: 'sessionRenew', sso: true });
    const idp = upstream.idp!.url;
    await upstream.close();
    await expect(fetch(`${idp}/adfs/ls/`)).rejects.toThrow();
  });
});
