import type { IncomingMessage } from 'node:http';
import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { RedirectLogin, SessionCookieOptions, TokenKeeper, TokenKeeperOptions } from '@tokenkeeper/auth-core';

/** The request a `sessionKey` function gets: Nest's platform request (Express's `Request`, or Fastify's `FastifyRequest` on `@nestjs/platform-fastify`). */
export interface UpstreamRequest extends IncomingMessage {
  [property: string]: any;
}

/**
 * Options of `TokenKeeperModule.forRoot()` / `forRootAsync()`. Give the keeper (`keeper`) or
 * how to build one (`keeperOptions`), and how a request finds its session: `sessionKey` or
 * `cookie`.
 */
export interface TokenKeeperModuleOptions {
  /** A keeper you built and close yourself. Give this or `keeperOptions`. */
  keeper?: TokenKeeper<any>;
  /** Options of a keeper the module builds and closes on application shutdown. Give this or `keeper`. */
  keeperOptions?: TokenKeeperOptions<any>;
  /**
   * The session key of a request, for apps that already know their user:
   * `(request) => request.user?.id`. Called when a request first uses its session (in the guard
   * or the decorator), so guards that set `request.user` have run. A missing, empty or
   * non-string/non-integer value means "no session". Default: the built-in cookie (`cookie`).
   */
  sessionKey?: (request: UpstreamRequest) => unknown;
  /**
   * The built-in session cookie (a random 128-bit id signed with HMAC-SHA-256, replaced on every
   * login), used when no `sessionKey` is given. `secret` is required.
   */
  cookie?: SessionCookieOptions;
  /**
   * "Connect your account" routes the module serves (OAuth's, from `oauthConnect()` in
   * `@tokenkeeper/oauth2`): GET `start` (default `'/connect'`, takes `?returnTo=/path`)
   * redirects to the upstream's sign-in, and GET `callback` (default `'/callback'`) logs the
   * request's session in and redirects back. Errors (`INVALID_CALLBACK`, 400) go to your filters.
   */
  connect?: { login: RedirectLogin<any>; start?: string; callback?: string };
}

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: TOKEN_KEEPER_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<TokenKeeperModuleOptions>({ moduleName: 'TokenKeeper' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

/** Injection token of the module's `TokenKeeper` (the `TokenKeeper` class is provided as an alias). */
export const TOKEN_KEEPER = 'tokenkeeper:TokenKeeper';
