import type { Request } from 'express';
import { sessionKeySpecs } from '../../../test/support/adapter-specs.js';
import { startApp } from './support.js';

sessionKeySpecs('req.upstream', startApp, (req: Request, name) => req.get(name));
