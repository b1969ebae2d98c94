-- access_record_counts is kept by triggers, as on SQLite (drizzle-kit does not model
-- triggers, so this is hand-written). Every path that inserts, deletes or changes the
-- duid/state of an access record goes through them; DISCOVERED rows (no duid) are not counted.
-- The trigger names are SQLite's, so the schema parity test can compare them.
CREATE FUNCTION "access_records_count"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('DELETE', 'UPDATE') AND OLD."duid" IS NOT NULL THEN
		UPDATE "access_record_counts" SET "n" = "n" - 1 WHERE "duid" = OLD."duid" AND "state" = OLD."state";
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') AND NEW."duid" IS NOT NULL THEN
		INSERT INTO "access_record_counts" ("duid", "state", "n") VALUES (NEW."duid", NEW."state", 1)
			ON CONFLICT ("duid", "state") DO UPDATE SET "n" = "access_record_counts"."n" + 1;
	END IF;
	RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "access_records_count_insert" AFTER INSERT ON "access_records"
	FOR EACH ROW WHEN (NEW."duid" IS NOT NULL) EXECUTE FUNCTION "access_records_count"();
--> statement-breakpoint
CREATE TRIGGER "access_records_count_delete" AFTER DELETE ON "access_records"
	FOR EACH ROW WHEN (OLD."duid" IS NOT NULL) EXECUTE FUNCTION "access_records_count"();
--> statement-breakpoint
CREATE TRIGGER "access_records_count_update" AFTER UPDATE OF "duid", "state" ON "access_records"
	FOR EACH ROW WHEN (OLD."duid" IS DISTINCT FROM NEW."duid" OR OLD."state" IS DISTINCT FROM NEW."state")
	EXECUTE FUNCTION "access_records_count"();
