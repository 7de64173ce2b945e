// The packed packages loaded with `require()`, as a CommonJS app loads them (Node ≥ 20.19 requires ES modules).
'use strict';
require('reflect-metadata');
const { runAll } = require('./requests.cjs');

runAll('cjs', {
  core: require('@tokenkeeper/auth-core'),
  testing: require('@tokenkeeper/testing'),
  express: { framework: require('express'), adapter: require('@tokenkeeper/express') },
  koa: { framework: require('koa'), adapter: require('@tokenkeeper/koa') },
  fastify: { framework: require('fastify'), adapter: require('@tokenkeeper/fastify') },
  nestjs: { common: require('@nestjs/common'), core: require('@nestjs/core'), adapter: require('@tokenkeeper/nestjs') },
  axios: { framework: require('axios'), adapter: require('@tokenkeeper/axios') },
  redis: require('@tokenkeeper/redis'),
}).catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
