DROP INDEX `access_records_discovered_idx`;--> statement-breakpoint
DROP INDEX `access_records_org_ref_idx`;--> statement-breakpoint
CREATE INDEX `access_records_discovered_idx` ON `access_records` (`mpxn`,"organisation_reference" collate nocase) WHERE "access_records"."organisation_reference" is not null;--> statement-breakpoint
CREATE INDEX `access_records_org_ref_idx` ON `access_records` ("organisation_reference" collate nocase) WHERE "access_records"."organisation_reference" is not null;--> statement-breakpoint
DROP INDEX `accounts_org_ref_idx`;--> statement-breakpoint
CREATE INDEX `accounts_org_ref_idx` ON `accounts` ("organisation_reference" collate nocase);