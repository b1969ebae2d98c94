-- The admin search's trigram index off the create path (docs/performance.md "Creates"): a write
-- to access_records only queues the record's seq here; the register's search indexer
-- (services/search-index.ts) moves queued records into access_records_search in batches, and a
-- search also scans the records still queued, so it finds them at once (services/access-records.ts).
-- A seq is in the queue exactly when the FTS index does not hold that record's current text.
-- SQLite-only machinery, like the FTS table (test/support/schema-shape.ts); hand-written.
CREATE TABLE `access_records_search_queue` (
	`seq` integer PRIMARY KEY NOT NULL
);
--> statement-breakpoint
DROP TRIGGER `access_records_search_insert`;
--> statement-breakpoint
DROP TRIGGER `access_records_search_update`;
--> statement-breakpoint
DROP TRIGGER `access_records_search_delete`;
--> statement-breakpoint
CREATE TRIGGER `access_records_search_insert` AFTER INSERT ON `access_records` BEGIN
	INSERT OR IGNORE INTO `access_records_search_queue` (`seq`) VALUES (new.`seq`);
END;
--> statement-breakpoint
-- An indexed record's old text leaves the index now (external content: the 'delete' must name
-- exactly the indexed values, which only this trigger still has); its new text is queued. A
-- record still queued was never indexed, so there is nothing to delete.
CREATE TRIGGER `access_records_search_update` AFTER UPDATE OF `mpxn`, `purpose`, `lead_controller_name`, `organisation_name` ON `access_records` BEGIN
	INSERT INTO `access_records_search` (`access_records_search`, rowid, `mpxn`, `purpose`, `lead_controller_name`, `organisation_name`)
		SELECT 'delete', old.`seq`, old.`mpxn`, old.`purpose`, old.`lead_controller_name`, old.`organisation_name`
		WHERE NOT EXISTS (SELECT 1 FROM `access_records_search_queue` WHERE `seq` = old.`seq`);
	INSERT OR IGNORE INTO `access_records_search_queue` (`seq`) VALUES (new.`seq`);
END;
--> statement-breakpoint
CREATE TRIGGER `access_records_search_delete` AFTER DELETE ON `access_records` BEGIN
	INSERT INTO `access_records_search` (`access_records_search`, rowid, `mpxn`, `purpose`, `lead_controller_name`, `organisation_name`)
		SELECT 'delete', old.`seq`, old.`mpxn`, old.`purpose`, old.`lead_controller_name`, old.`organisation_name`
		WHERE NOT EXISTS (SELECT 1 FROM `access_records_search_queue` WHERE `seq` = old.`seq`);
	DELETE FROM `access_records_search_queue` WHERE `seq` = old.`seq`;
END;
