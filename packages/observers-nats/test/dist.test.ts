import { describeDistSmoke } from '../../../tooling/dist-smoke.ts';

describeDistSmoke(new URL('..', import.meta.url), {
  expectExports: [
    'createNatsTransport',
    'encodeToken',
    'decodeToken',
    'eventSubject',
    'encodeEvent',
    'decodeEvent',
  ],
});
