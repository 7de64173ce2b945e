/**
 * A real authorization server for your tests: panva's certified `oidc-provider` (an optional
 * peer dependency: install it beside this package), in process on a loopback port, with a
 * client per authentication method, rotating refresh tokens, revocation, client credentials,
 * the legacy password grant and optionally DPoP; a resource server that accepts only its live
 * tokens; and a small browser stand-in that signs in on its pages.
 */
export { TestBrowser, type Visit } from './browser.js';
export { connect, REDIRECT_URI } from './connect.js';
export { type ProviderModels, type ProviderOptions, passwordOf, SECRET, startProvider, type TestProvider } from './provider.js';
