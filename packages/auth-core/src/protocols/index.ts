export type { Protocol, UpstreamAnswer } from './protocol.js';
export { defineProtocol, type ProtocolDefinition } from './define.js';
export { expectSuccess, parseJsonAnswer, textOrJsonAnswer, type StatusMeaning } from './answers.js';
export { sessionRenew, type SessionRenewCredentials, type SessionRenewOptions } from './session-renew.js';
export { refreshToken, type RefreshTokenCredentials, type RefreshTokenFields, type RefreshTokenOptions } from './refresh-token.js';
export { basicAuth, type BasicAuthCredentials, type BasicAuthOptions } from './basic-auth.js';
