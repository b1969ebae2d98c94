import { html, type SafeHtml } from '../html.js';
import type { RecordLifecycle } from '../../services/access-records/index.js';
import { DATA_TYPE_LABELS, LEGAL_BASIS_LABELS, REVOKE_REASON_LABELS, STATE_LABELS, longDate, maskMpxn } from './labels.js';

export interface Summary {
  ak: string;
  'lead-controller-name': string | null;
  'arrangement-type': string | null;
  'controller-count': number;
  'record-metadata': {
    'controller-arrangement': { controllers: { name: string; role: string; 'contact-url': string; 'privacy-rights-url'?: string | null }[] } | null;
  } | null;
  'legal-basis': string | null;
  purpose: string | null;
  'data-types': string[];
  state: string;
  expiry: string | null;
  'discovered-access': {
    'organisation-name': string;
    'organisation-reference': string;
    'first-seen': string;
    'last-seen': string | null;
  } | null;
}

/** One line of "Who looked at your meter point": an organisation, a day, how many times. */
export interface ViewLine {
  organisation: string;
  /** ISO timestamp of its newest view that day. */
  date: string;
  count: number;
}

/** What the portal knows about a record beyond the API summary (notice, registered-at, how it ended). */
export interface RecordExtras {
  registeredAt: string | null;
  notice: { url: string; version: string } | null;
  ended: Ending | null;
  /** The register's own lifecycle columns (downloads carry them). */
  life: RecordLifecycle | null;
}

/**
 * How and when a record stopped giving access: withdrawn (with the reason, in plain words),
 * expired, or, for DISCOVERED access, superseded by a full registration.
 */
export interface Ending {
  how: 'withdrawn' | 'expired' | 'superseded';
  /** Canonical instant (or the record's own expiry value for an expiry not yet swept). */
  at: string;
  /** Withdrawn only: the register's reason code, or null when none was given. */
  reason?: string | null;
}

/** "Withdrawn on 30 November 2026 (you asked for it to stop)", "Expired on …", "Superseded by a registration on …". */
export function endingText(e: Ending): string {
  if (e.how === 'withdrawn') return `Withdrawn on ${longDate(e.at)} (${e.reason ? (REVOKE_REASON_LABELS[e.reason] ?? e.reason) : 'no reason given'})`;
  if (e.how === 'expired') return `Expired on ${longDate(e.at)}`;
  return `Superseded by a registration on ${longDate(e.at)}`;
}

export function layout(title: string, portalName: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} – ${portalName}</title>
<link rel="stylesheet" href="/portal/assets/portal.css">
<script src="/portal/assets/portal.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to main content</a>
<header class="top"><div class="wrap"><span class="brand">${portalName}</span><span class="by">Who can see your smart meter data</span></div></header>
<main id="main"><div class="wrap">${body}</div></main>
<footer class="foot"><div class="wrap">This service shows the organisations registered in the Data Access Register for your meter point. It never shows your identity details. Questions about an organisation's use of your data: contact that organisation first; you can escalate to <a href="https://www.ofgem.gov.uk/contact-us">Ofgem</a>.</div></footer>
</body>
</html>`.html;
}

export function entryPage(o: { portalName: string; csrf: string; mpxn?: string; returnUrl: string | null; error?: string; methods?: string[]; viaIr?: string }): SafeHtml {
  const methods = o.methods;
  // Arrived with ?ir=: the meter point is resolved server-side and never shown before the
  // customer has confirmed it's them (an identity record id must not reveal an MPxN).
  const meterField = o.viaIr
    ? html`<input type="hidden" name="ir" value="${o.viaIr}"><p id="via-link">You came from a link that identifies your meter point. We show its number only after you have confirmed it's you.</p>`
    : html`<label for="mpxn">Meter point number (MPAN or MPRN)</label>
  <p class="hint" id="mpxn-hint">The 13-digit MPAN is on your electricity bill; the 6–10 digit MPRN is on your gas bill.</p>
  <input type="text" id="mpxn" name="mpxn" inputmode="text" autocomplete="off" spellcheck="false" aria-describedby="mpxn-hint" value="${o.mpxn ?? ''}" required>`;
  return html`
<h1>See who has access to your smart meter data</h1>
<p class="lead">Enter your meter point number. We'll ask you to confirm it's you before showing anything.</p>
${o.error ? html`<div class="notice bad" role="alert"><p class="error">${o.error}</p></div>` : ''}
<form class="card" method="post" action="/portal/start" novalidate>
  <input type="hidden" name="csrf" value="${o.csrf}">
  ${o.returnUrl ? html`<input type="hidden" name="return" value="${o.returnUrl}">` : ''}
  ${meterField}
  ${
    methods && methods.length
      ? html`<fieldset>
    <legend>How would you like to confirm it's you?</legend>
    ${methods.map((m, i) => html`<label class="choice"><input type="radio" name="method" value="${m}" ${i === 0 ? 'checked' : ''}><span><strong>${methodLabel(m)}</strong>${methodHint(m)}</span></label>`)}
  </fieldset>`
      : ''
  }
  <div class="actions"><button type="submit">${methods && methods.length ? 'Continue' : 'Find my meter point'}</button></div>
</form>`;
}

