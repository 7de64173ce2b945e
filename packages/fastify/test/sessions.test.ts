import { sessionSpecs } from '../../../test/support/adapter-specs.js';
import { startApp } from './support.js';

sessionSpecs('request.upstream', startApp);
