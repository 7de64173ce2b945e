import { AuthError } from '../errors.js';
import { describeAnswer, mediaType, type UpstreamResponse } from '../http.js';
import { type HtmlForm, readHtmlPage } from './html-forms.js';
import type { LoginStepContext, SessionRenewLoginStep } from './login-step.js';

/** Options of {@link ssoFormLogin}; only `idpOrigins` is required. */
export interface SsoFormLoginOptions {
  /**
   * Origins of the identity provider, e.g. `['https://adfs.corp.example']`. The password is
   * posted to these only, and a redirect to any other origin (but the upstream's) is refused.
   * Required.
   */
  idpOrigins: readonly string[];
  /** The sign-in form's user name field. Default: its first text or email input. */
  usernameField?: string;
  /** The sign-in form's password field. Default: its password input. */
  passwordField?: string;
  /** Redirects and pages followed before giving up (`UPSTREAM_REJECTED`). Default 10. */
  maxSteps?: number;
}

/** Fields that carry an identity provider's answer back to the upstream. */
const ANSWER_FIELDS = new Set(['samlresponse', 'code', 'id_token', 'wresult']);
const VISIBLE = new Set(['text', 'email', 'tel', 'number', 'search', 'url', 'checkbox', 'radio', 'password']);

/**
 * A login step for the common form-post shape of SSO in front of a session-renew upstream (ADFS,
 * Azure AD and most SAML identity providers): the login call is answered with a redirect to the
 * identity provider; the step follows it, submits the credentials to the IdP's HTML sign-in form
 * (keeping its hidden fields and cookies), and posts the auto-submitted answer it gets back (a
 * SAML `SAMLResponse`, or an authorization `code`) to the upstream, whose reply carries the token.
 *
 * A user who needs no SSO gets the token from the first call, as without the step. The sign-in
 * form shown again after the credentials is `INVALID_CREDENTIALS`; any other page (a one-time
 * code, "Stay signed in?", consent) is `SSO_INTERACTION_REQUIRED`, naming what it asked for.
 *
 * @example
 * sessionRenew({ baseUrl: 'https://core.example', loginStep: ssoFormLogin({ idpOrigins: ['https://adfs.corp.example'] }) })
 */
export function ssoFormLogin(options: SsoFormLoginOptions): SessionRenewLoginStep {
  if (typeof options !== 'object' || options === null) throw new TypeError('ssoFormLogin: options must be an object');
  if (!Array.isArray(options.idpOrigins) || options.idpOrigins.length === 0) {
    throw new TypeError('ssoFormLogin: idpOrigins must list the identity provider origins, e.g. https://adfs.corp.example');
  }
  const idpOrigins = new Set(
    options.idpOrigins.map((origin) => {
      const url = URL.canParse(origin) ? new URL(origin) : undefined;
      if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== String(origin).replace(/\/$/, '')) {
        throw new TypeError(`ssoFormLogin: idpOrigins must hold http(s) origins like 'https://adfs.corp.example', got ${String(origin)}`);
      }
      return url.origin;
    }),
  );
  const maxSteps = options.maxSteps ?? 10;
  if (!Number.isSafeInteger(maxSteps) || maxSteps < 1) throw new TypeError('ssoFormLogin: maxSteps must be a positive integer');

  return async (context) => {
    const flow = new SignInFlow(context, idpOrigins);
    let response = await context.passwordLogin();
    let url = context.loginUrl;
    let submitted = false;
    for (let step = 0; step < maxSteps; step++) {
      flow.keepCookies(url, response);
      const status = response.status;
      if (status >= 300 && status < 400) {
        const location = response.headers.get('location');
        if (!location || !URL.canParse(location, url)) return response; // the preset reports the redirect
        url = flow.allowed(new URL(location, url).href, 'a redirect', response);
        response = await flow.send(url, 'GET');
        continue;
      }
      if (status !== 200 || !isHtml(response)) return response; // the token, or an answer the preset maps
      const page = readHtmlPage(response.body);
      const signIn = page.forms.find((form) => form.inputs.some((input) => input.type === 'password'));
      if (signIn) {
        // The form again after the credentials: the IdP refused them (it says so on the page).
        if (submitted)
          throw new AuthError('INVALID_CREDENTIALS', 'the upstream refused the credentials', {
            upstream: describeAnswer('login', response),
          });
        const action = actionOf(signIn, url);
        if (!idpOrigins.has(new URL(action).origin)) {
          throw new AuthError('UPSTREAM_REJECTED', `the sign-in form posts to ${new URL(action).origin}, which is not in idpOrigins`, {
            upstream: describeAnswer('login', response),
          });
        }
        url = action;
        response = await flow.send(action, 'POST', fill(signIn, context, options));
        submitted = true;
        continue;
      }
      const handBack = page.forms.find((form) => isAutoSubmitted(form));
      if (handBack) {
        const action = actionOf(handBack, url);
        const carriesAnswer = handBack.inputs.some((input) => ANSWER_FIELDS.has(input.name.toLowerCase()));
        // The IdP's answer is a credential: it goes to the upstream, never anywhere else.
        if (carriesAnswer && new URL(action).origin !== context.origin) {
          throw new AuthError(
            'UPSTREAM_REJECTED',
            `the identity provider's answer posts to ${new URL(action).origin}, not to the upstream`,
            {
              upstream: describeAnswer('login', response),
            },
          );
        }
        url = flow.allowed(action, 'a form', response);
        response = await flow.send(action, handBack.method === 'post' ? 'POST' : 'GET', fieldsOf(handBack));
        continue;
      }
      // The upstream's own page is not the IdP asking for something: the preset reports it (an HTML page, not a token).
      if (new URL(url).origin === context.origin) return response;
      throw interactionRequired(page.title, page.forms, response);
    }
    throw new AuthError('UPSTREAM_REJECTED', `the SSO login took more than ${maxSteps} steps`, {
      upstream: describeAnswer('login', response),
    });
  };
}

