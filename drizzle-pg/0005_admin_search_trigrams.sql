-- The admin search's substring match on PostgreSQL (AccessRecords.scanSearch): a trigram index,
-- so a search reads the few matching rows instead of every row. pg_trgm ships with PostgreSQL
-- (Debian's postgresql package) and is a trusted extension: the database's owner may create it.
-- Written by hand: drizzle-kit cannot declare an extension, and an index declared in
-- schema-pg.ts as well would be created twice.
CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
-- The four searchable names as one lower-cased text, separated by U+001F (a term holding it is
-- matched name by name instead): one index, one bitmap scan per search. The expression must stay
-- exactly the one scanSearch writes, or the planner cannot use the index.
CREATE INDEX "access_records_search_trgm" ON "access_records" USING gin ((lower("mpxn" || chr(31) || coalesce("purpose", '') || chr(31) || coalesce("lead_controller_name", '') || chr(31) || coalesce("organisation_name", ''))) gin_trgm_ops);
-- Access keys stay out: their random hex gives each key some 65 distinct trigrams, dear on every
-- create (as in SQLite's trigram index, docs/performance.md "Creates"); a fragment of one is
-- matched by a scan of the keys.
