/**
 * What identifies a session: a non-empty string of at most 1,024 characters, or a safe integer,
 * which stands for its decimal string (`7` and `'7'` are one session). The keeper and every
 * adapter apply this one rule.
 */
export type SessionKey = string | number;

export const MAX_SESSION_KEY_LENGTH = 1024;

/** The session key `value` stands for, or `undefined` when it is not one (see {@link SessionKey}). */
export function sessionKeyOf(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? String(value) : undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_SESSION_KEY_LENGTH) return undefined;
  return value;
}

/** The key `value` stands for; anything else is a programming error (a `TypeError`). */
export function checkSessionKey(value: unknown): string {
  const key = sessionKeyOf(value);
  if (key === undefined) {
    throw new TypeError(
      `TokenKeeper: the session key must be a non-empty string of at most ${MAX_SESSION_KEY_LENGTH} characters, or a safe integer`,
    );
  }
  return key;
}
