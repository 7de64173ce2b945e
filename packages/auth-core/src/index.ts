export { type CookieHeaderSource, cookieHeaderOf } from './adapter/cookie-header.js';
export {
  type RedirectLogin,
  type RedirectLoginAnswer,
  type RedirectLoginRequest,
  type RedirectLoginStep,
  redirectLoginStep,
  runRedirectLogin,
} from './adapter/redirect-login.js';
export { authErrorResponse, RequestSession, sessionKeyOf } from './adapter/request-session.js';
export { SessionCookie, type SessionCookieOptions } from './adapter/session-cookie.js';
export { SessionSource, type SessionSourceOptions } from './adapter/session-source.js';
export { type Clock, type ClockTimer, systemClock } from './clock.js';
export { DIAGNOSTICS_CHANNELS } from './diagnostics.js';
export {
  AUTH_ERROR_MESSAGES,
  AUTH_ERROR_STATUS,
  AuthError,
  type AuthErrorCode,
  type AuthErrorOptions,
  isAuthError,
  type UpstreamDetails,
} from './errors.js';
export type { EventBase, RenewalTrigger, TokenKeeperEventName, TokenKeeperEvents } from './events.js';
export {
  createUpstreamClient,
  describeAnswer,
  retryAfterMs,
  type UpstreamClient,
  type UpstreamClientOptions,
  type UpstreamResponse,
} from './http.js';
export { type CallOptions, type KeeperStats, type LoginOptions, type SessionState, TokenKeeper } from './keeper.js';
export { keyHash } from './logging.js';
export { type CredentialsProvider, DEFAULTS, type TokenKeeperLogger, type TokenKeeperOptions } from './options.js';
export * from './protocols/index.js';
export { Session } from './session.js';
export { MAX_SESSION_KEY_LENGTH, type SessionKey } from './session-key.js';
export { MemoryStore, type MemoryStoreOptions } from './store/memory.js';
export type { Lock, RecordVersion, SessionRecord, SessionStore, StoreReadOptions } from './store/store.js';
export type { TokenSet } from './tokens.js';
export { checkToken, type ExpiryFacts, expiryFrom } from './tokens.js';
