import { describeCacheProvider } from '@fraiseql/testkit';
import { createMemoryCache } from '../src/index.ts';

describeCacheProvider('memory', (opts) => createMemoryCache(opts));
