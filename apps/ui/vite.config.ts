import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

// The admin web UI, served by the gateway at /ui/ (apps/gateway/src/web-ui.controller.ts). No dev server
// proxying, no CDN: `npm run build` writes dist/ui, which the gateway serves.
export default defineConfig({
  root: here,
  base: '/ui/',
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: path.resolve(here, '../../dist/ui'),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
  },
});
