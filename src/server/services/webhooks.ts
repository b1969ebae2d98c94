import { and, eq, isNull, ne, sql, type SQL } from 'drizzle-orm';
import { newestFirstPage } from '../lib/paging.js';
import { ONE_ROW, rowByKey } from '../lib/sql.js';
import type { Register } from '../context.js';
import type { webhooks } from '../db/schema.js';
import { apiTime } from '../lib/clock.js';
import { decrypt, encrypt } from '../lib/crypto.js';
import { ApiError, conflict, notFound } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { checkCallbackHost, checkCallbackUrlForm, systemResolver, type Resolver } from '../lib/net-guard.js';
import { newSigningSecret } from '../lib/webhook-signature.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../../shared/vocabulary.js';
import { type CreateWebhookBody, type UpdateWebhookBody, type WebhookSubscription } from '../../shared/schemas/webhook.js';
import type { AccountRow } from './accounts.js';

export type WebhookRow = typeof webhooks.$inferSelect;

/** Audit detail naming the Data User when someone else (an administrator) acted for it. */
const forDuid = (account: AccountRow, actor: string) => (actor === account.accountId ? {} : { 'for-duid': account.duid });

/** After a rotation, deliveries are signed with both secrets for this long (contract §9 [ours]). */
export const ROTATION_OVERLAP_MS = 15 * 60_000;
export const DEFAULT_NOTIFY_DAYS = 30;
/** A Data User's live subscriptions, at most (keeps fan-out per event bounded). */
export const MAX_SUBSCRIPTIONS = 25;

/**
 * Webhook subscriptions (contract §9). Signing secrets are stored AES-256-GCM encrypted
 * under the register's key file; they are returned once (create, rotate) and never logged
 * or audited.
 */
export class Webhooks {
  /** DNS for the production SSRF check; tests replace it to fake name resolution. */
  resolver: Resolver = systemResolver;

  private readonly byWid;

  constructor(
    private readonly reg: Register,
    private readonly accountsByDuid: (duid: string) => Promise<AccountRow | undefined>,
  ) {
    const { webhooks } = reg.store.tables;
    this.byWid = rowByKey(reg.store, 'webhooks.by-wid', webhooks, webhooks.wid, 'wid');
  }

  toApi(row: WebhookRow): WebhookSubscription {
    return {
      wid: row.wid,
      'callback-url': row.callbackUrl,
      'alert-email': row.alertEmail,
      'notify-days-before': row.notifyDaysBefore,
      'event-types': row.eventTypes as WebhookEventType[],
      'created-at': apiTime(row.createdAt)!,
      active: row.active,
    };
  }

  find(wid: string): Promise<WebhookRow | undefined> {
    return this.byWid.find({ wid });
  }

  /** The caller's own live subscription, or 404 (another Data User's is reported as unknown). */
  async getOwned(duid: string, wid: string): Promise<WebhookRow> {
    const row = await this.find(wid);
    if (!row || row.duid !== duid || row.deletedAt) throw notFound(`Webhook ${wid}`);
    return row;
  }

  /** For the admin routes: the Data User account a Data User's duid names, or 404. */
  async dataUserAccount(duid: string): Promise<AccountRow> {
    const account = await this.accountsByDuid(duid);
    if (!account || account.role !== 'data_user') throw notFound(`Data User ${duid}`);
    return account;
  }

  /** For the admin routes: a live subscription and its Data User's account, or 404. */
  async getForAdmin(wid: string): Promise<{ row: WebhookRow; account: AccountRow }> {
    const row = await this.find(wid);
    if (!row || row.deletedAt) throw notFound(`Webhook ${wid}`);
    return { row, account: await this.dataUserAccount(row.duid) };
  }

  async list(duid: string): Promise<WebhookRow[]> {
    const { webhooks } = this.reg.store.tables;
    return await this.reg.db
      .select()
      .from(webhooks)
      .where(and(eq(webhooks.duid, duid), isNull(webhooks.deletedAt)))
      .orderBy(webhooks.seq);
  }

