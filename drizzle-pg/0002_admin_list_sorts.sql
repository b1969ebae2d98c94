CREATE INDEX "access_records_expires_at_idx" ON "access_records" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "access_records_created_at_idx" ON "access_records" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "audit_events_at_idx" ON "audit_events" USING btree ("at");