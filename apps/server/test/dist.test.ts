import { describeDistSmoke } from '../../../tooling/dist-smoke.ts';

describeDistSmoke(new URL('..', import.meta.url), {
  expectExports: ['createServer', 'startServer', 'installSignalHandlers', 'ROUTES'],
});
