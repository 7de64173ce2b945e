import { sessionSpecs } from './specs.js';
import { startApp } from './support.js';

sessionSpecs('req.upstream', startApp);
