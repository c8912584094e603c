import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The published shape of a package, checked from plain Node (not through vitest's resolver):
 * the built ESM and CJS entry points load, export the same names, and ship their `.d.ts`.
 */
export interface DistSmokeOptions {
  /** Names the ESM entry must export. */
  expectExports?: string[];
  /** The package ships ESM only (it imports an ESM-only dependency such as vitest). */
  esmOnly?: boolean;
}

export function describeDistSmoke(packageDir: URL, opts: DistSmokeOptions = {}) {
  const dir = fileURLToPath(packageDir);
  const pkg = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8'));
  const run = (code: string, type: 'module' | 'commonjs') => {
    const r = spawnSync(
      process.execPath,
      [type === 'module' ? '--input-type=module' : '--input-type=commonjs', '-e', code],
      {
        cwd: dir,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    if (r.status !== 0) throw new Error(`node exited ${r.status}: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as string[];
  };

  describe(`${pkg.name} dist`, () => {
    it('declares types first in every exports condition and ships only dist', () => {
      const root = pkg.exports['.'];
      expect(Object.keys(root)).toEqual(opts.esmOnly ? ['import'] : ['import', 'require']);
      expect(Object.keys(root.import)[0]).toBe('types');
      if (!opts.esmOnly) expect(Object.keys(root.require)[0]).toBe('types');
      expect(pkg.files).toEqual(['dist']);
      const files = opts.esmOnly
        ? [root.import.types, root.import.default]
        : [root.import.types, root.import.default, root.require.types, root.require.default];
      for (const f of files) {
        expect(existsSync(`${dir}/${f}`), `${f} is built`).toBe(true);
      }
    });

    it(opts.esmOnly
      ? 'loads as ESM from plain Node'
      : 'loads as ESM and as CJS from plain Node with the same exports', () => {
      const esm = run(
        `const m = await import(${JSON.stringify(pkg.name)}); console.log(JSON.stringify(Object.keys(m).filter(k => k !== 'default').sort()))`,
        'module',
      );
      if (!opts.esmOnly) {
        const cjs = run(
          `const m = require(${JSON.stringify(pkg.name)}); console.log(JSON.stringify(Object.keys(m).sort()))`,
          'commonjs',
        );
        expect(cjs).toEqual(esm);
      }
      for (const name of opts.expectExports ?? []) expect(esm).toContain(name);
    }, 60_000);
  });
}
