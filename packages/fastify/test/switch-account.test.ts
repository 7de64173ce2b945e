import { switchAccountSpecs } from '../../../test/support/adapter-specs.js';
import { startApp } from './support.js';

switchAccountSpecs('request.upstream', startApp);
