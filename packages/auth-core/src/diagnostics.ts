import { channel } from 'node:diagnostics_channel';

/**
 * Diagnostics channels (`node:diagnostics_channel`), for tracers, loggers and test harnesses:
 * `tokenkeeper:event` receives `{ name, event }` for every keeper event, `tokenkeeper:error`
 * every AuthError as it is created. Publishing costs nothing while nobody subscribes, and
 * neither ever carries a secret.
 *
 * @example
 * import { subscribe } from 'node:diagnostics_channel';
 * subscribe('tokenkeeper:event', ({ name, event }) => console.debug(name, event.key));
 */
export const DIAGNOSTICS_CHANNELS = {
  event: 'tokenkeeper:event',
  error: 'tokenkeeper:error',
} as const;

export const eventChannel = channel(DIAGNOSTICS_CHANNELS.event);
export const errorChannel = channel(DIAGNOSTICS_CHANNELS.error);
