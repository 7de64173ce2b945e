import { AuthError, readHtmlPage, type SessionRenewLoginStep, type UpstreamResponse } from '@tokenkeeper/auth-core';

/**
 * A login step for an identity provider that asks "Stay signed in?" after the password (as
 * Azure AD does): it answers "No" for the user, which `ssoFormLogin` never decides by itself.
 * A step gets the credentials and the preset's client, and hands back the upstream's answer
 * that carries the token; the preset reads that answer and does everything else.
 */
export function staySignedInStep(idpOrigin: string): SessionRenewLoginStep {
  return async ({ credentials, client, origin, passwordLogin }) => {
    const first = await passwordLogin();
    const location = first.headers.get('location');
    if (first.status !== 302 || !location) return first; // no SSO for this user: the answer holds the token

    let cookie = '';
    const call = async (url: URL, form?: URLSearchParams): Promise<UpstreamResponse> => {
      // The password may go to the identity provider only, and its answer to the upstream only.
      if (url.origin !== idpOrigin && url.origin !== origin) throw new AuthError('UPSTREAM_REJECTED', `the sign-in led to ${url.origin}`);
      const headers: Record<string, string> = { accept: 'application/json, text/html' };
      if (url.origin === idpOrigin && cookie) headers.cookie = cookie;
      if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
      const answer = await client.send('login', url.href, form ? { method: 'POST', headers, body: form.toString() } : { headers });
      const set = answer.headers.getSetCookie()[0];
      if (url.origin === idpOrigin && set) cookie = set.split(';')[0]!;
      return answer;
    };
    /** Submits the page's first form with its own fields, plus `extra`. */
    const submit = (page: UpstreamResponse, pageUrl: URL, extra: Record<string, string>) => {
      const form = readHtmlPage(page.body).forms[0];
      if (!form) throw new AuthError('UPSTREAM_MALFORMED', 'the identity provider answered a page without a form');
      const fields = new URLSearchParams(form.inputs.map((input): [string, string] => [input.name, input.value]));
      for (const [name, value] of Object.entries(extra)) fields.set(name, value);
      const action = new URL(form.action || pageUrl.href, pageUrl);
      return { action, answer: call(action, fields) };
    };

    const signInUrl = new URL(location, origin);
    const signInPage = await call(signInUrl);
    const afterPassword = submit(signInPage, signInUrl, { UserName: credentials.email, Password: credentials.password });
    let page = await afterPassword.answer;
    let pageUrl = afterPassword.action;
    if (readHtmlPage(page.body).title === 'Stay signed in?') {
      const answered = submit(page, pageUrl, { StaySignedIn: 'No' });
      page = await answered.answer;
      pageUrl = answered.action;
    }
    if (readHtmlPage(page.body).forms[0]?.inputs.some((input) => input.type === 'password')) {
      throw new AuthError('INVALID_CREDENTIALS', 'the upstream refused the credentials');
    }
    return submit(page, pageUrl, {}).answer; // the auto-submitted SAMLResponse, posted to the upstream
  };
}
