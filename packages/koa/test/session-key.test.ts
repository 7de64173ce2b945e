import type { Context } from 'koa';
import { sessionKeySpecs } from '../../../test/support/adapter-specs.js';
import { startApp } from './support.js';

sessionKeySpecs('ctx.state.upstream', startApp, (ctx: Context, name) => ctx.get(name));
