CREATE TABLE "access_record_count_deltas" (
	"duid" text NOT NULL,
	"state" text NOT NULL,
	"n" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "access_record_count_deltas_duid_idx" ON "access_record_count_deltas" USING btree ("duid","state");--> statement-breakpoint
-- The count triggers append a change per record instead of updating the Data User's count row:
-- that update held the row's lock until commit, so concurrent creates of one Data User
-- committed one at a time (docs/performance.md "PostgreSQL"). The changes are folded into
-- access_record_counts by a background job (services/record-counts.ts); a count reads both.
-- The triggers themselves (names, events, conditions) stay as they are.
CREATE OR REPLACE FUNCTION "access_records_count"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('DELETE', 'UPDATE') AND OLD."duid" IS NOT NULL THEN
		INSERT INTO "access_record_count_deltas" ("duid", "state", "n") VALUES (OLD."duid", OLD."state", -1);
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') AND NEW."duid" IS NOT NULL THEN
		INSERT INTO "access_record_count_deltas" ("duid", "state", "n") VALUES (NEW."duid", NEW."state", 1);
	END IF;
	RETURN NULL;
END;
$$;
