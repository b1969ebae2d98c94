ALTER TABLE `mail_messages` ADD `sealed` text;--> statement-breakpoint
-- Magic links already in the outbox lose their secret: a one-time link must not be readable
-- from the database (its token is stored only as a hash). Messages still waiting for SMTP keep
-- theirs until delivered (the register redacts them then). Links are valid for minutes, so a
-- sandbox outbox loses nothing usable either.
UPDATE `mail_messages`
SET
  `text` = replace(`text`, m.link, substr(m.link, 1, instr(m.link, '/id/magic/') + 9) || '[redacted]'),
  `html` = replace(`html`, m.link, substr(m.link, 1, instr(m.link, '/id/magic/') + 9) || '[redacted]'),
  `links` = (
    SELECT json_group_array(CASE WHEN value LIKE '%/id/magic/%' AND value NOT LIKE '%/id/magic/[%' THEN substr(value, 1, instr(value, '/id/magic/') + 9) || '[redacted]' ELSE value END)
    FROM json_each(`mail_messages`.`links`)
  )
FROM (
  SELECT mm.`seq` AS seq, (SELECT value FROM json_each(mm.`links`) WHERE value LIKE '%/id/magic/%' AND value NOT LIKE '%/id/magic/[%' LIMIT 1) AS link
  FROM `mail_messages` mm
) AS m
WHERE m.seq = `mail_messages`.`seq` AND m.link IS NOT NULL AND `mail_messages`.`status` NOT IN ('queued', 'retrying');
