DROP INDEX `access_records_discovered_idx`;--> statement-breakpoint
DROP INDEX `access_records_org_ref_idx`;--> statement-breakpoint
DROP INDEX `access_records_org_name_idx`;--> statement-breakpoint
CREATE INDEX `access_records_discovered_idx` ON `access_records` (`mpxn`,`organisation_reference`) WHERE "access_records"."organisation_reference" is not null;--> statement-breakpoint
CREATE INDEX `access_records_org_ref_idx` ON `access_records` (`organisation_reference`) WHERE "access_records"."organisation_reference" is not null;--> statement-breakpoint
CREATE INDEX `access_records_org_name_idx` ON `access_records` ("organisation_name" collate nocase) WHERE "access_records"."organisation_name" is not null;--> statement-breakpoint
DROP INDEX `audit_events_subject_idx`;--> statement-breakpoint
CREATE INDEX `audit_events_subject_idx` ON `audit_events` (`subject`,`seq`) WHERE "audit_events"."subject" is not null;