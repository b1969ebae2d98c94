import { escapeHtml as esc, humanTime, meterHint } from '../../lib/customer-text.js';

export interface ReidEmailInput {
  org: string;
  /** One sentence saying what the organisation wants. */
  purpose: string;
  mpxn: string;
  link: string;
  expiresAt: string;
  /** 'confirm' = a magic-link re-identification; 'step-up' = prove it's you before adding a passkey. */
  kind: 'confirm' | 'step-up';
  /** [ours] The organisation that registered this e-mail address (the identity record's owner). */
  heldBy: string;
}

/** "the e-mail address OctopusFlux Ltd holds for you": whose contact details a challenge used. */
export function heldByPhrase(heldBy: string, what: 'e-mail address' | 'passkey' = 'e-mail address'): string {
  const org = heldBy.replace(/[\r\n]+/g, ' ');
  return what === 'passkey' ? `the passkey set up on the details ${org} holds for you` : `the e-mail address ${org} holds for you`;
}

/** How a customer raises a concern about their entry (named in every notice). */
const CONCERN =
  'If this was not you, or you do not recognise the organisation, contact that organisation and tell it, and report it to the Data Access Register operator (Smart Energy Code Administrator), quoting the meter point and the date above. You can also see which organisations hold permissions for your meter point on the register’s transparency portal.';

function noticeHtml(subject: string, heading: string, paragraphs: string[]): string {
  return `<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(subject)}</title></head>
<body style="margin:0;padding:0;background:#f3f5f7;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1b1f24;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f3f5f7;padding:24px 12px;"><tr><td align="center">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:560px;background:#ffffff;border-radius:12px;padding:32px;">
<tr><td>
<p style="margin:0 0 20px;font-size:22px;font-weight:700;line-height:1.25;">${esc(heading)}</p>
${paragraphs.map((p) => `<p style="margin:0 0 16px;font-size:16px;line-height:1.5;">${esc(p)}</p>`).join('\n')}
</td></tr></table>
<p style="font-size:12px;color:#57606a;margin:16px 0 0;">Data Access Register</p>
</td></tr></table>
</body></html>`;
}

function longDay(iso: string): string {
  return new Date(iso).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
}

/**
 * [ours] To the previous address when a new identity record gives the meter point a
 * different e-mail: who, when, which meter point (last four digits), how to object.
 */
export function contactChangeEmail(m: { org: string; mpxn: string; at: string; change: 'email' | 'passkey' }): { subject: string; text: string; html: string } {
  const org = m.org.replace(/[\r\n]+/g, ' ');
  const subject = `${org} registered new contact details for your smart meter`;
  // Worded by what changed: a record with a different e-mail address, or one with no e-mail
  // on which a passkey was set up (a Data User onboarding with a passkey only).
  const paragraphs =
    m.change === 'email'
      ? [
          `On ${longDay(m.at)}, ${org} registered a different e-mail address for the smart meter point ${meterHint(m.mpxn)} in the Data Access Register.`,
          'From now on, requests to confirm it is you for this meter point (for example to see or withdraw who may use your smart meter data) are sent to that new address, not to this one.',
        ]
      : [
          `On ${longDay(m.at)}, a passkey was set up on new contact details that ${org} registered for the smart meter point ${meterHint(m.mpxn)} in the Data Access Register. Those details have no e-mail address.`,
          'From now on, requests to confirm it is you for this meter point (for example to see or withdraw who may use your smart meter data) are answered with that passkey, not by an e-mail to this address.',
        ];
  paragraphs.push('If you moved home or asked for this change, you need do nothing.', CONCERN);
  return { subject, text: [...paragraphs, '', '— Data Access Register'].join('\n\n'), html: noticeHtml(subject, subject, paragraphs) };
}

