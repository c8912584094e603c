import { defineConfig, type Options } from 'tsup';

/**
 * The one build recipe for every package: ESM + CJS + `.d.ts`/`.d.cts`, Node 22 target.
 * Dependencies stay external (tsup's default), so a provider never bundles its backend client.
 */
export function definePackage(overrides: Options = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node22',
    platform: 'node',
    splitting: false,
    treeshake: true,
    ...overrides,
  });
}
