/**
 * Redis key names. Both keys of one session carry the session key as their hash tag
 * (`tk:{user-42}:session`, `tk:{user-42}:lock`), so Redis Cluster keeps them in one slot.
 */

/** Checks a key prefix once, at construction. */
export function checkPrefix(owner: string, prefix: unknown): string {
  if (typeof prefix !== 'string' || prefix.length === 0 || /[{}\s]/.test(prefix)) {
    throw new TypeError(`${owner}: prefix must be a non-empty string without braces or spaces`);
  }
  return prefix;
}

/**
 * The hash tag of a session key. `%`, `{` and `}` are percent-encoded: a brace would cut the
 * hash tag short (Redis hashes only up to the first `}`), and encoding `%` as well keeps the
 * mapping one-to-one, so two session keys never share a Redis key.
 */
export function hashTagOf(sessionKey: string): string {
  return /[%{}]/.test(sessionKey) ? sessionKey.replace(/[%{}]/g, encodeBrace) : sessionKey;
}

export function sessionRedisKey(prefix: string, sessionKey: string): string {
  return `${prefix}:{${hashTagOf(sessionKey)}}:session`;
}

export function lockRedisKey(prefix: string, sessionKey: string): string {
  return `${prefix}:{${hashTagOf(sessionKey)}}:lock`;
}

function encodeBrace(character: string): string {
  return character === '%' ? '%25' : character === '{' ? '%7B' : '%7D';
}
