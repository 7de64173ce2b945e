import type { TokenKeeper } from '@tokenkeeper/auth-core';
import { tokenKeeper } from '@tokenkeeper/express';
import type { Application, RequestHandler } from 'express';

declare global {
  namespace Express {
    interface Request {
      user?: { id: string }; // what your auth sets (@types/passport declares it for you)
    }
  }
}

export function useUpstreamSessions(app: Application, keeper: TokenKeeper, authenticate: RequestHandler) {
  app.use(authenticate); // your own auth first, e.g. passport.session(): it sets req.user
  app.use(tokenKeeper({ keeper, sessionKey: (req) => req.user?.id }));
}
