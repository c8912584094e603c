import { describeDistSmoke } from '../../../tooling/dist-smoke.ts';

describeDistSmoke(new URL('..', import.meta.url), { expectExports: ['createTieredCache', 'TieredCache'] });
