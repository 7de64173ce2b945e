import { sessionSpecs } from '../../../test/support/adapter-specs.js';
import { startApp } from './support.js';

sessionSpecs('ctx.state.upstream', startApp);
