ALTER TABLE `access_records` ADD `record_metadata` text;
--> statement-breakpoint
-- Existing registers: each full record's section, as the listings read it from `body` until
-- now (the same `->` extraction, so every listing stays byte-for-byte the same). One pass over
-- the table (docs/performance.md, "30 November, night: listings"); no trigger watches this column.
UPDATE `access_records` SET `record_metadata` = `body` -> '$."record-metadata"' WHERE `kind` = 'record';
