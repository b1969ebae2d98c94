import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App, Deps } from '../../http/types.js';
import { canonicalMpxn, mpanCheckDigitOk, MPAN_CHECK_WARNING, MPXN_PATTERN } from '../../../shared/values.js';
import { html, pageCsp, type SafeHtml } from '../html.js';
import { PortalApi } from './api-client.js';
import { PORTAL_CSS, PORTAL_JS } from './assets.js';
import { PortalCookies, type Session } from './session.js';
import type { AccountRow } from '../../services/accounts.js';
import type { MeterPointView } from '../../services/access-records/index.js';
import { entryPage, layout, messagePage, recordsPage, waitingPage, withdrawConfirmPage, type Ending, type RecordExtras, type Summary, type ViewLine } from './views.js';
import type { RecordLifecycle } from '../../services/access-records/index.js';
import { apiTime } from '../../lib/clock.js';
import { csvDocument } from '../../../shared/csv.js';
import type { TokenMethod } from '../../../shared/vocabulary.js';

const MPXN = new RegExp(MPXN_PATTERN);
/** What the customer typed, in the register's canonical MPxN form where it is one (spaces, hyphens, the bill's full S-box number). */
const typedMpxn = (typed: string): string => canonicalMpxn(typed) ?? typed.trim().toUpperCase();
/** The order the portal offers the methods a customer has (every TOKEN_METHODS value, once). */
const METHOD_PREFERENCE: readonly string[] = ['passkey-assert', 'magic-link', 'passkey-register'] satisfies readonly TokenMethod[];
/** How many of a meter point's newest views the portal reads to show who looked. */
const VIEWS_READ = 2000;
/** How many (organisation, day) lines "Who looked at your meter point" shows at most. */
const VIEWS_SHOWN = 50;

/** Views grouped per organisation and day, newest first, as the customer is shown them. */
function whoLooked(views: MeterPointView[]): ViewLine[] {
  const lines = new Map<string, ViewLine>();
  for (const v of views) {
    const key = `${v.at.slice(0, 10)}|${v.duid}`;
    const line = lines.get(key);
    if (line) line.count++;
    else if (lines.size < VIEWS_SHOWN) lines.set(key, { organisation: v.displayName, date: v.at, count: 1 });
  }
  return [...lines.values()];
}

/**
 * The customer transparency portal at /portal (contract §11). It acts server-side as the
 * configured portal account through the register's own API: the customer re-identifies for
 * real (magic link or passkey), then sees every record for that one meter point and can
 * withdraw consent-based ones.
 */