  /** Every live subscription (admin), newest first, optionally for one Data User. */
  async adminList(f: { duid?: string; limit: number; cursor?: number }): Promise<{ rows: WebhookRow[]; total: number; nextCursor: string | null }> {
    const { webhooks } = this.reg.store.tables;
    const filters: SQL[] = [isNull(webhooks.deletedAt)];
    if (f.duid) filters.push(eq(webhooks.duid, f.duid));
    return newestFirstPage(this.reg.db, webhooks, filters, f);
  }

  /** Validates a callback URL for this register's mode; production also resolves it (SSRF guard). */
  async checkCallbackUrl(raw: string): Promise<string> {
    const { url, problems } = checkCallbackUrlForm(raw, this.reg.config.mode);
    if (url && problems.length === 0 && this.reg.config.mode === 'production') problems.push(...(await checkCallbackHost(url, this.resolver)));
    if (problems.length || !url) throw ApiError.validation(problems);
    return url.href;
  }

  /**
   * `actor` is who acts: the Data User itself, or an administrator acting for it (the
   * admin routes); the audit names the actor, and the Data User when someone else acted.
   */
  async create(account: AccountRow, body: CreateWebhookBody, actor: string = account.accountId): Promise<{ row: WebhookRow; secret: string }> {
    const callbackUrl = await this.checkCallbackUrl(body['callback-url']);
    const secret = newSigningSecret();
    return this.reg.tx(async () => {
      const { webhooks } = this.reg.store.tables;
      // Check-then-insert (the URL is free, the count is under the cap): on several nodes, one
      // Data User's changes to its subscriptions wait for each other.
      await this.reg.store.lockKey(`webhooks:${account.duid}`);
      await this.assertUrlFree(account.duid, callbackUrl, null);
      const [{ n: live }] = await this.reg.db
        .select({ n: sql<number>`count(*)` })
        .from(webhooks)
        .where(and(eq(webhooks.duid, account.duid), isNull(webhooks.deletedAt)));
      if (live >= MAX_SUBSCRIPTIONS) throw conflict(`You already have ${live} webhook subscriptions (the most allowed); delete one first`);
      const now = this.reg.clock.iso();
      const wid = newId('wid');
      const eventTypes = body['event-types'] ? WEBHOOK_EVENT_TYPES.filter((t) => body['event-types']!.includes(t)) : [...WEBHOOK_EVENT_TYPES];
      await this.reg.db.insert(webhooks).values({
        wid,
        duid: account.duid,
        callbackUrl,
        alertEmail: body['alert-email'],
        notifyDaysBefore: body['notify-days-before'] ?? DEFAULT_NOTIFY_DAYS,
        eventTypes,
        secretEnc: encrypt(this.reg.keys.encryptionKey, secret),
        active: true,
        createdAt: now,
        updatedAt: now,
      });
      await this.reg.audit.append({ actor, eventType: 'webhook.created', subject: wid, detail: { 'callback-url': callbackUrl, 'event-types': eventTypes, ...forDuid(account, actor) } });
      return { row: (await this.find(wid))!, secret };
    });
  }

  private async assertUrlFree(duid: string, callbackUrl: string, exceptWid: string | null): Promise<void> {
    const { webhooks } = this.reg.store.tables;
    const filters = [eq(webhooks.duid, duid), eq(webhooks.callbackUrl, callbackUrl), isNull(webhooks.deletedAt)];
    if (exceptWid) filters.push(ne(webhooks.wid, exceptWid));
    const [dup] = await this.reg.db
      .select({ wid: webhooks.wid })
      .from(webhooks)
      .where(and(...filters))
      .limit(ONE_ROW);
    if (dup) throw conflict(`You already have a webhook for ${callbackUrl} (${dup.wid})`);
  }