/** [ours] To the record's e-mail when a passkey is added to it: who asked and when. */
export function passkeyAddedEmail(m: { org: string; mpxn: string; at: string }): { subject: string; text: string; html: string } {
  const org = m.org.replace(/[\r\n]+/g, ' ');
  const subject = `A passkey was added to your Data Access Register entry (${org})`;
  const paragraphs = [
    `On ${longDay(m.at)} at ${humanTime(m.at).slice(0, 9)}, a new passkey was added to your entry in the Data Access Register for the smart meter point ${meterHint(m.mpxn)}, at the request of ${org}.`,
    'Whoever holds that passkey can confirm it is you when an organisation asks, without an e-mail to this address.',
    'If you set up a passkey just now, you need do nothing.',
    CONCERN,
  ];
  return { subject, text: [...paragraphs, '', '— Data Access Register'].join('\n\n'), html: noticeHtml(subject, subject, paragraphs) };
}

/** The magic-link e-mail: names the organisation, says what it is for and when it expires. */
export function reidentificationEmail(m: ReidEmailInput): { subject: string; text: string; html: string } {
  const org = m.org.replace(/[\r\n]+/g, ' ');
  const expires = humanTime(m.expiresAt);
  const subject = m.kind === 'step-up' ? `Confirm it's you before adding a passkey for ${org}` : `${org} is asking to confirm it's you`;
  const action =
    m.kind === 'step-up'
      ? 'Someone started adding a new passkey to your entry in the Data Access Register. Before a new passkey is accepted, we need to know it is really you.'
      : 'Before we tell them anything, we need to know it is really you.';
  const button = m.kind === 'step-up' ? "Yes, it's me — continue" : "Yes, it's me";
  const text = [
    `${org} has asked the Data Access Register to confirm your identity.`,
    '',
    m.purpose,
    '',
    action,
    '',
    `Open this link and press "${button}":`,
    m.link,
    '',
    `The link works once and expires at ${expires} (15 minutes after it was sent).`,
    `It is for the smart meter point ${meterHint(m.mpxn)}.`,
    `We sent it to ${heldByPhrase(m.heldBy)}.`,
    '',
    "If you weren't expecting this, ignore this e-mail. Nothing happens unless you open the link and confirm.",
    '',
    '— Data Access Register',
  ].join('\n');
  const html = `<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(subject)}</title></head>
<body style="margin:0;padding:0;background:#f3f5f7;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1b1f24;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f3f5f7;padding:24px 12px;"><tr><td align="center">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:560px;background:#ffffff;border-radius:12px;padding:32px;">
<tr><td>
<p style="margin:0 0 4px;font-size:13px;letter-spacing:.04em;text-transform:uppercase;color:#57606a;">Request from</p>
<p style="margin:0 0 20px;font-size:24px;font-weight:700;line-height:1.25;">${esc(org)}</p>
<p style="margin:0 0 16px;font-size:16px;line-height:1.5;">${esc(org)} has asked the Data Access Register to confirm your identity.</p>
<p style="margin:0 0 16px;font-size:16px;line-height:1.5;">${esc(m.purpose)}</p>
<p style="margin:0 0 24px;font-size:16px;line-height:1.5;">${esc(action)}</p>
<p style="margin:0 0 24px;"><a href="${esc(m.link)}" style="display:inline-block;background:#0b5cad;color:#ffffff;text-decoration:none;font-weight:600;font-size:17px;padding:14px 24px;border-radius:8px;">Review the request</a></p>
<p style="margin:0 0 16px;font-size:14px;line-height:1.5;color:#57606a;">On the page that opens, press “${esc(button)}”. The link works once and expires at <strong>${esc(expires)}</strong> (15 minutes after it was sent). It is for the smart meter point ${esc(meterHint(m.mpxn))}. We sent it to ${esc(heldByPhrase(m.heldBy))}.</p>
<p style="margin:0 0 16px;font-size:14px;line-height:1.5;color:#57606a;">If the button does not work, copy this address into your browser:<br><span style="word-break:break-all;">${esc(m.link)}</span></p>
<p style="margin:0;font-size:14px;line-height:1.5;color:#57606a;">If you weren’t expecting this, ignore this e-mail. Nothing happens unless you open the link and confirm.</p>
</td></tr></table>
<p style="font-size:12px;color:#57606a;margin:16px 0 0;">Data Access Register</p>
</td></tr></table>
</body></html>`;
  return { subject, text, html };
}

