CREATE TABLE `access_records` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ak` text NOT NULL,
	`kind` text NOT NULL,
	`duid` text,
	`ir` text,
	`mpxn` text NOT NULL,
	`state` text NOT NULL,
	`legal_basis` text,
	`arrangement_type` text,
	`lead_controller_name` text,
	`controller_count` integer,
	`purpose` text,
	`data_types` text NOT NULL,
	`expiry` text,
	`expires_at` text,
	`registered_at` text,
	`body` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`revoked_at` text,
	`revoke_reason` text,
	`revoked_by` text,
	`expired_at` text,
	`organisation_name` text,
	`organisation_reference` text,
	`first_seen` text,
	`last_seen` text,
	`source_reference` text,
	`superseded_by` text,
	`superseded_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `access_records_ak_uq` ON `access_records` (`ak`);--> statement-breakpoint
CREATE INDEX `access_records_duid_idx` ON `access_records` (`duid`,`seq`);--> statement-breakpoint
CREATE INDEX `access_records_mpxn_idx` ON `access_records` (`mpxn`,`seq`);--> statement-breakpoint
CREATE INDEX `access_records_mpxn_duid_idx` ON `access_records` (`mpxn`,`duid`);--> statement-breakpoint
CREATE INDEX `access_records_ir_idx` ON `access_records` (`ir`);--> statement-breakpoint
CREATE INDEX `access_records_state_idx` ON `access_records` (`state`,`seq`);--> statement-breakpoint
CREATE INDEX `access_records_expiry_idx` ON `access_records` (`state`,`expires_at`);--> statement-breakpoint
CREATE INDEX `access_records_discovered_idx` ON `access_records` (`mpxn`,`organisation_reference`);--> statement-breakpoint
CREATE INDEX `access_records_lead_name_idx` ON `access_records` ("lead_controller_name" collate nocase);--> statement-breakpoint
CREATE INDEX `access_records_org_name_idx` ON `access_records` ("organisation_name" collate nocase);--> statement-breakpoint
CREATE TABLE `accounts` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`account_id` text NOT NULL,
	`secret_hash` text NOT NULL,
	`duid` text NOT NULL,
	`display_name` text NOT NULL,
	`role` text NOT NULL,
	`status` text DEFAULT 'active' NOT NULL,
	`contact_url` text,
	`organisation_reference` text,
	`data_types_supported` text NOT NULL,
	`return_urls` text NOT NULL,
	`registered_at` text NOT NULL,
	`suspended_at` text,
	`terminated_at` text,
	`reactivated_at` text,
	`secret_rotated_at` text,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `accounts_account_id_uq` ON `accounts` (`account_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `accounts_duid_uq` ON `accounts` (`duid`);--> statement-breakpoint
CREATE INDEX `accounts_role_idx` ON `accounts` (`role`,`seq`);--> statement-breakpoint
CREATE INDEX `accounts_org_ref_idx` ON `accounts` (`organisation_reference`);--> statement-breakpoint
CREATE INDEX `accounts_display_name_idx` ON `accounts` ("display_name" collate nocase);--> statement-breakpoint
CREATE TABLE `audit_events` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` text NOT NULL,
	`actor` text NOT NULL,
	`event_type` text NOT NULL,
	`ak` text,
	`ir` text,
	`subject` text,
	`detail` text NOT NULL,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_events_actor_idx` ON `audit_events` (`actor`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_events_type_idx` ON `audit_events` (`event_type`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_events_ak_idx` ON `audit_events` (`ak`,`seq`);--> statement-breakpoint
CREATE INDEX `audit_events_ir_idx` ON `audit_events` (`ir`,`seq`);--> statement-breakpoint
CREATE TABLE `cot_events` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`mpxn` text NOT NULL,
	`effective_date` text NOT NULL,
	`source_reference` text NOT NULL,
	`active_records_affected` integer NOT NULL,
	`data_users_notified` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cot_events_triple_uq` ON `cot_events` (`mpxn`,`effective_date`,`source_reference`);--> statement-breakpoint
CREATE TABLE `identity_records` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ir` text NOT NULL,
	`duid` text NOT NULL,
	`mpxn` text,
	`move_in_date` text,
	`address` text,
	`expressed_by` text NOT NULL,
	`principal_verification` text,
	`email_hash` text,
	`email_enc` text,
	`webauthn_user_id` text NOT NULL,
	`created_at` text NOT NULL,
	`anonymised_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `identity_records_ir_uq` ON `identity_records` (`ir`);--> statement-breakpoint
CREATE INDEX `identity_records_duid_idx` ON `identity_records` (`duid`,`seq`);--> statement-breakpoint
CREATE INDEX `identity_records_mpxn_idx` ON `identity_records` (`mpxn`,`seq`);--> statement-breakpoint
CREATE INDEX `identity_records_email_idx` ON `identity_records` (`email_hash`);--> statement-breakpoint
CREATE TABLE `mail_messages` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`message_id` text NOT NULL,
	`to` text NOT NULL,
	`subject` text NOT NULL,
	`text` text NOT NULL,
	`html` text NOT NULL,
	`links` text NOT NULL,
	`purpose` text NOT NULL,
	`ref` text,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` text,
	`last_error` text,
	`sent_at` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `mail_messages_id_uq` ON `mail_messages` (`message_id`);--> statement-breakpoint
CREATE INDEX `mail_messages_due_idx` ON `mail_messages` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `mail_messages_ref_idx` ON `mail_messages` (`ref`);--> statement-breakpoint
CREATE TABLE `passkey_credentials` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`credential_id` text NOT NULL,
	`ir` text NOT NULL,
	`webauthn_id` text NOT NULL,
	`public_key` blob NOT NULL,
	`counter` integer DEFAULT 0 NOT NULL,
	`transports` text NOT NULL,
	`device_type` text,
	`backed_up` integer,
	`registered_at` text NOT NULL,
	`last_used_at` text,
	`removed_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `passkey_credentials_id_uq` ON `passkey_credentials` (`credential_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `passkey_credentials_webauthn_uq` ON `passkey_credentials` (`webauthn_id`);--> statement-breakpoint
CREATE INDEX `passkey_credentials_ir_idx` ON `passkey_credentials` (`ir`);--> statement-breakpoint
CREATE TABLE `passkey_sessions` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`session_id` text NOT NULL,
	`token_ref` text NOT NULL,
	`kind` text NOT NULL,
	`ir` text NOT NULL,
	`challenge` text,
	`return_url` text,
	`created_at` text NOT NULL,
	`expires_at` text NOT NULL,
	`used_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `passkey_sessions_id_uq` ON `passkey_sessions` (`session_id`);--> statement-breakpoint
CREATE INDEX `passkey_sessions_token_idx` ON `passkey_sessions` (`token_ref`);--> statement-breakpoint
CREATE TABLE `reid_tokens` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`token_ref` text NOT NULL,
	`method` text NOT NULL,
	`flow` text NOT NULL,
	`ir` text NOT NULL,
	`mpxn` text NOT NULL,
	`initiator_account_id` text NOT NULL,
	`initiator_duid` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`created_at` text NOT NULL,
	`ceremony_expires_at` text NOT NULL,
	`usable_until` text NOT NULL,
	`confirmed_at` text,
	`consumed_at` text,
	`consumed_for` text,
	`withdraw_until` text,
	`redirect_url` text,
	`link_secret_hash` text,
	`link_opened_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `reid_tokens_ref_uq` ON `reid_tokens` (`token_ref`);--> statement-breakpoint
CREATE UNIQUE INDEX `reid_tokens_link_uq` ON `reid_tokens` (`link_secret_hash`);--> statement-breakpoint
CREATE INDEX `reid_tokens_ir_idx` ON `reid_tokens` (`ir`,`seq`);--> statement-breakpoint
CREATE INDEX `reid_tokens_initiator_idx` ON `reid_tokens` (`initiator_account_id`,`mpxn`,`seq`);--> statement-breakpoint
CREATE INDEX `reid_tokens_status_idx` ON `reid_tokens` (`status`,`seq`);--> statement-breakpoint
CREATE TABLE `settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `webhook_attempts` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`event_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`at` text NOT NULL,
	`status_code` integer,
	`duration_ms` integer NOT NULL,
	`error` text
);
--> statement-breakpoint
CREATE INDEX `webhook_attempts_event_idx` ON `webhook_attempts` (`event_id`,`seq`);--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`event_id` text NOT NULL,
	`wid` text NOT NULL,
	`duid` text NOT NULL,
	`event_type` text NOT NULL,
	`ak` text,
	`payload` text NOT NULL,
	`occurred_at` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` text,
	`last_attempt_at` text,
	`last_status_code` integer,
	`last_error` text,
	`delivered_at` text,
	`alerted_at` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_deliveries_event_uq` ON `webhook_deliveries` (`event_id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_due_idx` ON `webhook_deliveries` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_wid_idx` ON `webhook_deliveries` (`wid`,`seq`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_type_idx` ON `webhook_deliveries` (`event_type`,`seq`);--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_deliveries_expiring_uq` ON `webhook_deliveries` (`wid`,`ak`) WHERE "webhook_deliveries"."event_type" = 'consent.expiring';--> statement-breakpoint
CREATE TABLE `webhooks` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`wid` text NOT NULL,
	`duid` text NOT NULL,
	`callback_url` text NOT NULL,
	`alert_email` text NOT NULL,
	`notify_days_before` integer NOT NULL,
	`event_types` text NOT NULL,
	`secret_enc` text NOT NULL,
	`previous_secret_enc` text,
	`previous_secret_until` text,
	`active` integer DEFAULT true NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`deleted_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhooks_wid_uq` ON `webhooks` (`wid`);--> statement-breakpoint
CREATE INDEX `webhooks_duid_idx` ON `webhooks` (`duid`,`seq`);--> statement-breakpoint
CREATE UNIQUE INDEX `webhooks_duid_url_uq` ON `webhooks` (`duid`,`callback_url`) WHERE "webhooks"."deleted_at" is null;