  /** Partial update; `rotate-secret: true` returns the new secret (the old one signs too for 15 minutes). */
  async update(account: AccountRow, wid: string, body: UpdateWebhookBody, actor: string = account.accountId): Promise<{ row: WebhookRow; secret: string | null }> {
    await this.getOwned(account.duid, wid);
    const callbackUrl = body['callback-url'] !== undefined ? await this.checkCallbackUrl(body['callback-url']) : undefined;
    const secret = body['rotate-secret'] ? newSigningSecret() : null;
    return this.reg.tx(async () => {
      const { webhooks } = this.reg.store.tables;
      await this.reg.store.lockKey(`webhooks:${account.duid}`);
      const row = await this.getOwned(account.duid, wid);
      if (callbackUrl !== undefined) await this.assertUrlFree(account.duid, callbackUrl, wid);
      const now = this.reg.clock.iso();
      const changes: Partial<typeof webhooks.$inferInsert> = { updatedAt: now };
      const changed: string[] = [];
      if (callbackUrl !== undefined && callbackUrl !== row.callbackUrl) {
        changes.callbackUrl = callbackUrl;
        changed.push('callback-url');
      }
      if (body['alert-email'] !== undefined && body['alert-email'] !== row.alertEmail) {
        changes.alertEmail = body['alert-email'];
        changed.push('alert-email');
      }
      if (body['notify-days-before'] !== undefined && body['notify-days-before'] !== row.notifyDaysBefore) {
        changes.notifyDaysBefore = body['notify-days-before'];
        changed.push('notify-days-before');
      }
      if (body['event-types'] !== undefined) {
        const types = WEBHOOK_EVENT_TYPES.filter((t) => body['event-types']!.includes(t));
        if (types.join() !== row.eventTypes.join()) {
          changes.eventTypes = types;
          changed.push('event-types');
        }
      }
      if (body.active !== undefined && body.active !== row.active) {
        changes.active = body.active;
        changed.push('active');
      }
      if (secret) {
        // The outgoing secret keeps signing for ROTATION_OVERLAP_MS so receivers can switch over.
        changes.previousSecretEnc = row.secretEnc;
        changes.previousSecretUntil = this.reg.clock.isoIn(ROTATION_OVERLAP_MS);
        changes.secretEnc = encrypt(this.reg.keys.encryptionKey, secret);
      }
      await this.reg.db.update(webhooks).set(changes).where(eq(webhooks.seq, row.seq));
      if (changed.length) await this.reg.audit.append({ actor, eventType: 'webhook.updated', subject: wid, detail: { changed, ...(callbackUrl ? { 'callback-url': callbackUrl } : {}), ...forDuid(account, actor) } });
      if (secret) await this.reg.audit.append({ actor, eventType: 'webhook.secret-rotated', subject: wid, detail: { 'previous-valid-until': apiTime(changes.previousSecretUntil!), ...forDuid(account, actor) } });
      return { row: (await this.find(wid))!, secret };
    });
  }

  /** Soft delete: the subscription stops; its queued deliveries are closed as undelivered. */
  async remove(account: AccountRow, wid: string, actor: string = account.accountId): Promise<void> {
    await this.reg.tx(async () => {
      const { webhooks, webhookDeliveries } = this.reg.store.tables;
      const row = await this.getOwned(account.duid, wid);
      const now = this.reg.clock.iso();
      await this.reg.db.update(webhooks).set({ deletedAt: now, active: false, updatedAt: now }).where(eq(webhooks.seq, row.seq));
      const closed = await this.reg.db
        .update(webhookDeliveries)
        .set({ status: 'undelivered', nextAttemptAt: null, lastError: 'subscription deleted before delivery' })
        .where(and(eq(webhookDeliveries.wid, wid), eq(webhookDeliveries.status, 'pending')))
        .returning({ eventId: webhookDeliveries.eventId });
      await this.reg.audit.append({ actor, eventType: 'webhook.deleted', subject: wid, detail: { 'pending-deliveries-closed': closed.length, ...forDuid(account, actor) } });
    });
  }

  /** The secrets a delivery is signed with now: the current one, plus the previous during the overlap. */
  signingSecrets(row: WebhookRow, nowIso = this.reg.clock.iso()): string[] {
    const secrets = [decrypt(this.reg.keys.encryptionKey, row.secretEnc)];
    if (row.previousSecretEnc && row.previousSecretUntil && row.previousSecretUntil > nowIso) secrets.push(decrypt(this.reg.keys.encryptionKey, row.previousSecretEnc));
    return secrets;
  }
}
