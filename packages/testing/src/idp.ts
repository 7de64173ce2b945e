import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { listen, type Reply, readBody, sendReply, textReply } from './http.js';
import type { FakeStats } from './stats.js';
import type { FakeUser } from './users.js';

/** The fake identity provider of a session-renew upstream in SSO mode (`startFakeUpstream({ sso })`). */
export interface FakeSsoOptions {
  /** Emails of users whose sign-in asks for a one-time code after the password: an MFA page no program can pass. Default none. */
  mfaUsers?: readonly string[];
  /** Ask "Stay signed in?" after the password, as Azure AD does: a page the shipped form step reports as needing a person. Default `false`. */
  staySignedIn?: boolean;
  /** What the IdP posts back to the upstream's `/saml/acs`: a SAML-style `SAMLResponse` with `RelayState` ('saml'), or a `code` with `state` ('code'). Default 'saml'. */
  response?: 'saml' | 'code';
  /**
   * After the right password, redirect (302, with a `MSISAuth` cookie) to a page that continues
   * the sign-in, as ADFS does, instead of answering it at once. Default `false`.
   */
  redirectAfterPassword?: boolean;
  /**
   * How `POST /saml/acs` hands the session token to the client: in the body, like a password
   * login ('body'), or as a redirect to `GET /user/authenticate/sso` with a session cookie that
   * that call trades for the token ('redirect'). Default 'body'.
   */
  handoff?: 'body' | 'redirect';
}

/** A sign-in the upstream started: where the IdP answer must come back, and what the user asked for. */
export interface PendingSignIn {
  selectedOrg: number | undefined;
}

/** What the upstream's ACS endpoint checks: an assertion (or code) the IdP issued, once. */
export interface IssuedAssertions {
  /** The email the assertion vouches for, and forgets it (assertions are single-use); undefined for an unknown or used one. */
  consume(assertion: string): string | undefined;
}

export interface FakeIdp extends IssuedAssertions {
  readonly url: string;
  close(): Promise<void>;
}

interface Flow {
  relayState: string;
  authState: string;
  cookie: string;
  /** The email the password was right for, once it was. */
  email?: string;
  /** With `redirectAfterPassword`: the cookie that says the password was right. */
  signedIn?: string;
}

const PAGE = 'text/html; charset=utf-8';

