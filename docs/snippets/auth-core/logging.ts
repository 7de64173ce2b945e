import { refreshToken, TokenKeeper } from '@tokenkeeper/auth-core';

export const keeper = new TokenKeeper({
  protocol: refreshToken({ baseUrl: process.env.UPSTREAM_URL ?? 'https://api.teletracker.example' }),
  logger: console, // or pino({ level: 'debug' }): lines are logger.debug(fields, message), pino's order
});
