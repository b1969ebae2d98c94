CREATE INDEX `access_records_org_ref_idx` ON `access_records` (`organisation_reference`);--> statement-breakpoint
CREATE INDEX `access_records_kind_idx` ON `access_records` (`kind`,`seq`);--> statement-breakpoint
CREATE INDEX `access_records_duid_state_idx` ON `access_records` (`duid`,`state`,`seq`);