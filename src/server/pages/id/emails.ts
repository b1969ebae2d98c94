import { esc, humanTime, meterHint } from './layout.js';

export interface ReidEmailInput {
  org: string;
  /** One sentence saying what the organisation wants. */
  purpose: string;
  mpxn: string;
  link: string;
  expiresAt: string;
  /** 'confirm' = a magic-link re-identification; 'step-up' = prove it's you before adding a passkey. */
  kind: 'confirm' | 'step-up';
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
<p style="margin:0 0 16px;font-size:14px;line-height:1.5;color:#57606a;">On the page that opens, press “${esc(button)}”. The link works once and expires at <strong>${esc(expires)}</strong> (15 minutes after it was sent). It is for the smart meter point ${esc(meterHint(m.mpxn))}.</p>
<p style="margin:0 0 16px;font-size:14px;line-height:1.5;color:#57606a;">If the button does not work, copy this address into your browser:<br><span style="word-break:break-all;">${esc(m.link)}</span></p>
<p style="margin:0;font-size:14px;line-height:1.5;color:#57606a;">If you weren’t expecting this, ignore this e-mail. Nothing happens unless you open the link and confirm.</p>
</td></tr></table>
<p style="font-size:12px;color:#57606a;margin:16px 0 0;">Data Access Register</p>
</td></tr></table>
</body></html>`;
  return { subject, text, html };
}