/** Starts the IdP on 127.0.0.1 and a free port; `acsUrl` is where its answers post back to. */
export async function startFakeIdp(
  options: FakeSsoOptions,
  users: () => FakeUser[],
  stats: FakeStats,
  acsUrl: string,
  dateNow: () => number,
): Promise<FakeIdp> {
  const flows = new Map<string, Flow>();
  const assertions = new Map<string, string>();
  const random = () => randomBytes(12).toString('base64url');

  function loginPage(flowId: string, flow: Flow, error?: string): Reply {
    flow.authState = random();
    const body = `<!DOCTYPE html>
<html><head><title>Sign In</title></head>
<body>
<h1>Sign in with your organizational account</h1>
${error ? `<p id="errorText" class="error">${error}</p>` : ''}
<form method="post" id="loginForm" autocomplete="off" action="/adfs/ls/?client-request-id=${flowId}">
  <input id="userNameInput" name="UserName" type="email" value="" placeholder="someone@example.com">
  <input id="passwordInput" name="Password" type="password" placeholder="Password">
  <input name="AuthMethod" type="hidden" value="FormsAuthentication">
  <input name='AuthState' type='hidden' value='${flow.authState}'>
  <input id="submitButton" type="submit" value="Sign in">
</form>
</body></html>
`;
    return { status: 200, headers: { 'content-type': PAGE, 'set-cookie': `MSISContext=${flow.cookie}; Path=/adfs; HttpOnly` }, body };
  }

  function mfaPage(): Reply {
    return textReply(
      200,
      `<!DOCTYPE html>
<html><head><title>Additional verification required</title></head>
<body>
<p>Enter the code from your authenticator app.</p>
<form method="post" action="/adfs/ls/mfa">
  <label for="otc">Code</label><input id="otc" name="otc" type="text" inputmode="numeric" autocomplete="one-time-code">
  <input type="hidden" name="AuthMethod" value="AzureMfaAuthentication">
  <input type="submit" value="Verify">
</form>
</body></html>
`,
      PAGE,
    );
  }

  function staySignedInPage(flowId: string, flow: Flow): Reply {
    flow.authState = random();
    return textReply(
      200,
      `<!DOCTYPE html>
<html><head><title>Stay signed in?</title></head>
<body>
<form method="post" action="/adfs/ls/kmsi?client-request-id=${flowId}">
  <input type="checkbox" name="DontShowAgain" value="true"> Don&#39;t show this again
  <input type="hidden" name="AuthState" value="${flow.authState}">
  <input type="submit" name="StaySignedIn" value="No">
  <input type="submit" name="StaySignedIn" value="Yes">
</form>
</body></html>
`,
      PAGE,
    );
  }

  /** The auto-submitting form of the SAML HTTP-POST binding (or its authorization-code cousin). */
  function handBack(flowId: string, flow: Flow): Reply {
    flows.delete(flowId);
    const id = `_${random()}`;
    const email = flow.email!;
    const fields =
      options.response === 'code'
        ? { code: id, state: flow.relayState }
        : {
            SAMLResponse: Buffer.from(
              `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="${id}"><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:Subject><saml:NameID>${email}</saml:NameID></saml:Subject></saml:Assertion></samlp:Response>`,
            ).toString('base64'),
            RelayState: flow.relayState,
          };
    assertions.set(id, email);
    const inputs = Object.entries(fields)
      .map(([name, value]) => `<input type="hidden" name="${name}" value="${value}" />`)
      .join('\n');
    return textReply(
      200,
      `<html><head><title>Working...</title></head>
<body><form method="POST" name="hiddenform" action="${acsUrl}">
${inputs}
<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit" /></noscript>
</form><script language="javascript">window.setTimeout('document.forms[0].submit()', 0);</script></body></html>
`,
      PAGE,
    );
  }

  function afterPassword(flowId: string, flow: Flow): Reply {
    return options.staySignedIn ? staySignedInPage(flowId, flow) : handBack(flowId, flow);
  }

  function cookieOf(req: IncomingMessage): string | undefined {
    return /(?:^|;\s*)MSISContext=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  }

  function flowOf(req: IncomingMessage, url: URL, fields: URLSearchParams): [string, Flow] | undefined {
    const flowId = url.searchParams.get('client-request-id') ?? '';
    const flow = flows.get(flowId);
    // The cookie and the form's AuthState both tie the post to the page this client was shown.
    if (!flow || cookieOf(req) !== flow.cookie || fields.get('AuthState') !== flow.authState) return undefined;
    return [flowId, flow];
  }

  function handle(req: IncomingMessage, url: URL, body: string): Reply {
    const fields = new URLSearchParams(body);
    if (req.method === 'GET' && url.pathname === '/adfs/ls/') {
      const relayState = url.searchParams.get('RelayState');
      if (!url.searchParams.get('SAMLRequest') || !relayState) return textReply(400, '<p>MSIS7065: no sign-in request.</p>', PAGE);
      const flowId = random();
      const flow: Flow = { relayState, authState: '', cookie: random() };
      flows.set(flowId, flow);
      return loginPage(flowId, flow);
    }
    if (req.method === 'POST' && url.pathname === '/adfs/ls/') {
      const found = flowOf(req, url, fields);
      if (!found) return textReply(400, '<p>MSIS7042: the sign-in session has expired. Start again.</p>', PAGE);
      const [flowId, flow] = found;
      const email = fields.get('UserName');
      const user = users().find((candidate) => candidate.email === email && candidate.password === fields.get('Password'));
      if (!user || !email) {
        stats.ssoFailures++;
        return loginPage(flowId, flow, 'Incorrect user ID or password. Type the correct user ID and password, and try again.');
      }
      flow.email = email;
      if (options.mfaUsers?.includes(email)) {
        stats.ssoFailures++;
        flows.delete(flowId);
        return mfaPage();
      }
      if (options.redirectAfterPassword) {
        flow.signedIn = random();
        return {
          status: 302,
          headers: {
            location: `/adfs/ls/continue?client-request-id=${flowId}`,
            'set-cookie': `MSISAuth=${flow.signedIn}; Path=/adfs; HttpOnly`,
          },
          body: '',
        };
      }
      return afterPassword(flowId, flow);
    }
    if (req.method === 'GET' && url.pathname === '/adfs/ls/continue') {
      const flowId = url.searchParams.get('client-request-id') ?? '';
      const flow = flows.get(flowId);
      const signedIn = /(?:^|;\s*)MSISAuth=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
      if (!flow?.signedIn || signedIn !== flow.signedIn || cookieOf(req) !== flow.cookie) {
        return textReply(400, '<p>MSIS7042: the sign-in session has expired. Start again.</p>', PAGE);
      }
      return afterPassword(flowId, flow);
    }
    if (req.method === 'POST' && url.pathname === '/adfs/ls/kmsi') {
      const found = flowOf(req, url, fields);
      if (!found?.[1].email) return textReply(400, '<p>MSIS7042: the sign-in session has expired. Start again.</p>', PAGE);
      // A person's choice: the page has two buttons, and the answer names the one pressed.
      const choice = fields.get('StaySignedIn');
      if (choice !== 'Yes' && choice !== 'No') return staySignedInPage(...found);
      return handBack(...found);
    }
    return textReply(404, '<p>Not Found</p>', PAGE);
  }

  const server = createServer((req, res) => {
    readBody(req).then(
      (body) => {
        if (body === undefined) return;
        if (body === 'tooLarge') return sendReply(res, textReply(413, 'Payload Too Large'), dateNow());
        sendReply(res, handle(req, new URL(req.url ?? '/', 'http://127.0.0.1'), body.toString('utf8')), dateNow());
      },
      () => res.destroy(),
    );
  });
  const port = await listen(server);
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    consume(assertion) {
      const email = assertions.get(assertion);
      assertions.delete(assertion);
      return email;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}

/** The assertion id inside a SAMLResponse the fake IdP wrote, or undefined. */
export function assertionIdOf(samlResponse: string): string | undefined {
  const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
  return /<samlp:Response [^>]*\bID="([^"]+)"/.exec(xml)?.[1];
}
