import { createHash } from 'node:crypto';
import type { TokenKeeperEventName, TokenKeeperEvents } from './events.js';
import type { TokenKeeperLogger } from './options.js';

interface Subscribable {
  on<Name extends TokenKeeperEventName>(name: Name, listener: (event: TokenKeeperEvents[Name]) => void): () => void;
}

/**
 * A short, stable hash of a session key: enough to follow one session through the logs, not
 * enough to use it (a key may be a cookie's session id).
 */
export function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 12);
}

/** Turns keeper events into log lines: `logger.debug(fields, message)`, pino's argument order. */
export function attachLogger(keeper: Subscribable, logger: TokenKeeperLogger): void {
  const write = (level: 'debug' | 'warn', message: string, fields: Record<string, unknown>) => {
    try {
      logger[level](fields, `tokenkeeper: ${message}`);
    } catch {
      // a broken logger must not break a renewal
    }
  };
  keeper.on('login', ({ key, protocol, durationMs, reason }) =>
    write('debug', reason === 'login' ? 'logged in' : 'logged in again', { keyHash: keyHash(key), protocol, durationMs }),
  );
  keeper.on('refresh', ({ key, protocol, durationMs, trigger, expiresAt }) =>
    write('debug', 'renewed', { keyHash: keyHash(key), protocol, durationMs, trigger, expiresAt: new Date(expiresAt).toISOString() }),
  );
  keeper.on('retry', ({ key, protocol, renewed }) =>
    write('debug', 'expiry signal: retrying once', { keyHash: keyHash(key), protocol, renewed }),
  );
  keeper.on('expired', ({ key, protocol, reason }) => write('debug', 'session ended', { keyHash: keyHash(key), protocol, reason }));
  keeper.on('logout', ({ key, protocol, durationMs }) => write('debug', 'logged out', { keyHash: keyHash(key), protocol, durationMs }));
  keeper.on('error', ({ key, protocol, operation, error }) =>
    write('warn', `${operation} failed: ${error.message}`, {
      keyHash: keyHash(key),
      protocol,
      operation,
      code: error.code,
      status: error.upstream?.status,
    }),
  );
}
