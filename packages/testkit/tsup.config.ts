import { definePackage } from '../../tooling/tsup.preset.ts';

// ESM only: the suites import vitest, which refuses to be require()d, so a CJS build could never load.
export default definePackage({ format: ['esm'] });
