import { createHmac, randomBytes } from 'node:crypto';
import type { TokenKeeperEventName, TokenKeeperEvents } from './events.js';
import type { TokenKeeperLogger } from './options.js';

interface Subscribable {
  on<Name extends TokenKeeperEventName>(name: Name, listener: (event: TokenKeeperEvents[Name]) => void): () => void;
}

/** This process's key for {@link keyHash}: a user id cannot be recovered from logs by hashing guesses. */
const PROCESS_SECRET = randomBytes(32);

/**
 * A short, stable, keyed hash of a session key (HMAC-SHA256, 72 bits): enough to follow one
 * session through the logs, not enough to use it or to find it by hashing guessed user ids.
 * Stable within a process; pass the keeper's `keyHashSecret` to make it stable across instances.
 */
export function keyHash(key: string, secret: string | Buffer = PROCESS_SECRET): string {
  return createHmac('sha256', secret).update(key).digest('base64url').slice(0, 12);
}

/** Turns keeper events into log lines: `logger.debug(fields, message)`, pino's argument order. */
export function attachLogger(keeper: Subscribable, logger: TokenKeeperLogger, secret?: string): void {
  const hashOf = (key: string) => keyHash(key, secret);
  const write = (level: 'debug' | 'warn', message: string, fields: Record<string, unknown>) => {
    try {
      logger[level](fields, `tokenkeeper: ${message}`);
    } catch {
      // a broken logger must not break a renewal
    }
  };
  keeper.on('login', ({ key, protocol, durationMs, reason }) =>
    write('debug', reason === 'login' ? 'logged in' : 'logged in again', { keyHash: hashOf(key), protocol, durationMs }),
  );
  keeper.on('refresh', ({ key, protocol, durationMs, trigger, expiresAt }) =>
    write('debug', 'renewed', { keyHash: hashOf(key), protocol, durationMs, trigger, expiresAt: new Date(expiresAt).toISOString() }),
  );
  keeper.on('retry', ({ key, protocol, renewed }) =>
    write('debug', 'expiry signal: retrying once', { keyHash: hashOf(key), protocol, renewed }),
  );
  keeper.on('expired', ({ key, protocol, reason, code }) =>
    write('debug', 'session ended', { keyHash: hashOf(key), protocol, reason, code }),
  );
  keeper.on('switch', ({ key, protocol, durationMs, accountId }) =>
    write('debug', 'switched account', { keyHash: hashOf(key), protocol, durationMs, accountId }),
  );
  keeper.on('logout', ({ key, protocol, durationMs }) => write('debug', 'logged out', { keyHash: hashOf(key), protocol, durationMs }));
  keeper.on('error', ({ key, protocol, operation, error }) =>
    write('warn', `${operation} failed: ${error.message}`, {
      keyHash: hashOf(key),
      protocol,
      operation,
      code: error.code,
      status: error.upstream?.status,
    }),
  );
}
