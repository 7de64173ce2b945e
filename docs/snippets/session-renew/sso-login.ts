import { isAuthError, type SessionRenewCredentials, sessionRenew, ssoFormLogin, TokenKeeper } from '@tokenkeeper/auth-core';

/** A keeper whose users sign in at the company's identity provider (ADFS, Azure AD) before the upstream issues their token. */
export function ssoKeeper(baseUrl: string, idpOrigin: string): TokenKeeper<SessionRenewCredentials> {
  return new TokenKeeper({
    protocol: sessionRenew({
      baseUrl, // e.g. 'https://core.vendor.example'
      loginStep: ssoFormLogin({
        idpOrigins: [idpOrigin], // e.g. 'https://adfs.corp.example': the only origin the password is sent to
        // usernameField: 'UserName', passwordField: 'Password', // if the form has more than one text input
      }),
    }),
    // A lapsed session signs in at the identity provider again by itself.
    rememberCredentials: true,
  });
}

/** Signs a user in; an identity provider that wants a person (a one-time code) is told apart from a failure. */
export async function signIn(keeper: TokenKeeper<SessionRenewCredentials>, userId: string, credentials: SessionRenewCredentials) {
  try {
    return { signedIn: true, state: await keeper.session(userId).login(credentials) };
  } catch (error) {
    // e.g. 'the identity provider asks for more than a password (“Additional verification required”, fields: otc): …'
    if (isAuthError(error, 'SSO_INTERACTION_REQUIRED')) return { signedIn: false, askTheUser: error.message };
    throw error; // INVALID_CREDENTIALS for a wrong password, UPSTREAM_* when the IdP or upstream fails
  }
}
