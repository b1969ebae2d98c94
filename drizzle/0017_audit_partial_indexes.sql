-- The audit log's ak and ir indexes hold only the events that name one (docs/performance.md,
-- "Audit indexes"): most events name neither, and each such entry was written for nothing.
DROP INDEX `audit_events_ak_idx`;--> statement-breakpoint
DROP INDEX `audit_events_ir_idx`;--> statement-breakpoint
CREATE INDEX `audit_events_ak_idx` ON `audit_events` (`ak`,`seq`) WHERE "audit_events"."ak" is not null;--> statement-breakpoint
CREATE INDEX `audit_events_ir_idx` ON `audit_events` (`ir`,`seq`) WHERE "audit_events"."ir" is not null;
