import type { FastifyRequest } from 'fastify';
import { sessionKeySpecs } from '../../../test/support/adapter-specs.js';
import { startApp } from './support.js';

sessionKeySpecs('request.upstream', startApp, (request: FastifyRequest, name) => {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
});
