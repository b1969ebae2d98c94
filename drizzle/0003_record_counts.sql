CREATE TABLE `access_record_counts` (
	`duid` text NOT NULL,
	`state` text NOT NULL,
	`n` integer NOT NULL,
	PRIMARY KEY(`duid`, `state`)
);
--> statement-breakpoint
-- Kept by triggers (hand-written: drizzle-kit does not model triggers). Every path that
-- inserts, deletes or changes the duid/state of an access record goes through them.
CREATE TRIGGER `access_records_count_insert` AFTER INSERT ON `access_records` WHEN new.`duid` IS NOT NULL BEGIN
	INSERT INTO `access_record_counts` (`duid`, `state`, `n`) VALUES (new.`duid`, new.`state`, 1)
		ON CONFLICT (`duid`, `state`) DO UPDATE SET `n` = `n` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `access_records_count_delete` AFTER DELETE ON `access_records` WHEN old.`duid` IS NOT NULL BEGIN
	UPDATE `access_record_counts` SET `n` = `n` - 1 WHERE `duid` = old.`duid` AND `state` = old.`state`;
END;
--> statement-breakpoint
CREATE TRIGGER `access_records_count_update` AFTER UPDATE OF `duid`, `state` ON `access_records`
	WHEN old.`duid` IS NOT new.`duid` OR old.`state` IS NOT new.`state` BEGIN
	UPDATE `access_record_counts` SET `n` = `n` - 1 WHERE old.`duid` IS NOT NULL AND `duid` = old.`duid` AND `state` = old.`state`;
	INSERT INTO `access_record_counts` (`duid`, `state`, `n`) SELECT new.`duid`, new.`state`, 1 WHERE new.`duid` IS NOT NULL
		ON CONFLICT (`duid`, `state`) DO UPDATE SET `n` = `n` + 1;
END;
--> statement-breakpoint
-- Existing registers: count what is there once.
INSERT INTO `access_record_counts` (`duid`, `state`, `n`)
	SELECT `duid`, `state`, count(*) FROM `access_records` WHERE `duid` IS NOT NULL GROUP BY `duid`, `state`;
