CREATE TABLE `sign_in_failures` (
	`key` text PRIMARY KEY NOT NULL,
	`failures` text NOT NULL,
	`last_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `sign_in_failures_last_idx` ON `sign_in_failures` (`last_at`);--> statement-breakpoint
ALTER TABLE `audit_events` ADD `event_hash` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `audit_events` ADD `link_seq` integer;--> statement-breakpoint
-- Events written so far were linked as they were written (legacy hash over the previous hash and
-- the content), in id order: their chain position is their rank by id (ids may start above 1
-- after a sandbox reset). Set before the indexes are built.
UPDATE `audit_events` SET `link_seq` = `r`.`n` FROM (SELECT `seq`, row_number() OVER (ORDER BY `seq`) AS `n` FROM `audit_events`) AS `r` WHERE `r`.`seq` = `audit_events`.`seq`;--> statement-breakpoint
-- The first link run anchors that chain's tip (services/audit.ts, docs/security.md "The audit chain").
INSERT INTO `settings` (`key`, `value`, `updated_at`) SELECT 'audit-anchor', 'unanchored', strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE EXISTS (SELECT 1 FROM `audit_events`);--> statement-breakpoint
CREATE UNIQUE INDEX `audit_events_link_uq` ON `audit_events` (`link_seq`) WHERE "audit_events"."link_seq" is not null;--> statement-breakpoint
CREATE INDEX `audit_events_unlinked_idx` ON `audit_events` (`seq`) WHERE "audit_events"."link_seq" is null;--> statement-breakpoint
ALTER TABLE `mail_messages` ADD `lease_token` text;--> statement-breakpoint
ALTER TABLE `webhook_deliveries` ADD `lease_token` text;