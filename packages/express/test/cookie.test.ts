import { cookieSpecs } from './specs.js';
import { startApp } from './support.js';

cookieSpecs('req.upstream', startApp);