export function methodLabel(m: string): string {
  return m === 'passkey-assert' ? 'Use your passkey' : m === 'magic-link' ? 'Email me a link' : 'Set up a passkey on this device';
}

function methodHint(m: string): string {
  return m === 'passkey-assert'
    ? 'Fastest: confirm with your fingerprint, face or screen lock.'
    : m === 'magic-link'
      ? 'We send a link to the email address an energy company holds for you, and tell you which one.'
      : 'Create a passkey for next time. You confirm it is you first, with your email or your existing passkey.';
}

export function waitingPage(o: { portalName: string; dispatchedTo: string | null; heldBy?: string | null; minutes: number }): SafeHtml {
  return html`
<h1>Check your email</h1>
<div class="card" id="waiting" data-status-url="/portal/status" data-continue-url="/portal/continue">
  <p>We've sent a link to <strong>${o.dispatchedTo ?? 'your email address'}</strong>${o.heldBy ? html`, <span id="held-by">the e-mail address <strong>${o.heldBy}</strong> holds for you</span>` : ''}. It comes from the Data Access Register and names <strong>${o.portalName}</strong>.</p>
  ${o.heldBy ? html`<p class="hint">Not your address, or you are not a customer of ${o.heldBy}? Do not continue: contact ${o.heldBy}, and report it to the Data Access Register operator.</p>` : ''}
  <ol>
    <li>Open the email on any device.</li>
    <li>Select the link, then <strong>Yes, it's me</strong>.</li>
    <li>Come back here: this page updates by itself.</li>
  </ol>
  <p aria-live="polite"><span class="spinner" aria-hidden="true"></span><span id="waiting-status">Waiting for you to confirm… The link works for ${o.minutes} minutes.</span></p>
  <p id="restart" hidden><a class="button secondary" href="/portal">Start again</a></p>
</div>
<p class="hint">Didn't get it? Check your junk folder. If your energy company doesn't have your email address, choose another way to confirm.</p>`;
}

export function messagePage(o: { title: string; body: string; tone?: 'ok' | 'bad' | 'warn'; action?: { href: string; label: string } }): SafeHtml {
  return html`
<h1>${o.title}</h1>
<div class="notice ${o.tone ?? 'warn'}" role="${o.tone === 'bad' ? 'alert' : 'status'}"><p>${o.body}</p></div>
${o.action ? html`<p><a class="button" href="${o.action.href}">${o.action.label}</a></p>` : ''}`;
}

const CONSENT = new Set(['uk-consent', 'uk-explicit-consent']);

