import { sql } from 'drizzle-orm';
import type { Register } from '../context.js';
import { endedByCotSql } from './reid-tokens.js';

/**
 * Aggregate counts for the operator overview. Grouped counts run over indexed columns;
 * expiry is applied at read time so the numbers match what verification reports.
 */
export async function registerStats(reg: Register) {
  const now = reg.clock.iso();
  const all = <T>(q: ReturnType<typeof sql>) => reg.store.rows<T>(q);
  const counts = (rows: { k: string | null; n: number }[]) => Object.fromEntries(rows.filter((r) => r.k !== null).map((r) => [r.k!, r.n]));

  const byState = counts(
    await all<{ k: string; n: number }>(sql`select case when state = 'ACTIVE' and expires_at is not null and expires_at <= ${now} then 'EXPIRED' else state end as k, count(*) as n from access_records group by k order by 1`),
  );
  const total = Object.values(byState).reduce((a, b) => a + b, 0);
  const tokenRows = await all<{ k: string; n: number }>(sql`
    select case
      when consumed_at is not null then 'consumed'
      when status in ('pending', 'confirmed') and ${endedByCotSql(reg.store.tables.reidTokens)} then 'expired'
      when status = 'pending' and ceremony_expires_at <= ${now} then 'expired'
      when status = 'confirmed' and usable_until <= ${now} then 'expired'
      else status end as k, count(*) as n
    from reid_tokens group by k order by 1`);
  const tokens = { pending: 0, confirmed: 0, expired: 0, consumed: 0, ...counts(tokenRows) };
  const deliveries = { pending: 0, undelivered: 0, delivered: 0, ...counts(await all<{ k: string; n: number }>(sql`select status as k, count(*) as n from webhook_deliveries group by status order by 1`)) };
  const one = async (q: ReturnType<typeof sql>) => (await all<{ n: number }>(q))[0].n;
  return {
    accounts: {
      'by-role': counts(await all(sql`select role as k, count(*) as n from accounts group by role order by 1`)),
      'by-status': counts(await all(sql`select status as k, count(*) as n from accounts group by status order by 1`)),
    },
    'access-records': {
      total,
      'by-state': byState,
      'by-legal-basis': counts(await all(sql`select legal_basis as k, count(*) as n from access_records where kind = 'record' group by legal_basis order by 1`)),
    },
    'identity-records': {
      total: await one(sql`select count(*) as n from identity_records`),
      anonymised: await one(sql`select count(*) as n from identity_records where anonymised_at is not null`),
    },
    reidentifications: { pending: tokens.pending, confirmed: tokens.confirmed, expired: tokens.expired, consumed: tokens.consumed },
    webhooks: {
      subscriptions: await one(sql`select count(*) as n from webhooks where deleted_at is null`),
      pending: deliveries.pending,
      undelivered: deliveries.undelivered,
      delivered: deliveries.delivered,
    },
    discovered: {
      total: await one(sql`select count(*) as n from access_records where kind = 'discovered'`),
      superseded: await one(sql`select count(*) as n from access_records where kind = 'discovered' and superseded_by is not null`),
    },
    'audit-events': await one(sql`select count(*) as n from audit_events`),
    mode: reg.config.mode,
    now: `${now.slice(0, 19)}Z`,
  };
}
