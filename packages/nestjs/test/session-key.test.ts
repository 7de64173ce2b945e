import type { IncomingHttpHeaders } from 'node:http';
import { sessionKeySpecs } from '../../../test/support/adapter-specs.js';
import { nestApp, PLATFORMS } from './support.js';

// The function gets Nest's platform request: Express's Request or Fastify's FastifyRequest; both carry `headers`.
const header = (request: { headers: IncomingHttpHeaders }, name: string) => {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
};

for (const platform of PLATFORMS) sessionKeySpecs(`@UpstreamSession() on the ${platform} platform`, nestApp(platform), header);
