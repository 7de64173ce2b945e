import type { RefreshTokenCredentials } from '@tokenkeeper/auth-core';

declare module '@tokenkeeper/koa' {
  interface Register {
    credentials: RefreshTokenCredentials;
  }
}