function recordCard(r: Summary, extras: RecordExtras | undefined, csrf: string): SafeHtml {
  if (r.state === 'DISCOVERED' && r['discovered-access']) {
    const d = r['discovered-access'];
    return html`<article class="record discovered${extras?.ended ? ' dim' : ''}" aria-labelledby="h-${r.ak}">
  <header><h3 id="h-${r.ak}">${d['organisation-name']}</h3><span class="badge DISCOVERED">${STATE_LABELS.DISCOVERED}</span></header>
  ${
    extras?.ended
      ? html`<p class="ended">${endingText(extras.ended)}: this organisation was seen accessing data from your meter before it registered a legal basis, and its registration is listed with the other records.</p>`
      : html`<p>This organisation was seen accessing data from your meter, but it has <strong>not registered a legal basis</strong> in the register.</p>`
  }
  <dl class="facts">
    <dt>SEC reference</dt><dd><strong>${d['organisation-reference']}</strong></dd>
    <dt>First seen</dt><dd>${longDate(d['first-seen'])}</dd>
    <dt>Last seen</dt><dd>${longDate(d['last-seen'])}</dd>
    <dt>Data seen</dt><dd>${chips(r['data-types'])}</dd>
  </dl>
  <p class="hint">To raise a concern, contact the Smart Energy Code Administrator and quote the SEC reference above.</p>
</article>`;
  }
  const controllers = r['record-metadata']?.['controller-arrangement']?.controllers ?? [];
  const lead = controllers.find((c) => c.role === 'sole' || c.role === 'lead') ?? controllers[0];
  const others = controllers.filter((c) => c !== lead);
  const dim = r.state === 'EXPIRED' || r.state === 'REVOKED';
  const isConsent = CONSENT.has(r['legal-basis'] ?? '');
  return html`<article class="record${dim ? ' dim' : ''}" aria-labelledby="h-${r.ak}">
  <header>
    <h3 id="h-${r.ak}">${r['lead-controller-name'] ?? lead?.name ?? 'Unknown organisation'}${others.length ? html` <span class="hint">and ${others.length} other${others.length > 1 ? 's' : ''}</span>` : ''}</h3>
    <span class="badge ${r.state}">${STATE_LABELS[r.state] ?? r.state}</span>
  </header>
  <dl class="facts">
    <dt>Why they can</dt><dd>${LEGAL_BASIS_LABELS[r['legal-basis'] ?? ''] ?? r['legal-basis']}</dd>
    <dt>What for</dt><dd>${r.purpose}</dd>
    <dt>Data</dt><dd>${chips(r['data-types'])}</dd>
    <dt>Registered</dt><dd>${longDate(extras?.registeredAt)}</dd>
    ${extras?.ended ? html`<dt>Ended</dt><dd class="ended">${endingText(extras.ended)}</dd>` : html`<dt>Ends</dt><dd>${r.expiry ? longDate(r.expiry) : 'No end date'}</dd>`}
    ${extras?.notice ? html`<dt>Privacy notice</dt><dd><a href="${extras.notice.url}" rel="noopener noreferrer">Read the notice</a> (version ${extras.notice.version})</dd>` : ''}
    ${lead ? html`<dt>Contact</dt><dd><a href="${lead['contact-url']}" rel="noopener noreferrer">Contact ${lead.name}</a>${lead['privacy-rights-url'] ? html` · <a href="${lead['privacy-rights-url']}" rel="noopener noreferrer">Your privacy rights</a>` : ''}</dd>` : ''}
  </dl>
  ${
    others.length
      ? html`<details><summary>Show all ${controllers.length} organisations</summary><ul class="controllers">${controllers.map(
          (c) =>
            html`<li><strong>${c.name}</strong> (${c.role}) – <a href="${c['contact-url']}" rel="noopener noreferrer">contact</a>${c['privacy-rights-url'] ? html` · <a href="${c['privacy-rights-url']}" rel="noopener noreferrer">privacy rights</a>` : ''}</li>`,
        )}</ul></details>`
      : ''
  }
  ${
    r.state === 'ACTIVE'
      ? isConsent
        ? html`<form method="post" action="/portal/withdraw/confirm" class="actions"><input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="ak" value="${r.ak}"><button type="submit" class="secondary">Withdraw permission</button></form>`
        : html`<p class="hint">This access does not rely on your permission, so it cannot be withdrawn here. <a href="${lead?.['contact-url'] ?? '#'}" rel="noopener noreferrer">Contact the organisation</a> if you have concerns; if you are not satisfied, you can escalate to <a href="https://www.ofgem.gov.uk/contact-us">Ofgem</a>.</p>`
      : ''
  }
</article>`;
}

function chips(types: string[]): SafeHtml {
  return html`<ul class="chips">${types.map((t) => html`<li>${DATA_TYPE_LABELS[t] ?? t}</li>`)}</ul>`;
}

