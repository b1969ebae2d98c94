ALTER TABLE "access_records" ADD COLUMN "record_metadata" text;
--> statement-breakpoint
-- Existing registers: each full record's section, as the listings read it from "body" until
-- now (the text of the json member, as stored), so every listing stays byte-for-byte the same.
UPDATE "access_records" SET "record_metadata" = ("body" -> 'record-metadata')::text WHERE "kind" = 'record';
