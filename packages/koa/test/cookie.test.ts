import { cookieSpecs } from '../../express/test/specs.js';
import { startApp } from './support.js';

cookieSpecs('ctx.state.upstream', startApp);
