import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';

/**
 * The console is served by the register itself at /console/ (and loaded from there by the
 * desktop shell, never from file://). electron-vite forces `base: './'` for production
 * renderer builds; this plugin puts `/console/` back so asset URLs are absolute.
 */
function consoleBase(): Plugin {
  return {
    name: 'dar:console-base',
    enforce: 'post',
    config: () => ({ base: '/console/' }),
  };
}

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  main: {
    // better-sqlite3, fastify and every other runtime dependency stay external (node_modules).
    build: {
      externalizeDeps: true,
      outDir: 'out/main',
      lib: { entry: resolve(here, 'src/main/index.ts') },
    },
  },
  preload: {
    // A sandboxed preload must be a CommonJS script.
    build: {
      externalizeDeps: true,
      outDir: 'out/preload',
      lib: { entry: resolve(here, 'src/preload/index.ts'), formats: ['cjs'], fileName: () => 'index.cjs' },
    },
  },
  renderer: {
    root: resolve(here, 'src/renderer'),
    base: '/console/',
    plugins: [react(), consoleBase()],
    build: {
      outDir: resolve(here, 'out/renderer'),
      emptyOutDir: true,
      // Served over HTTP by the register, so ship it small.
      minify: true,
      sourcemap: false,
      rolldownOptions: { input: resolve(here, 'src/renderer/index.html') },
    },
  },
});
