CREATE INDEX `webhook_deliveries_next_idx` ON `webhook_deliveries` (`next_attempt_at`,`seq`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_duid_idx` ON `webhook_deliveries` (`duid`,`seq`);