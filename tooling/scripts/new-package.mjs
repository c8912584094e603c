#!/usr/bin/env node
// Scaffolds a package with the house layout: package.json (exports map, types first), tsconfig,
// tsup/vitest configs that only extend tooling/, src/index.ts and a dist smoke test.
// Usage: node tooling/scripts/new-package.mjs packages/cache-redis @fraiseql/cache-redis "description"
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const [dir, name, description = ''] = process.argv.slice(2);
if (!dir || !name) {
  console.error('usage: new-package.mjs <dir> <@fraiseql/name> [description]');
  process.exit(2);
}
const root = process.cwd();
const abs = join(root, dir);
if (existsSync(join(abs, 'package.json'))) {
  console.error(`${dir}/package.json exists already`);
  process.exit(1);
}
const up = relative(abs, root) || '.';
mkdirSync(join(abs, 'src'), { recursive: true });
mkdirSync(join(abs, 'test'), { recursive: true });
const pkg = {
  name,
  version: '0.1.0',
  description,
  license: 'MIT',
  type: 'module',
  engines: { node: '>=22.12' },
  sideEffects: false,
  main: './dist/index.cjs',
  module: './dist/index.js',
  types: './dist/index.d.ts',
  exports: {
    '.': {
      import: { types: './dist/index.d.ts', default: './dist/index.js' },
      require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
    },
    './package.json': './package.json',
  },
  files: ['dist'],
  scripts: {
    build: 'tsup',
    typecheck: 'tsc -p tsconfig.json',
    test: 'vitest run',
  },
  dependencies: {},
  devDependencies: {},
};
const w = (f, s) => writeFileSync(join(abs, f), s);
w('package.json', JSON.stringify(pkg, null, 2) + '\n');
w(
  'tsconfig.json',
  JSON.stringify({ extends: `${up}/tooling/tsconfig.base.json`, include: ['src', 'test'] }, null, 2) + '\n',
);
w(
  'tsup.config.ts',
  `import { definePackage } from '${up}/tooling/tsup.preset.ts';\n\nexport default definePackage();\n`,
);
w('vitest.config.ts', `export { default } from '${up}/tooling/vitest.preset.ts';\n`);
if (!existsSync(join(abs, 'src/index.ts'))) w('src/index.ts', 'export {};\n');
w(
  'test/dist.test.ts',
  `import { describeDistSmoke } from '../${up}/tooling/dist-smoke.ts';\n\ndescribeDistSmoke(new URL('..', import.meta.url));\n`,
);
console.log(`created ${dir} (${name})`);
