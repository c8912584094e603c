import { definePackage } from '../../tooling/tsup.preset.ts';

export default definePackage();
