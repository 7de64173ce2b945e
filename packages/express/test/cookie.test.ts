import { cookieSpecs } from '../../../test/support/adapter-specs.js';
import { startApp } from './support.js';

cookieSpecs('req.upstream', startApp);
