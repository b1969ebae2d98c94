CREATE TABLE `ended_portal_sessions` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`session_id` text NOT NULL,
	`ended_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ended_portal_sessions_session_id_uq` ON `ended_portal_sessions` (`session_id`);--> statement-breakpoint
ALTER TABLE `accounts` ADD `tokens_valid_after` integer DEFAULT 0 NOT NULL;