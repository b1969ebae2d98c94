import { defineConfig } from 'drizzle-kit';

// PostgreSQL (docs/deploying.md): drizzle-kit reads schema-pg.ts and writes forward-only
// migrations to drizzle-pg/, starting from a baseline of the schema SQLite's drizzle/ history
// had reached. Generate with `npx drizzle-kit generate --config drizzle-pg.config.ts --name <tag>`.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/server/db/schema-pg.ts',
  out: './drizzle-pg',
});
