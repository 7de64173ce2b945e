export { type OAuthConnectOptions, oauthConnect } from './connect.js';
export { type GrantKind, oauthError } from './errors.js';
export type { ClientAuthMethod, OAuth2Credentials, OAuth2Endpoints, OAuth2Options, OAuth2Server } from './options.js';
export { type AuthorizationRequest, isBearerExpiry, type OAuth2Protocol, oauth2 } from './protocol.js';
