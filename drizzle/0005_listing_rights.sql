DROP INDEX `access_records_mpxn_duid_idx`;--> statement-breakpoint
ALTER TABLE `access_records` ADD `activated_at` text;--> statement-breakpoint
-- Existing records (hand-written): a record has been ACTIVE when it was submitted ACTIVE with
-- an expiry still ahead. The columns tell: a revocation by an account sets revoked_by (one
-- submitted REVOKED has none), the sweeper sets expired_at to the expiry (one submitted
-- EXPIRED has expired_at = created_at), and a record submitted ACTIVE with an expiry already
-- past never gave access. Such a record was ACTIVE from its creation.
UPDATE `access_records` SET `activated_at` = `created_at`
	WHERE `kind` = 'record'
	AND (`state` = 'ACTIVE'
		OR (`state` = 'REVOKED' AND `revoked_by` IS NOT NULL)
		OR (`state` = 'EXPIRED' AND `expired_at` IS NOT `created_at`))
	AND (`expires_at` IS NULL OR `expires_at` > `created_at`);--> statement-breakpoint
CREATE INDEX `access_records_mpxn_duid_idx` ON `access_records` (`mpxn`,`duid`,`activated_at`) WHERE "access_records"."activated_at" is not null;