/**
 * [ours] The customer's receipt after withdrawing permission through a portal: which
 * organisation, what for, when, the meter point's last four digits, what happens next.
 * No access key, identity record or full meter point number.
 */
export function withdrawalReceiptEmail(m: { org: string; purpose: string | null; mpxn: string; at: string; via: string }): { subject: string; text: string; html: string } {
  const org = m.org.replace(/[\r\n]+/g, ' ');
  const via = m.via.replace(/[\r\n]+/g, ' ');
  const subject = `You withdrew ${org}'s access to your smart meter data`;
  const paragraphs = [
    `On ${longDay(m.at)} at ${humanTime(m.at).slice(0, 9)}, you withdrew your permission for ${org} to use data from the smart meter point ${meterHint(m.mpxn)}, through ${via}.`,
    ...(m.purpose ? [`They had used it for: ${m.purpose.replace(/[\r\n]+/g, ' ')}`] : []),
    `What happens next: the Data Access Register has told ${org}, and it must stop collecting this data. Data it has already collected is not deleted automatically; to ask for that, contact ${org}. Services that depend on this data (for example a smart tariff or an app) may stop working or change.`,
    'The record now shows as withdrawn on the register’s transparency portal, with this date.',
    'If you did not do this, contact the organisation, and report it to the Data Access Register operator (Smart Energy Code Administrator), quoting the meter point and the date above.',
  ];
  return { subject, text: [...paragraphs, '', '— Data Access Register'].join('\n\n'), html: noticeHtml(subject, subject, paragraphs) };
}

/** To a subscription's alert address when the register stops retrying an event. */
export function webhookUndeliveredEmail(m: {
  eventType: string;
  eventId: string;
  wid: string;
  callbackUrl: string;
  attempts: number;
  lastAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  /** How long the endpoint has to answer, in seconds. */
  timeoutSeconds: number;
}): { subject: string; text: string; html: string } {
  const result = `${m.lastStatusCode !== null ? `HTTP ${m.lastStatusCode}` : 'no HTTP response'}`;
  const lines = [
    `The Data Access Register could not deliver a webhook event to your endpoint.`,
    ``,
    `Event:        ${m.eventType} (${m.eventId})`,
    `Subscription: ${m.wid}`,
    `Endpoint:     ${m.callbackUrl}`,
    `Attempts:     ${m.attempts}, the last at ${m.lastAttemptAt}`,
    `Last result:  ${result}${m.lastError ? ` — ${m.lastError}` : ''}`,
    ``,
    `The register has stopped retrying this event. Check that the endpoint is reachable and answers 2xx within ${m.timeoutSeconds} seconds,`,
    `then ask the register operator to redeliver event ${m.eventId}, or review your records with GET /v1/records.`,
  ];
  const html = `<p>The Data Access Register could not deliver a webhook event to your endpoint.</p>
<table>
<tr><th align="left">Event</th><td>${esc(m.eventType)} (<code>${esc(m.eventId)}</code>)</td></tr>
<tr><th align="left">Subscription</th><td><code>${esc(m.wid)}</code></td></tr>
<tr><th align="left">Endpoint</th><td>${esc(m.callbackUrl)}</td></tr>
<tr><th align="left">Attempts</th><td>${m.attempts}, the last at ${esc(m.lastAttemptAt ?? '')}</td></tr>
<tr><th align="left">Last result</th><td>${result}${m.lastError ? ` — ${esc(m.lastError)}` : ''}</td></tr>
</table>
<p>The register has stopped retrying this event. Check that the endpoint is reachable and answers 2xx within ${m.timeoutSeconds} seconds, then ask the register operator to redeliver event <code>${esc(m.eventId)}</code>.</p>`;
  return { subject: `Webhook undelivered: ${m.eventType} ${m.eventId}`, text: lines.join('\n'), html };
}
