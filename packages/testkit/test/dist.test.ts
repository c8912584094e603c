import { describeDistSmoke } from '../../../tooling/dist-smoke.ts';

describeDistSmoke(new URL('..', import.meta.url), {
  esmOnly: true,
  expectExports: [
    'describeCacheProvider',
    'describeQueueProvider',
    'describeSearchProvider',
    'checkService',
    'uniqueName',
  ],
});
