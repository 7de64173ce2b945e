// The packed packages loaded with `import`, as an ES-module app loads them.
import 'reflect-metadata';
import * as common from '@nestjs/common';
import * as core from '@nestjs/core';
import * as authCore from '@tokenkeeper/auth-core';
import * as axiosAdapter from '@tokenkeeper/axios';
import * as expressAdapter from '@tokenkeeper/express';
import * as fastifyAdapter from '@tokenkeeper/fastify';
import * as koaAdapter from '@tokenkeeper/koa';
import * as nestAdapter from '@tokenkeeper/nestjs';
import * as redis from '@tokenkeeper/redis';
import * as testing from '@tokenkeeper/testing';
import axios from 'axios';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import requests from './requests.cjs';

await requests.runAll('esm', {
  core: authCore,
  testing,
  express: { framework: express, adapter: expressAdapter },
  koa: { framework: Koa, adapter: koaAdapter },
  fastify: { framework: Fastify, adapter: fastifyAdapter },
  nestjs: { common, core, adapter: nestAdapter },
  axios: { framework: axios, adapter: axiosAdapter },
  redis,
});
