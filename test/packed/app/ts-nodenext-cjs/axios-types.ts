// The limitation the axios README documents for CommonJS TypeScript projects, checked so that it
// cannot outlive its fix: once @tokenkeeper/axios is typed for require() too, these
// expect-error directives below fail to compile, and this file, the casts in main.ts and the README
// paragraph should go. Type-checked only (nothing imports it).
import type { Session } from '@tokenkeeper/auth-core';
import { installTokenKeeper } from '@tokenkeeper/axios';
import axios from 'axios';

declare const session: Session;
// @ts-expect-error the require-side AxiosInstance is not the import-side one @tokenkeeper/axios names
installTokenKeeper(axios.create(), { session });
