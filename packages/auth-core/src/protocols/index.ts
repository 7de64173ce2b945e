export { credentialObject, credentialString, expectSuccess, parseJsonAnswer, type StatusMeaning, textOrJsonAnswer } from './answers.js';
export { type BasicAuthCredentials, type BasicAuthOptions, basicAuth } from './basic-auth.js';
export { defineProtocol, type ProtocolDefinition } from './define.js';
export { type FormInput, type HtmlForm, type HtmlPage, readHtmlPage } from './html-forms.js';
export type { LoginStepContext, SessionRenewLoginStep } from './login-step.js';
export type { AuthorizedRequest, Protocol, UpstreamAnswer } from './protocol.js';
export { type RefreshTokenCredentials, type RefreshTokenFields, type RefreshTokenOptions, refreshToken } from './refresh-token.js';
export { type SessionRenewCredentials, type SessionRenewOptions, sessionRenew } from './session-renew.js';
export { type SsoFormLoginOptions, ssoFormLogin } from './sso-form-login.js';
