import type { TokenKeeper } from '@tokenkeeper/auth-core';
import { tokenKeeper } from '@tokenkeeper/koa';
import type Koa from 'koa';

export function useUpstreamSessions(app: Koa, keeper: TokenKeeper, authenticate: Koa.Middleware) {
  app.use(authenticate); // your own auth first, e.g. koa-passport's passport.session(): it sets ctx.state.user
  app.use(tokenKeeper({ keeper, sessionKey: (ctx) => ctx.state.user?.id }));
}
