import { and, eq, sql } from 'drizzle-orm';
import type { Register } from '../context.js';
import { canonicalDate, canonicalInstantOrDate, instantMs } from '../../shared/values.js';
import { ApiError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { ONE_ROW } from '../lib/sql.js';
import { REGISTERED_AT_MAX_FUTURE_MS, type AccessRecords } from './access-records/index.js';
import type { EventPublisher } from './events.js';

export interface DiscoveredInput {
  mpxn: string;
  'organisation-name': string;
  'organisation-reference': string;
  'first-seen': string;
  'last-seen'?: string | null;
  'data-types-observed': string[];
  'source-reference': string;
}

export interface CotInput {
  mpxn: string;
  'effective-date': string;
  'source-reference': string;
}

/** What the DCC reports: DISCOVERED access and changes of tenancy (contract §8). */
export class Dcc {
  constructor(
    private readonly reg: Register,
    private readonly records: AccessRecords,
    private readonly events: EventPublisher,
  ) {}

  /** Idempotent on (mpxn, organisation-reference): a repeat updates last-seen and data types. */
  async recordDiscovered(actor: string, input: DiscoveredInput): Promise<{ ak: string; created: boolean }> {
    // Stored as canonical instants (a date means 00:00:00Z) so the sweeper and the
    // "newest last-seen wins" rule compare instants; returned as dates (contract §5).
    const firstSeen = canonicalInstantOrDate(input['first-seen']);
    const lastSeenIn = input['last-seen'] == null ? null : canonicalInstantOrDate(input['last-seen']);
    const problems = [...(firstSeen ? [] : ['first-seen must be a valid date-time or date (YYYY-MM-DD)']), ...(input['last-seen'] != null && !lastSeenIn ? ['last-seen must be a valid date-time or date (YYYY-MM-DD)'] : [])];
    // Sightings are in the past: a date ahead of the register's clock (beyond the 5 minutes
    // of clock skew allowed for registered-at) would extend the 180-day expiry at will; and
    // access cannot be last seen before it was first seen.
    const latest = this.reg.clock.now().getTime() + REGISTERED_AT_MAX_FUTURE_MS;
    const ahead = (field: string, v: string | null) =>
      v && instantMs(v) > latest ? [`${field} ${input[field as 'first-seen']} is in the future (the register's clock reads ${this.reg.clock.iso()}); at most 5 minutes ahead is accepted`] : [];
    problems.push(...ahead('first-seen', firstSeen), ...ahead('last-seen', lastSeenIn));
    // A date without a time names a day (stored as 00:00:00Z, which the request canonicaliser
    // has already written), and in the reporter's time zone that day may start up to a day
    // apart from 00:00Z: with a date on either side, only more than a day apart is refused.
    const maybeDate = (v: string | null) => !!v && v.endsWith('T00:00:00Z');
    const slack = maybeDate(firstSeen) || maybeDate(lastSeenIn) ? 86_400_000 : 0;
    if (firstSeen && lastSeenIn && instantMs(firstSeen) > instantMs(lastSeenIn) + slack) problems.push('first-seen must not be after last-seen');
    if (problems.length) throw ApiError.validation(problems);
    const reported = lastSeenIn ?? firstSeen!;
    return this.reg.tx(async () => {
      const { accessRecords } = this.reg.store.tables;
      // Check-then-insert: on several nodes, two reports of the same access wait for each other.
      await this.reg.store.lockKey(`dcc.discovered:${input.mpxn}:${input['organisation-reference'].toLowerCase()}`);
      const now = this.reg.clock.iso();
      const [existing] = await this.reg.db
        .select()
        .from(accessRecords)
        .where(and(eq(accessRecords.mpxn, input.mpxn), this.reg.store.dialect.sameIgnoringCase(accessRecords.organisationReference, input['organisation-reference']), eq(accessRecords.kind, 'discovered')))
        .orderBy(sql`${accessRecords.seq} desc`)
        .limit(ONE_ROW);
      if (existing && existing.state === 'DISCOVERED') {
        const types = [...new Set([...existing.dataTypes, ...input['data-types-observed']])];
        const newest = existing.lastSeen && instantMs(existing.lastSeen) > instantMs(reported) ? existing.lastSeen : reported;
        await this.reg.db
          .update(accessRecords)
          .set({ lastSeen: newest, dataTypes: types, organisationName: input['organisation-name'], sourceReference: input['source-reference'], updatedAt: now })
          .where(eq(accessRecords.seq, existing.seq));
        await this.reg.audit.append({ actor, eventType: 'discovered-access.seen-again', ak: existing.ak, detail: { 'last-seen': newest, 'source-reference': input['source-reference'] } });
        return { ak: existing.ak, created: false };
      }
      const ak = newId('ak');
      await this.reg.db.insert(accessRecords).values({
        ak,
        kind: 'discovered',
        mpxn: input.mpxn,
        state: 'DISCOVERED',
        dataTypes: input['data-types-observed'],
        organisationName: input['organisation-name'],
        organisationReference: input['organisation-reference'],
        firstSeen,
        lastSeen: reported,
        sourceReference: input['source-reference'],
        controllerCount: 0,
        createdAt: now,
        updatedAt: now,
      });
      await this.reg.audit.append({ actor, eventType: 'discovered-access.recorded', ak, detail: { mpxn: input.mpxn, 'organisation-reference': input['organisation-reference'] } });
      return { ak, created: true };
    });
  }

  /**
   * Records a change of tenancy and queues one tenancy.change per affected Data User,
   * listing only that Data User's ACTIVE keys. Never revokes anything. Idempotent on the triple.
   */
  async changeOfTenancy(actor: string, input: CotInput): Promise<{ created: boolean; affected: number; notified: string[] }> {
    const effectiveDate = canonicalDate(input['effective-date']);
    if (!effectiveDate) throw ApiError.validation(['effective-date must be a valid date (YYYY-MM-DD)']);
    input = { ...input, 'effective-date': effectiveDate };
    return this.reg.tx(async () => {
      const { cotEvents } = this.reg.store.tables;
      // Check-then-insert: on several nodes, two reports of the same change wait for each other.
      await this.reg.store.lockKey(`dcc.cot:${input.mpxn}:${input['effective-date']}:${input['source-reference']}`);
      const [existing] = await this.reg.db
        .select()
        .from(cotEvents)
        .where(and(eq(cotEvents.mpxn, input.mpxn), eq(cotEvents.effectiveDate, input['effective-date']), eq(cotEvents.sourceReference, input['source-reference'])))
        .limit(ONE_ROW);
      if (existing) return { created: false, affected: existing.activeRecordsAffected, notified: existing.dataUsersNotified };

      const active = (await this.records.forMeterPoint(input.mpxn, { state: 'ACTIVE' })).filter((r) => r.kind === 'record');
      const byDuid = new Map<string, string[]>();
      for (const r of active) byDuid.set(r.duid!, [...(byDuid.get(r.duid!) ?? []), r.ak]);
      const notified = [...byDuid.keys()].sort();
      for (const duid of notified) {
        await this.events.publish(duid, 'tenancy.change', {
          mpxn: input.mpxn,
          'effective-date': input['effective-date'],
          'source-reference': input['source-reference'],
          'affected-aks': byDuid.get(duid)!,
        });
      }
      await this.reg.db.insert(cotEvents).values({
        ...{ mpxn: input.mpxn, effectiveDate: input['effective-date'], sourceReference: input['source-reference'] },
        activeRecordsAffected: active.length,
        dataUsersNotified: notified,
        createdBy: actor,
        createdAt: this.reg.clock.iso(),
      });
      await this.reg.audit.append({ actor, eventType: 'cot.recorded', detail: { mpxn: input.mpxn, 'effective-date': input['effective-date'], 'active-records-affected': active.length, 'data-users-notified': notified } });
      return { created: true, affected: active.length, notified };
    });
  }
}
