CREATE TABLE `access_record_count_deltas` (
	`duid` text NOT NULL,
	`state` text NOT NULL,
	`n` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `access_record_count_deltas_duid_idx` ON `access_record_count_deltas` (`duid`,`state`);