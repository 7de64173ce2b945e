import type { RefreshTokenCredentials } from '@tokenkeeper/auth-core';

declare module '@tokenkeeper/express' {
  interface Register {
    credentials: RefreshTokenCredentials;
  }
}