function whoLookedSection(views: ViewLine[]): SafeHtml {
  return html`<section class="card" aria-labelledby="who-looked">
<h2 id="who-looked">Who looked at your meter point</h2>
<p class="hint">Organisations that looked up the records for this meter point in the register, including this service when you open this page.</p>
${
  views.length
    ? html`<table class="views"><thead><tr><th scope="col">Organisation</th><th scope="col">Date</th></tr></thead><tbody>${views.map(
        (v) => html`<tr><td>${v.organisation}</td><td>${longDate(v.date)}${v.count > 1 ? html` <span class="hint">(${v.count} times)</span>` : ''}</td></tr>`,
      )}</tbody></table>`
    : html`<p>Nobody has looked at the records for this meter point yet.</p>`
}
</section>`;
}

export function recordsPage(o: { mpxn: string; records: Summary[]; extras: Map<string, RecordExtras>; views: ViewLine[]; csrf: string; returnUrl: string | null; flash?: SafeHtml | null }): SafeHtml {
  const superseded = (r: Summary) => r.state === 'DISCOVERED' && o.extras.get(r.ak)?.ended?.how === 'superseded';
  const count = (s: string) => o.records.filter((r) => r.state === s && !superseded(r)).length;
  // DISCOVERED access that a full registration has since superseded is no longer unregistered.
  const discovered = o.records.filter((r) => r.state === 'DISCOVERED' && !superseded(r));
  const order = ['DISCOVERED', 'ACTIVE', 'EXPIRED', 'REVOKED'];
  const rank = (r: Summary) => (superseded(r) ? order.length : order.indexOf(r.state));
  const sorted = [...o.records].sort((a, b) => rank(a) - rank(b));
  return html`
${o.flash ?? ''}
<h1>Who has access to your meter data</h1>
<p class="lead">Meter point <strong>${maskMpxn(o.mpxn)}</strong></p>
<div class="summary" role="list">
  <div role="listitem"><b>${count('ACTIVE')}</b><span>with access now</span></div>
  <div role="listitem"><b>${count('DISCOVERED')}</b><span>seen but not registered</span></div>
  <div role="listitem"><b>${count('EXPIRED') + count('REVOKED') + o.records.filter(superseded).length}</b><span>ended or withdrawn</span></div>
</div>
${
  discovered.length
    ? html`<div class="notice" role="status"><h2>${discovered.length} organisation${discovered.length > 1 ? 's have' : ' has'} accessed your data without registering</h2><p>They are listed first below with their Smart Energy Code reference. You can report them to the Smart Energy Code Administrator.</p></div>`
    : ''
}
${sorted.length ? sorted.map((r) => recordCard(r, o.extras.get(r.ak), o.csrf)) : html`<div class="card"><p>No organisation is registered for this meter point.</p></div>`}
${whoLookedSection(o.views)}
<h2>Keep a copy</h2>
<p><a href="/portal/history.json" download>Download my access history (JSON)</a> · <a href="/portal/history.csv" download>Download as a spreadsheet (CSV)</a></p>
<form method="post" action="/portal/signout" class="actions">
  <input type="hidden" name="csrf" value="${o.csrf}">
  <button type="submit" class="secondary">Sign out</button>
  ${o.returnUrl ? html`<a href="${o.returnUrl}">Back to the service you came from</a>` : ''}
</form>`;
}

export function withdrawConfirmPage(o: { record: Summary; csrf: string }): SafeHtml {
  const name = o.record['lead-controller-name'] ?? 'this organisation';
  return html`
<h1>Withdraw permission from ${name}?</h1>
<div class="card">
  <p>${name} uses <strong>${o.record['data-types'].map((t) => DATA_TYPE_LABELS[t] ?? t).join(', ')}</strong> for: ${o.record.purpose}</p>
  <h2>What happens</h2>
  <ul>
    <li>${name} is told <strong>immediately</strong> and must stop collecting this data.</li>
    <li>Data they have already collected is <strong>not deleted</strong> automatically. To ask for deletion, contact them.</li>
    <li>Services that depend on this data (for example a smart tariff or an app) may stop working or change.</li>
  </ul>
  <form method="post" action="/portal/withdraw" class="actions">
    <input type="hidden" name="csrf" value="${o.csrf}">
    <input type="hidden" name="ak" value="${o.record.ak}">
    <button type="submit" class="danger">Yes, withdraw permission</button>
    <a class="button secondary" href="/portal">Cancel</a>
  </form>
</div>`;
}
