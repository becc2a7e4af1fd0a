import { defineConfig } from 'vite';

// The dashboard build (`npm run build`): ui/ -> dist/ui/, hashed names, nothing inline, so the
// strict CSP in src/http/routes/ui.ts holds. Relative base: the page lives at /admin/ui/.
export default defineConfig({
  root: 'ui',
  base: './',
  publicDir: 'public',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: '../dist/ui',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
