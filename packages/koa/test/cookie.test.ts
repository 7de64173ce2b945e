import { cookieSpecs } from '../../../test/support/adapter-specs.js';
import { startApp } from './support.js';

cookieSpecs('ctx.state.upstream', startApp);
