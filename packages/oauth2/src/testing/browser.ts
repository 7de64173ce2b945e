/**
 * A small stand-in for a browser: follows redirects by hand, keeps cookies (by name, as a
 * browser does across the ports of one host), and fills in oidc-provider's development sign-in
 * and consent forms with a test account.
 */
export interface Visit {
  /** Every URL visited, in order. */
  trail: string[];
  /** The last answer (not a redirect). */
  status: number;
  body: string;
}

export class TestBrowser {
  readonly cookies = new Map<string, string>();

  constructor(readonly account = 'ada') {}

  /** Opens a URL and follows redirects and the provider's forms until a page that is neither. */
  async open(url: string, options: { maxSteps?: number; stopAt?: (url: URL) => boolean } = {}): Promise<Visit & { stoppedAt?: string }> {
    const trail: string[] = [];
    let next: { url: string; method: 'GET' | 'POST'; body?: string } = { url, method: 'GET' };
    for (let step = 0; step < (options.maxSteps ?? 20); step++) {
      trail.push(next.url);
      if (options.stopAt?.(new URL(next.url))) return { trail, status: 0, body: '', stoppedAt: next.url };
      const response = await fetch(next.url, {
        method: next.method,
        redirect: 'manual',
        headers: {
          ...(this.cookies.size > 0 && { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') }),
          ...(next.body !== undefined && { 'content-type': 'application/x-www-form-urlencoded' }),
        },
        ...(next.body !== undefined && { body: next.body }),
      });
      for (const header of response.headers.getSetCookie()) this.#keep(header);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        next = { url: new URL(location, next.url).href, method: 'GET' };
        await response.body?.cancel();
        continue;
      }
      const body = await response.text();
      const form = providerForm(body, next.url, this.account);
      if (form) {
        next = { url: form.action, method: 'POST', body: form.body };
        continue;
      }
      return { trail, status: response.status, body };
    }
    throw new Error(`no page after ${options.maxSteps ?? 20} steps: ${trail.join(' → ')}`);
  }

  #keep(header: string): void {
    const [pair, ...attributes] = header.split(';');
    const index = pair!.indexOf('=');
    const name = pair!.slice(0, index).trim();
    const value = pair!.slice(index + 1).trim();
    const gone = attributes.some((attribute) => /^\s*max-age\s*=\s*0\s*$/i.test(attribute)) || value === '';
    if (gone) this.cookies.delete(name);
    else this.cookies.set(name, value);
  }
}

/** oidc-provider's development login (any login and password) and consent forms. */
function providerForm(html: string, pageUrl: string, account: string): { action: string; body: string } | undefined {
  const action = /<form[^>]*action="([^"]+)"[^>]*method="post"/i.exec(html)?.[1];
  const prompt = /name="prompt" value="([a-z]+)"/.exec(html)?.[1];
  if (!action || !prompt) return undefined;
  const fields = new URLSearchParams({ prompt });
  if (prompt === 'login') {
    fields.set('login', account);
    fields.set('password', 'any-password');
  }
  return { action: new URL(action.replace(/&amp;/g, '&'), pageUrl).href, body: fields.toString() };
}
