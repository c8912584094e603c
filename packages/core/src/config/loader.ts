import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** A loaded package's namespace. */
export type ProviderModule = Record<string, unknown>;

/**
 * Loads a provider package by name. Resolves `undefined` when the package is not installed;
 * rejects with the original error when it is installed but fails to load.
 */
export type ProviderImporter = (specifier: string) => Promise<ProviderModule | undefined>;

/**
 * True only when `err` says `specifier` itself cannot be found — not a dependency of it, not a
 * missing file inside an installed package (that is a broken install, reported as it is).
 */
export function isModuleNotFound(err: unknown, specifier: string): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || (e.code !== 'ERR_MODULE_NOT_FOUND' && e.code !== 'MODULE_NOT_FOUND')) return false;
  const message = String(e.message);
  return message.includes(`'${specifier}'`) || message.includes(`"${specifier}"`);
}

// A variable specifier keeps TypeScript and the bundler from resolving provider packages at
// build time: they are optional, installed by the application.
const nativeImport = (specifier: string): Promise<ProviderModule> => import(specifier);

const IMPORT_CONDITIONS = new Set(['node', 'import', 'module-sync', 'default']);

/** The `exports` target Node's ESM resolver would pick for the package root. */
function pickExport(target: unknown): string | undefined {
  if (typeof target === 'string') return target;
  if (Array.isArray(target)) {
    for (const t of target) {
      const found = pickExport(t);
      if (found) return found;
    }
    return undefined;
  }
  if (target && typeof target === 'object') {
    const t = target as Record<string, unknown>;
    if (Object.keys(t).some((k) => k.startsWith('.'))) return '.' in t ? pickExport(t['.']) : undefined;
    // Conditions match in the package's own key order, as Node does.
    for (const [cond, value] of Object.entries(t)) {
      if (!IMPORT_CONDITIONS.has(cond)) continue;
      const found = pickExport(value);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Finds the ESM entry of package `specifier` in the node_modules folders above `dir`, the way
 * Node's ESM resolver does. Not `require.resolve`: that also searches NODE_PATH, which package
 * managers set for their bin shims to their own store — an answer that is not the app's.
 */
function resolvePackageEntry(specifier: string, dir: string): string | undefined {
  for (let at = dir; ; ) {
    const pkgDir = join(at, 'node_modules', specifier);
    const pkgJson = join(pkgDir, 'package.json');
    if (existsSync(pkgJson)) {
      const pkg = JSON.parse(readFileSync(pkgJson, 'utf8')) as Record<string, unknown>;
      const entry =
        pkg.exports !== undefined && pkg.exports !== null
          ? pickExport(pkg.exports)
          : ((typeof pkg.main === 'string' ? pkg.main : undefined) ?? 'index.js');
      if (!entry) throw new Error(`${specifier} (${pkgDir}) has no entry point for import in its "exports"`);
      return join(pkgDir, entry);
    }
    const parent = dirname(at);
    if (parent === at) return undefined;
    at = parent;
  }
}

/**
 * The loader `createIntegrations` uses. Order:
 * 1. `import(specifier)` from core's own location (hoisted or flat node_modules);
 * 2. the application, from the node_modules above `cwd` — under pnpm's strict node_modules core cannot
 *    see the app's dependencies, but the app can. (Not from `process.argv[1]`: that is often a
 *    tool — a test runner, a loader — whose own dependency tree would answer instead of the app's.)
 * 3. next to packages loaded before, so `@fraiseql/postgres` (a dependency of the Postgres
 *    providers, not necessarily of the app) is found where the provider found it.
 */
export function createDefaultImporter(cwd: string): ProviderImporter {
  const loadedFrom: string[] = [];
  return async (specifier) => {
    try {
      return await nativeImport(specifier);
    } catch (err) {
      if (!isModuleNotFound(err, specifier)) throw err;
    }
    for (const dir of [cwd, ...loadedFrom.map((file) => dirname(file))]) {
      const resolved = resolvePackageEntry(specifier, dir);
      if (!resolved) continue;
      const mod = await nativeImport(pathToFileURL(resolved).href);
      // The real path: under pnpm a package's own dependencies sit beside its real directory,
      // not beside the app's symlink to it.
      loadedFrom.push(realpathSync(resolved));
      return mod;
    }
    return undefined;
  };
}