/** The calls of one sign-in: allowed origins only, and the cookies each origin set. */
class SignInFlow {
  readonly #context: LoginStepContext;
  readonly #idpOrigins: ReadonlySet<string>;
  readonly #cookies = new Map<string, Map<string, string>>();

  constructor(context: LoginStepContext, idpOrigins: ReadonlySet<string>) {
    this.#context = context;
    this.#idpOrigins = idpOrigins;
  }

  allowed(url: string, what: string, response: UpstreamResponse): string {
    const { origin } = new URL(url);
    if (origin === this.#context.origin || this.#idpOrigins.has(origin)) return url;
    throw new AuthError('UPSTREAM_REJECTED', `the SSO login led by ${what} to ${origin}, which is not in idpOrigins`, {
      upstream: describeAnswer('login', response),
    });
  }

  keepCookies(url: string, response: UpstreamResponse): void {
    const jar = this.#cookies.get(new URL(url).origin) ?? new Map<string, string>();
    for (const header of response.headers.getSetCookie()) {
      const pair = header.split(';')[0]!;
      const equals = pair.indexOf('=');
      if (equals > 0) jar.set(pair.slice(0, equals).trim(), pair.slice(equals + 1).trim());
    }
    this.#cookies.set(new URL(url).origin, jar);
  }

  send(url: string, method: 'GET' | 'POST', fields?: URLSearchParams): Promise<UpstreamResponse> {
    const jar = this.#cookies.get(new URL(url).origin);
    const headers: Record<string, string> = { accept: 'application/json, text/plain, text/html' };
    if (jar?.size) headers.cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    if (method === 'GET') {
      const target = new URL(url);
      for (const [name, value] of fields ?? []) target.searchParams.append(name, value);
      return this.#context.client.send('login', target.href, { method, headers });
    }
    headers['content-type'] = 'application/x-www-form-urlencoded';
    return this.#context.client.send('login', url, { method, headers, body: (fields ?? new URLSearchParams()).toString() });
  }
}

function isHtml(response: UpstreamResponse): boolean {
  return mediaType(response.headers) === 'text/html' || /^\s*</.test(response.body);
}

function actionOf(form: HtmlForm, pageUrl: string): string {
  return URL.canParse(form.action, pageUrl) ? new URL(form.action || pageUrl, pageUrl).href : pageUrl;
}

function fieldsOf(form: HtmlForm): URLSearchParams {
  return new URLSearchParams(form.inputs.map((input): [string, string] => [input.name, input.value]));
}

/** A form a browser submits by script, with nothing for a person to fill in. */
function isAutoSubmitted(form: HtmlForm): boolean {
  return form.inputs.length > 0 && form.choices.length === 0 && form.inputs.every((input) => input.type === 'hidden');
}

function fill(form: HtmlForm, context: LoginStepContext, options: SsoFormLoginOptions): URLSearchParams {
  const username =
    options.usernameField ?? form.inputs.find((input) => input.type === 'email' || input.type === 'text')?.name ?? 'username';
  const password = options.passwordField ?? form.inputs.find((input) => input.type === 'password')!.name;
  const fields = fieldsOf(form);
  fields.set(username, context.credentials.email);
  fields.set(password, context.credentials.password);
  return fields;
}

/** Names what a page asks a person for: its title and the fields to fill in, never their values. */
function interactionRequired(title: string, forms: HtmlForm[], response: UpstreamResponse): AuthError {
  const asked = forms
    .flatMap((form) => [...form.inputs.filter((input) => VISIBLE.has(input.type)).map((input) => input.name), ...form.choices])
    .filter((name) => /^[A-Za-z0-9_.:-]{1,40}$/.test(name));
  const label = title.replace(/[^\p{L}\p{N} .,:;?!'()-]/gu, '').slice(0, 80);
  const what = [label && `“${label}”`, asked.length > 0 && `fields: ${[...new Set(asked)].join(', ')}`].filter(Boolean).join(', ');
  return new AuthError(
    'SSO_INTERACTION_REQUIRED',
    `the identity provider asks for more than a password (${what || 'a page without a form'}): a person must sign in`,
    { upstream: describeAnswer('login', response) },
  );
}
