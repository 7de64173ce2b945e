import type { TokenKeeper } from '@tokenkeeper/auth-core';

export function observe(keeper: TokenKeeper, metrics: { observe(ms: number): void }, log: { warn(fields: object, message: string): void }) {
  keeper.on('refresh', ({ durationMs }) => metrics.observe(durationMs));
  keeper.on('error', ({ key, operation, error }) => log.warn({ key, operation, code: error.code }, error.message));
}
