import { sessionSpecs } from '../../../test/support/adapter-specs.js';
import { nestApp, PLATFORMS } from './support.js';

for (const platform of PLATFORMS) sessionSpecs(`@UpstreamSession() on the ${platform} platform`, nestApp(platform));
