CREATE INDEX `access_records_expires_at_idx` ON `access_records` (`expires_at`);--> statement-breakpoint
CREATE INDEX `access_records_created_at_idx` ON `access_records` (`created_at`);--> statement-breakpoint
CREATE INDEX `audit_events_at_idx` ON `audit_events` (`at`);--> statement-breakpoint
-- Substring search for the admin lists (docs/api.md "Admin lists"): an FTS5 trigram index over
-- MPxN, purpose, controller and organisation names. Access keys are left out on purpose: their
-- random hex gives every segment thousands of distinct trigrams, which made each insert ~10x
-- dearer (measured with bench/search-cost.ts); a fragment of an access key is found by a scan
-- of the access-key index instead.
-- External content: the text lives once, in access_records; this table holds only the index.
-- detail=full because a substring longer than 3 characters is a phrase of trigrams.
-- Hand-written (drizzle-kit does not model virtual tables or triggers).
CREATE VIRTUAL TABLE `access_records_search` USING fts5(
	`mpxn`, `purpose`, `lead_controller_name`, `organisation_name`,
	content='access_records', content_rowid='seq', tokenize='trigram'
);
--> statement-breakpoint
CREATE TRIGGER `access_records_search_insert` AFTER INSERT ON `access_records` BEGIN
	INSERT INTO `access_records_search` (rowid, `mpxn`, `purpose`, `lead_controller_name`, `organisation_name`)
		VALUES (new.`seq`, new.`mpxn`, new.`purpose`, new.`lead_controller_name`, new.`organisation_name`);
END;
--> statement-breakpoint
CREATE TRIGGER `access_records_search_delete` AFTER DELETE ON `access_records` BEGIN
	INSERT INTO `access_records_search` (`access_records_search`, rowid, `mpxn`, `purpose`, `lead_controller_name`, `organisation_name`)
		VALUES ('delete', old.`seq`, old.`mpxn`, old.`purpose`, old.`lead_controller_name`, old.`organisation_name`);
END;
--> statement-breakpoint
-- Only a change to a searched column touches the index (state changes, sweeps and sightings do not).
CREATE TRIGGER `access_records_search_update` AFTER UPDATE OF `mpxn`, `purpose`, `lead_controller_name`, `organisation_name` ON `access_records` BEGIN
	INSERT INTO `access_records_search` (`access_records_search`, rowid, `mpxn`, `purpose`, `lead_controller_name`, `organisation_name`)
		VALUES ('delete', old.`seq`, old.`mpxn`, old.`purpose`, old.`lead_controller_name`, old.`organisation_name`);
	INSERT INTO `access_records_search` (rowid, `mpxn`, `purpose`, `lead_controller_name`, `organisation_name`)
		VALUES (new.`seq`, new.`mpxn`, new.`purpose`, new.`lead_controller_name`, new.`organisation_name`);
END;
--> statement-breakpoint
-- Existing registers: index what is there once.
INSERT INTO `access_records_search` (`access_records_search`) VALUES ('rebuild');
