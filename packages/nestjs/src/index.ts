export { UpstreamSession, UpstreamSessionGuard, upstreamSessionOf } from './decorators.js';
export { AuthErrorFilter } from './filter.js';
export { TokenKeeperModule } from './module.js';
export {
  ASYNC_OPTIONS_TYPE,
  OPTIONS_TYPE,
  TOKEN_KEEPER,
  TOKEN_KEEPER_MODULE_OPTIONS,
  type TokenKeeperModuleOptions,
  type UpstreamRequest,
} from './options.js';
export { UpstreamSessions } from './sessions.js';
