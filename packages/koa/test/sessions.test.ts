import { sessionSpecs } from '../../express/test/specs.js';
import { startApp } from './support.js';

sessionSpecs('ctx.state.upstream', startApp);
