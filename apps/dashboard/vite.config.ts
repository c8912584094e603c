import { defineConfig } from 'vite';

/**
 * The dashboard is plain static files served by `@fraiseql/server` under `/ui/`: relative to that
 * base, no CDN, no external fonts, so it works offline and under a strict CSP (`script-src 'self'`).
 */
export default defineConfig({
  base: '/ui/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Inline nothing as data: URLs: the CSP allows scripts and styles from 'self' only.
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
  },
});