export function registerPortal(app: App, deps: Deps, portalAccountId = 'portal_ops'): void {
  const { reg, svc } = deps;
  const api = new PortalApi(app, reg, svc, portalAccountId);
  const cookies = new PortalCookies(reg);
  /**
   * The session cookie, while its re-identification token still speaks for the meter point: a
   * change of tenancy reported after the customer's move-in ends it at once (docs/security.md),
   * not only when its 30 minutes are up.
   */
  const liveSession = async (req: FastifyRequest) => {
    const session = await cookies.session(req);
    const token = session ? await svc.tokens.find(session.tokenRef) : undefined;
    return session && token && !(await svc.tokens.endedByChangeOfTenancy(token)) ? session : null;
  };
  const mailsSentFor = async (tokenRef: string) => (await svc.mail.forRef([tokenRef])).length > 0;
  const continueUrl = () => `${reg.origin}/portal/continue`;
  const portalName = async () => (await api.account())?.displayName ?? 'Data Access Register';

  const send = async (reply: FastifyReply, title: string, body: SafeHtml, status = 200) =>
    reply
      .status(status)
      .header('content-security-policy', pageCsp())
      .header('x-frame-options', 'DENY')
      .header('cache-control', 'no-store')
      // same-origin (not no-referrer): otherwise browsers send `Origin: null` on our own form POSTs.
      .header('referrer-policy', 'same-origin')
      .type('text/html; charset=utf-8')
      .send(layout(title, await portalName(), body));

  /** A `return` URL is honoured only when it exactly matches a pre-registered one. */
  const validReturn = async (value: unknown): Promise<string | null> => {
    if (typeof value !== 'string' || value.length > 2000) return null;
    return (await svc.accounts.isRegisteredReturnUrl(value)) ? value : null;
  };

  const unavailable = (reply: FastifyReply) => send(reply, 'Unavailable', messagePage({ title: 'The portal is not available', body: 'This register has no active portal account configured. Please try again later.', tone: 'bad' }), 503);

  const refuse = (reply: FastifyReply) =>
    send(reply, 'Session expired', messagePage({ title: 'Please start again', body: 'Your form expired or came from somewhere else. Nothing was changed.', tone: 'bad', action: { href: '/portal', label: 'Start again' } }), 403);

  // ---- assets --------------------------------------------------------------------------
  app.get('/portal/assets/portal.css', { schema: { hide: true } }, async (_req, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(PORTAL_CSS));
  app.get('/portal/assets/portal.js', { schema: { hide: true } }, async (_req, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600').send(PORTAL_JS));

  // ---- entry / records -----------------------------------------------------------------
  app.get<{ Querystring: Record<string, string | undefined> }>('/portal', { schema: { hide: true } }, async (req, reply) => {
    if (!(await api.account())) return unavailable(reply);
    const csrf = cookies.csrf(req, reply);
    const session = await liveSession(req);
    let mpxn = typeof req.query.mpxn === 'string' ? typedMpxn(req.query.mpxn) : undefined;
    let viaIr: string | undefined;
    if (!mpxn && typeof req.query.ir === 'string') {
      // Resolved server-side; neither the ir's meter point nor whether it exists is shown.
      const resolved = await mpxnOfIr(req.query.ir);
      viaIr = req.query.ir;
      if (resolved) mpxn = resolved;
    }
    const returnUrl = (await validReturn(req.query.return)) ?? session?.returnUrl ?? null;
    if (viaIr && !(session && mpxn === session.mpxn)) {
      return send(reply, 'Confirm it is you', await entryWithMethods(mpxn ?? null, csrf, returnUrl, session ? 'You are signed in for a different meter point. Confirm it is you for this one.' : undefined, viaIr));
    }
    // A session opens exactly one meter point; asking for another means re-identifying.
    if (session && (!mpxn || mpxn === session.mpxn)) {
      if (mpxn) return reply.redirect('/portal'); // keep the MPxN out of the address bar
      return send(reply, 'Your meter point', await recordsView(session, (await api.account())!, csrf, await flashFor(req)));
    }
    if (mpxn && MPXN.test(mpxn)) return send(reply, 'Confirm it is you', await entryWithMethods(mpxn, csrf, returnUrl, session ? 'You are signed in for a different meter point. Confirm it is you for this one.' : undefined));
    return send(reply, 'Find your meter point', entryPage({ portalName: await portalName(), csrf, returnUrl, mpxn, error: mpxn ? 'That does not look like a meter point number. Check it and try again.' : undefined }));
  });

  /** The MPxN behind an `ir` link, for server-side use only (null when unknown or anonymised). */
  async function mpxnOfIr(ir: unknown): Promise<string | null> {
    if (typeof ir !== 'string' || !/^ir_[0-9a-f]{24}$/.test(ir)) return null;
    const identity = await svc.identities.find(ir);
    return identity && !identity.anonymisedAt && identity.mpxn ? identity.mpxn : null;
  }

  async function entryWithMethods(mpxn: string | null, csrf: string, returnUrl: string | null, note?: string, viaIr?: string): Promise<SafeHtml> {
    const exists = mpxn ? await api.call('GET', `/v1/identity-records/exists?mpxn=${encodeURIComponent(mpxn)}`) : null;
    const methods = exists?.status === 200 ? METHOD_PREFERENCE.filter((m) => (exists.body['available-methods'] as string[]).includes(m)) : [];
    // The check-digit warning is for a number the visitor typed; an ir link shows no number.
    const warning = mpxn && !viaIr ? checkDigitWarning(mpxn) : '';
    if (!mpxn || !exists?.body.exists) {
      return html`${warning}${entryPage({ portalName: await portalName(), csrf, returnUrl, mpxn: viaIr ? undefined : (mpxn ?? undefined) })}<div class="notice" role="status"><p>No energy company has registered this meter point with the register yet, so there is nothing to show. If you think this is wrong, check the number on your bill.</p></div>`;
    }
    if (methods.length === 0) {
      // [ours] Records exist, but none holds an e-mail or passkey: nobody can prove to be the customer.
      return html`${warning}${entryPage({ portalName: await portalName(), csrf, returnUrl, mpxn: viaIr ? undefined : mpxn })}<div class="notice" role="status"><p>The register has no e-mail address or passkey for this meter point, so it cannot confirm it is you. Ask your energy company to add your e-mail address to its registration.</p></div>`;
    }
    return html`${note ? html`<div class="notice" role="status"><p>${note}</p></div>` : ''}${warning}${entryPage({ portalName: await portalName(), csrf, returnUrl, mpxn: viaIr ? undefined : mpxn, methods, viaIr })}`;
  }

  /** Before any challenge starts: an MPAN whose check digit is wrong was probably mistyped (a warning, not a block). */
  function checkDigitWarning(mpxn: string): SafeHtml | string {
    return mpanCheckDigitOk(mpxn) ? '' : html`<div class="notice" role="alert"><p>${MPAN_CHECK_WARNING}</p></div>`;
  }

  app.post<{ Body: Record<string, string | undefined> }>('/portal/start', { schema: { hide: true } }, async (req, reply) => {
    if (!(await api.account())) return unavailable(reply);
    const body = req.body ?? {};
    if (!cookies.checkCsrf(req, body.csrf)) return refuse(reply);
    const csrf = cookies.csrf(req, reply);
    const returnUrl = await validReturn(body.return);
    const viaIr = body.ir && !body.mpxn ? body.ir : undefined;
    const mpxn = viaIr ? ((await mpxnOfIr(viaIr)) ?? '') : typedMpxn(body.mpxn ?? '');
    if (viaIr && !mpxn) return send(reply, 'Confirm it is you', await entryWithMethods(null, csrf, returnUrl, undefined, viaIr), 400);
    if (!MPXN.test(mpxn)) return send(reply, 'Find your meter point', entryPage({ portalName: await portalName(), csrf, returnUrl, mpxn, error: 'Enter a valid meter point number: 13 digits (MPAN) or 6–10 digits (MPRN).' }), 400);
    const method = body.method;
    if (!method || !METHOD_PREFERENCE.includes(method)) return send(reply, 'Confirm it is you', await entryWithMethods(mpxn, csrf, returnUrl, undefined, viaIr));

    // [ours] Anonymous starts are limited per client address (req.ip: the socket address, or
    // what a trusted proxy reports) and, for e-mail, for everyone together; passkey-assert
    // has its own allowance, so a stranger cannot lock a customer out of their passkey.
    const wait = svc.reidentification.admitAnonymousStart(req.ip, method);
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      return send(
        reply,
        'Too many attempts',
        messagePage({ title: 'Please wait a little', body: 'There have been many requests from your connection recently. Please wait a few minutes and try again.', tone: 'bad', action: { href: '/portal', label: 'Back' } }),
        429,
      );
    }

    const started = await api.call('POST', '/v1/identity-records/reidentify', {
      mpxn,
      method,
      ...(method === 'magic-link' ? { 'redirect-url': continueUrl() } : { 'passkey-return-url': continueUrl() }),
    });
    if (started.status === 429)
      return send(
        reply,
        'Too many attempts',
        messagePage({ title: 'Please wait a little', body: 'There have been several requests for this meter point recently. Please wait a few minutes and try again.', tone: 'bad', action: { href: '/portal', label: 'Back' } }),
        429,
      );
    if (started.status !== 200) {
      // Never echo a message that could name the meter point of an ir link.
      const message = viaIr ? 'The register could not start the check. Choose another way to confirm it is you.' : (started.body.errors?.[0]?.message ?? 'The register could not start the check.');
      return send(reply, 'Confirm it is you', html`<div class="notice bad" role="alert"><p>${message}</p></div>${await entryWithMethods(mpxn, csrf, returnUrl, undefined, viaIr)}`, started.status >= 500 ? 502 : 400);
    }
    const details = started.body['magic-link'] ?? started.body.passkey;
    // Only a start that sent an e-mail uses up the e-mail starts of everyone together.
    if (started.body['magic-link'] || (await mailsSentFor(details['token-ref']))) svc.reidentification.anonymousEmailSent();
    const token = await svc.tokens.find(details['token-ref']);
    const heldBy = token ? (await svc.reidentification.context(token)).heldBy : null;
    cookies.setPending(reply, { mpxn, tokenRef: details['token-ref'], method, returnUrl, dispatchedTo: started.body['magic-link']?.['dispatched-to'] ?? null, heldBy });
    if (started.body.passkey) return reply.redirect(started.body.passkey['redirect-url'], 303);
    return send(reply, 'Check your email', waitingPage({ portalName: await portalName(), dispatchedTo: started.body['magic-link']['dispatched-to'], heldBy, minutes: 15 }));
  });

  app.get('/portal/status', { schema: { hide: true } }, async (req, reply) => {
    const pending = cookies.pending(req);
    reply.header('cache-control', 'no-store');
    // Confirmed in another tab of this browser: that tab opened the session already.
    if (!pending) return (await cookies.session(req)) ? { status: 'confirmed' } : { status: 'unknown', message: 'This request has expired. Please start again.' };
    const res = await api.call('GET', `/v1/identity-records/reidentify/${pending.tokenRef}`);
    if (res.status !== 200) return { status: 'unknown', message: 'This request is no longer valid. Please start again.' };
    return { status: res.body.status };
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/portal/continue', { schema: { hide: true } }, async (req, reply) => {
    const pending = cookies.pending(req);
    const given = req.query['dar-reid-token'] ?? req.query['dar-passkey-token'];
    if (!pending && (await cookies.session(req))) return reply.redirect('/portal', 303);
    if (!pending || (given && given !== pending.tokenRef)) {
      // Confirmed on another device or browser: the session belongs to the window that started.
      return send(reply, 'Confirmed', messagePage({ title: "Thanks, you're confirmed", body: 'Go back to the window where you started: it will show your records in a few seconds. You can close this one.', tone: 'ok' }));
    }
    const status = await api.call('GET', `/v1/identity-records/reidentify/${pending.tokenRef}`);
    if (status.status !== 200 || status.body.status !== 'confirmed') {
      if (status.body?.status === 'pending') return send(reply, 'Check your email', waitingPage({ portalName: await portalName(), dispatchedTo: pending.dispatchedTo, heldBy: pending.heldBy ?? null, minutes: 15 }));
      return send(reply, 'Expired', messagePage({ title: 'That took too long', body: 'The confirmation expired before it was completed. Please start again.', tone: 'bad', action: { href: '/portal', label: 'Start again' } }), 410);
    }
    // Consumes the token and opens the 30-minute withdrawal window.
    const opened = await api.call('GET', `/v1/meter-points/${encodeURIComponent(pending.mpxn)}/access-records?reidentification-token=${pending.tokenRef}`);
    if (opened.status !== 200) {
      return send(
        reply,
        'Please start again',
        messagePage({ title: 'Please start again', body: opened.body.errors?.[0]?.message ?? 'This confirmation can no longer be used.', tone: 'bad', action: { href: '/portal', label: 'Start again' } }),
        403,
      );
    }
    cookies.openSession(reply, { mpxn: pending.mpxn, tokenRef: pending.tokenRef, returnUrl: pending.returnUrl });
    return reply.redirect('/portal', 303);
  });

  // ---- records of the session's meter point --------------------------------------------
  /** How a record ended, from the register's own columns (never the record's old future expiry). */
  function endingOf(state: string, life: RecordLifecycle): Ending | null {
    if (state === 'REVOKED') return life.revokedAt ? { how: 'withdrawn', at: life.revokedAt, reason: life.revokeReason } : null;
    // Expired by the sweeper (expired-at), or past its expiry and not yet swept.
    // The earlier of its expiry and when the register marked it EXPIRED: a record submitted
    // already EXPIRED ended at its expiry, not when it was registered.
    if (state === 'EXPIRED') {
      const at = [life.expiresAt, life.expiredAt].filter((v): v is string => !!v).sort()[0];
      return at ? { how: 'expired', at } : null;
    }
    if (state === 'DISCOVERED' && life.supersededAt) return { how: 'superseded', at: life.supersededAt };
    return null;
  }

  async function sessionRecords(session: Session): Promise<{ records: Summary[]; extras: Map<string, RecordExtras> }> {
    const extras = new Map<string, RecordExtras>();
    const lifecycle = await svc.records.meterPointLifecycle(session.mpxn);
    const records = (await svc.records.meterPointRecords(session.mpxn)).map(({ summary, record }) => {
      const shared = record.notice?.['shared-notice'] ?? record.notice?.notices?.[0] ?? null;
      const life = lifecycle.get(summary.ak);
      extras.set(summary.ak, {
        registeredAt: record['access-event']['registered-at'],
        notice: shared ? { url: shared['terms-url'], version: shared['notice-version'] } : null,
        ended: life ? endingOf(summary.state, life) : null,
        life: life ?? null,
      });
      return summary as Summary;
    });
    return { records, extras };
  }

  /**
   * The session's records as the portal shows or downloads them. Showing them is a view of the
   * meter point by the portal account, audited like a listing (contract §5).
   */
  async function viewedRecords(session: Session, portal: AccountRow): ReturnType<typeof sessionRecords> {
    await reg.tx(() => svc.records.recordView(portal, session.mpxn, 'portal-page'));
    return sessionRecords(session);
  }

  async function recordsView(session: Session, portal: AccountRow, csrf: string, flash: SafeHtml | null): Promise<SafeHtml> {
    const { records, extras } = await viewedRecords(session, portal);
    const views = whoLooked(await svc.records.meterPointViews(session.mpxn, VIEWS_READ));
    return recordsPage({ mpxn: session.mpxn, records, extras, views, csrf, returnUrl: session.returnUrl, flash });
  }

  async function flashFor(req: FastifyRequest): Promise<SafeHtml | null> {
    const q = req.query as Record<string, string | undefined>;
    if (q.withdrawn && /^ak_[0-9a-f]{24}$/.test(q.withdrawn)) {
      const session = await cookies.session(req);
      const back = session?.returnUrl ? withQuery(session.returnUrl, { 'dar-action': 'withdrawn', ak: q.withdrawn }) : null;
      return html`<div class="notice ok" role="status"><h2>Permission withdrawn</h2><p>The organisation has been told. The record now shows as withdrawn, with today's date. If the register holds your e-mail address, we have sent you a receipt.</p>${back ? html`<p><a href="${back}">Return to the service you came from</a></p>` : ''}</div>`;
    }
    return null;
  }

  app.post<{ Body: Record<string, string | undefined> }>('/portal/withdraw/confirm', { schema: { hide: true } }, async (req, reply) => {
    const session = await liveSession(req);
    if (!session) return reply.redirect('/portal', 303);
    if (!cookies.checkCsrf(req, req.body?.csrf)) return refuse(reply);
    const csrf = cookies.csrf(req, reply);
    const record = (await sessionRecords(session)).records.find((r) => r.ak === req.body?.ak);
    if (!record || record.state !== 'ACTIVE') return reply.redirect('/portal', 303);
    return send(reply, 'Withdraw permission', withdrawConfirmPage({ record, csrf }));
  });

  app.post<{ Body: Record<string, string | undefined> }>('/portal/withdraw', { schema: { hide: true } }, async (req, reply) => {
    const session = await liveSession(req);
    if (!session) return reply.redirect('/portal', 303);
    if (!cookies.checkCsrf(req, req.body?.csrf)) return refuse(reply);
    const ak = req.body?.ak ?? '';
    // Only records on the session's own meter point (the API checks again).
    if (!(await sessionRecords(session)).records.some((r) => r.ak === ak)) return reply.redirect('/portal', 303);
    const res = await api.call('DELETE', `/v1/access-records/${encodeURIComponent(ak)}?reason=customer-request&reidentification-token=${session.tokenRef}`);
    if (res.status === 200) return reply.redirect(`/portal?withdrawn=${ak}`, 303);
    if (res.status === 422) {
      cookies.clear(reply);
      return send(
        reply,
        'Confirm it is you again',
        messagePage({
          title: 'Please confirm it is you again',
          body: 'For your security, withdrawing permission is possible for 30 minutes after you confirm who you are. Confirm again to continue.',
          action: { href: `/portal?mpxn=${encodeURIComponent(session.mpxn)}`, label: 'Confirm again' },
        }),
        403,
      );
    }
    return send(
      reply,
      'Could not withdraw',
      messagePage({ title: 'That did not work', body: res.body.errors?.[0]?.message ?? 'The register refused the withdrawal.', tone: 'bad', action: { href: '/portal', label: 'Back to your records' } }),
      res.status === 409 ? 409 : 400,
    );
  });

  app.get('/portal/history.json', { schema: { hide: true } }, async (req, reply) => {
    const session = await liveSession(req);
    if (!session) return reply.status(401).type('application/json').send({ error: 'Confirm it is you first at /portal' });
    const portal = await api.account();
    if (!portal) return unavailable(reply);
    const { records, extras } = await viewedRecords(session, portal);
    reply.header('content-disposition', 'attachment; filename="my-meter-access-history.json"').header('cache-control', 'no-store');
    return { 'meter-point': session.mpxn, 'generated-at': `${reg.clock.iso().slice(0, 19)}Z`, 'access-records': records.map((r) => ({ ...r, ...historyDates(extras.get(r.ak)) })) };
  });

  app.get('/portal/history.csv', { schema: { hide: true } }, async (req, reply) => {
    const session = await liveSession(req);
    if (!session) return reply.status(401).type('text/plain').send('Confirm it is you first at /portal');
    const portal = await api.account();
    if (!portal) return unavailable(reply);
    const { records, extras } = await viewedRecords(session, portal);
    const dateColumns = ['ended-at', 'revoked-at', 'revocation-reason', 'expired-at', 'superseded-at', 'first-seen', 'last-seen'] as const;
    const header = ['access-key', 'organisation', 'state', 'legal-basis', 'purpose', 'data-types', 'registered-at', 'expiry', 'organisation-reference', ...dateColumns];
    const rows = records.map((r) => {
      const dates = historyDates(extras.get(r.ak));
      return [
        r.ak,
        r['lead-controller-name'] ?? r['discovered-access']?.['organisation-name'],
        r.state,
        r['legal-basis'],
        r.purpose,
        r['data-types'].join(' '),
        extras.get(r.ak)?.registeredAt,
        r.expiry,
        r['discovered-access']?.['organisation-reference'],
        ...dateColumns.map((c) => dates[c]),
      ];
    });
    return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="my-meter-access-history.csv"').header('cache-control', 'no-store').send(csvDocument(header, rows));
  });

  app.post<{ Body: Record<string, string | undefined> }>('/portal/signout', { schema: { hide: true } }, async (req, reply) => {
    if (!cookies.checkCsrf(req, req.body?.csrf)) return refuse(reply);
    await cookies.signOut(req, reply);
    return send(reply, 'Signed out', messagePage({ title: 'You are signed out', body: 'Nothing about your meter point is kept in this browser.', tone: 'ok', action: { href: '/portal', label: 'Start again' } }));
  });
}

/**
 * The dates a download carries next to each record, the same as the page shows: when access
 * ended and how (withdrawn with its reason, expired, superseded), and when DISCOVERED access
 * was first and last seen. Canonical instants; null when not applicable.
 */
function historyDates(extras: RecordExtras | undefined): Record<'ended-at' | 'revoked-at' | 'revocation-reason' | 'expired-at' | 'superseded-at' | 'first-seen' | 'last-seen', string | null> {
  const life = extras?.life;
  const ended = extras?.ended ?? null;
  const discovered = life?.kind === 'discovered';
  return {
    'ended-at': ended ? (apiTime(ended.at) ?? ended.at) : null,
    'revoked-at': apiTime(life?.revokedAt),
    'revocation-reason': life?.revokedAt ? (life.revokeReason ?? null) : null,
    'expired-at': ended?.how === 'expired' ? (apiTime(ended.at) ?? ended.at) : null,
    'superseded-at': apiTime(life?.supersededAt),
    'first-seen': discovered ? apiTime(life?.firstSeen) : null,
    'last-seen': discovered ? apiTime(life?.lastSeen) : null,
  };
}

function withQuery(url: string, params: Record<string, string>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}
