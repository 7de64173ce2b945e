import { Inject, type MiddlewareConsumer, Module, type NestModule, type OnApplicationShutdown } from '@nestjs/common';
import { TokenKeeper } from '@tokenkeeper/auth-core';
import { ConfigurableModuleClass, TOKEN_KEEPER, TOKEN_KEEPER_MODULE_OPTIONS, type TokenKeeperModuleOptions } from './options.js';
import { ConnectRoutesMiddleware, UpstreamSessionMiddleware, UpstreamSessions } from './sessions.js';

function keeperFrom(options: TokenKeeperModuleOptions): TokenKeeper<any> {
  if ((options.keeper === undefined) === (options.keeperOptions === undefined)) {
    throw new TypeError('TokenKeeperModule: give exactly one of keeper (a TokenKeeper) or keeperOptions');
  }
  if (options.keeper !== undefined && !(options.keeper instanceof TokenKeeper)) {
    throw new TypeError('TokenKeeperModule: keeper must be a TokenKeeper (use keeperOptions to have one built)');
  }
  return options.keeper ?? new TokenKeeper(options.keeperOptions!);
}

/**
 * Provides a `TokenKeeper` (under {@link TOKEN_KEEPER} and the `TokenKeeper` class), the
 * request sessions behind `@UpstreamSession()` and `UpstreamSessionGuard`, and a middleware that
 * hands them to each request. Global by default (`isGlobal: false` to change that). A keeper the
 * module built from `keeperOptions` is closed on application shutdown; one you passed is yours.
 *
 * @example
 * @Module({
 *   imports: [TokenKeeperModule.forRoot({
 *     keeperOptions: { protocol: refreshToken({ baseUrl: 'https://api.example' }) },
 *     cookie: { secret: process.env.COOKIE_SECRET! },
 *   })],
 *   providers: [{ provide: APP_FILTER, useClass: AuthErrorFilter }],
 * })
 * export class AppModule {}
 */
@Module({
  providers: [
    { provide: TOKEN_KEEPER, useFactory: keeperFrom, inject: [TOKEN_KEEPER_MODULE_OPTIONS] },
    { provide: TokenKeeper, useExisting: TOKEN_KEEPER },
    UpstreamSessions,
    UpstreamSessionMiddleware,
    ConnectRoutesMiddleware,
  ],
  exports: [TOKEN_KEEPER, TokenKeeper, UpstreamSessions],
})
export class TokenKeeperModule extends ConfigurableModuleClass implements NestModule, OnApplicationShutdown {
  readonly #keeper: TokenKeeper<any>;
  readonly #ownsKeeper: boolean;
  readonly #connects: boolean;

  constructor(@Inject(TOKEN_KEEPER) keeper: TokenKeeper<any>, @Inject(TOKEN_KEEPER_MODULE_OPTIONS) options: TokenKeeperModuleOptions) {
    super();
    this.#keeper = keeper;
    this.#ownsKeeper = options.keeper === undefined;
    if (options.connect !== undefined && typeof options.connect?.login?.start !== 'function') {
      throw new TypeError('TokenKeeperModule: connect.login must be a redirect login, such as oauthConnect(...) from @tokenkeeper/oauth2');
    }
    this.#connects = options.connect !== undefined;
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(UpstreamSessionMiddleware).forRoutes('*');
    if (this.#connects) consumer.apply(ConnectRoutesMiddleware).forRoutes('*');
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.#ownsKeeper) await this.#keeper.close();
  }
}
