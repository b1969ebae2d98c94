import { defineConfig } from 'drizzle-kit';

// drizzle-kit reads the one schema file and writes forward-only SQL migrations to drizzle/.
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/server/db/schema.ts',
  out: './drizzle',
});
