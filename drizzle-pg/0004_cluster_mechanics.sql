CREATE TABLE "sign_in_failures" (
	"key" text PRIMARY KEY NOT NULL,
	"failures" json NOT NULL,
	"last_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "event_hash" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "link_seq" bigint;--> statement-breakpoint
-- Events written so far were linked as they were written, in id order: their chain position is
-- their rank by id.
UPDATE "audit_events" SET "link_seq" = "r"."n" FROM (SELECT "seq", row_number() OVER (ORDER BY "seq") AS "n" FROM "audit_events") AS "r" WHERE "r"."seq" = "audit_events"."seq";--> statement-breakpoint
-- The first link run anchors that chain's tip (services/audit.ts, docs/security.md "The audit chain").
INSERT INTO "settings" ("key", "value", "updated_at") SELECT 'audit-anchor', 'unanchored', to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') WHERE EXISTS (SELECT 1 FROM "audit_events");--> statement-breakpoint
ALTER TABLE "mail_messages" ADD COLUMN "lease_token" text;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD COLUMN "lease_token" text;--> statement-breakpoint
CREATE INDEX "sign_in_failures_last_idx" ON "sign_in_failures" USING btree ("last_at");--> statement-breakpoint
CREATE UNIQUE INDEX "audit_events_link_uq" ON "audit_events" USING btree ("link_seq") WHERE "audit_events"."link_seq" is not null;--> statement-breakpoint
CREATE INDEX "audit_events_unlinked_idx" ON "audit_events" USING btree ("seq") WHERE "audit_events"."link_seq" is null;