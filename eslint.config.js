// ESLint (flat config): correctness rules from @eslint/js and typescript-eslint, no import
// cycles, and the layers kept one-way. Formatting is Prettier's job (`npm run format:check`);
// unused locals and parameters are the type-checker's (`noUnusedLocals`, `noUnusedParameters`).
import js from '@eslint/js';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['node_modules/', 'out/', 'dist/', 'data/', 'test-results/', 'playwright-report/', 'bench/results/', 'drizzle/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{ts,tsx,js,mjs,cjs}'],
    plugins: { 'import-x': importX },
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { console: 'readonly', process: 'readonly', URL: 'readonly', fetch: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', Buffer: 'readonly' },
    },
    settings: {
      // The cycle rule parses every imported module: TypeScript ones with typescript-eslint's parser.
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx', '.mts', '.cts'] },
      'import-x/extensions': ['.ts', '.tsx', '.js', '.mjs', '.cjs'],
      // The sources import `./x.js` for `./x.ts` (Node ESM style): resolve as TypeScript does.
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.tsx', '.js', '.mjs', '.json', '.node'], extensionAlias: { '.js': ['.ts', '.tsx', '.js'] } })],
    },
    rules: {
      // Reported by tsc (noUnusedLocals / noUnusedParameters), with `_` for a deliberately unused parameter.
      '@typescript-eslint/no-unused-vars': 'off',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-self-import': 'error',
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            { target: './src/server', from: './src/renderer', message: 'The register never depends on the console.' },
            { target: './src/server', from: './src/main', message: 'The register runs headless: it never imports the Electron shell.' },
            { target: './src/server', from: './src/preload', message: 'The register runs headless: it never imports the Electron shell.' },
            { target: './src/renderer', from: './src/server', message: 'The console reaches the register only through its API; shared code lives in src/shared.' },
            { target: './src/renderer', from: './src/main', message: 'The console talks to the shell only through the preload bridge.' },
            { target: './src/shared', from: ['./src/server', './src/renderer', './src/main', './src/preload'], message: 'src/shared is imported by both sides and imports neither.' },
          ],
        },
      ],
    },
  },
  {
    // The register's storage is asynchronous (db/store.ts): a query, a unit of work or an audit
    // append that is not awaited would run outside its transaction, or after the answer.
    files: ['src/server/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
  {
    // The console: the two classic rules of hooks (the React Compiler rules of the plugin's
    // newer presets are not adopted).
    files: ['src/renderer/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: { 'react-hooks/rules-of-hooks': 'error', 'react-hooks/exhaustive-deps': 'error' },
  },
  {
    // Tests read untyped JSON bodies; `any` there is a convenience, not a hole in the app.
    files: ['test/**', 'e2e/**', 'bench/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The portal's client for the register's own API leaves response bodies untyped by default.
    files: ['src/server/pages/portal/api-client.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Playwright fixtures are declared by destructuring, `async ({}, testInfo) => …` included.
    files: ['e2e/**'],
    rules: { 'no-empty-pattern': 'off' },
  },
);
