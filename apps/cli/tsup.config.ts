import { definePackage } from '../../tooling/tsup.preset.ts';

// index = the programmatic entry (main(argv)); bin = the executable with its shebang.
export default definePackage({
  entry: ['src/index.ts', 'src/bin.ts', 'src/observers-bin.ts'],
  banner: { js: '#!/usr/bin/env node' },
});
