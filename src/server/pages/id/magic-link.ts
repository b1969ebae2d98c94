import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { App, Deps } from '../../http/types.js';
import { sha256Hex } from '../../lib/crypto.js';
import { ENDED_PAGE_TEXT, type CeremonyContext, type LinkOutcome } from '../../services/reidentification/index.js';
import { checkCsrf, cookieOptions, issueCsrf, originAllowed, STEP_UP_COOKIE } from './csrf.js';
import { heldByPhrase } from '../../services/mail/templates.js';
import { html, humanTime, messagePage, sendPage } from './layout.js';

const SecretParams = Type.Object({ secret: Type.String({ maxLength: 200 }) });

/**
 * The magic-link landing page: /id/magic/<secret>.
 * GET/HEAD only shows who is asking and a "Yes, it's me" button (mail scanners that
 * prefetch links change nothing); the button's POST, CSRF-protected, confirms.
 */
export function registerMagicLinkPages(app: App, { reg, svc }: Deps): void {
  const notValid = (reply: FastifyReply) => messagePage(reply, 404, "This link isn't valid", ['We could not find this confirmation link. Check that you opened the whole link from the e-mail, or ask the organisation to send a new one.']);

  const finished = (reply: FastifyReply, o: Exclude<LinkOutcome, { state: 'confirmed' | 'stepped-up' }>) => {
    if (o.state === 'unknown') return notValid(reply);
    if (o.state === 'cancelled')
      return messagePage(
        reply,
        410,
        'This request was cancelled',
        ['This confirmation link was cancelled and can no longer be used. Nothing has changed.', `If you still need to confirm it's you, ask ${o.ctx.org} to start again.`],
        o.ctx.org,
        'warn',
      );
    if (o.state === 'used' && o.confirmedAt) {
      // Reopened after confirming (another tab, the same e-mail again): that is success, not an error.
      const next =
        o.kind === 'step-up'
          ? 'Continue on the device where you pressed the button, to create your passkey there. To create it on this device instead, go back to the passkey page and ask for a new link.'
          : `${o.ctx.org} can go ahead. Nothing more to do here: each link works once. You can close this page.`;
      return messagePage(reply, 200, 'You’ve already confirmed it’s you', [`You confirmed with this link at ${humanTime(o.confirmedAt)}.`, next], o.ctx.org, 'ok');
    }
    if (o.state === 'used')
      return messagePage(
        reply,
        410,
        'This request has ended',
        ['This link is no longer needed: the request it belongs to has been completed or cancelled. Nothing has changed.', `If you still need to confirm it's you, ask ${o.ctx.org} to send a new link.`],
        o.ctx.org,
        'warn',
      );
    if (o.state === 'ended') return messagePage(reply, 410, 'This link is no longer valid', [ENDED_PAGE_TEXT], o.ctx.org, 'warn');
    return messagePage(reply, 410, 'This link has expired', ['Confirmation links work for 15 minutes. Nothing has changed.', `If you still want to go ahead, ask ${o.ctx.org} to send a new link.`], o.ctx.org, 'warn');
  };

  const confirmPage = (reply: FastifyReply, ctx: CeremonyContext, kind: 'confirm' | 'step-up', expiresAt: string, secret: string, csrf: string) => {
    const yes = kind === 'step-up' ? "Yes, it's me — continue" : "Yes, it's me";
    const redirectOrigin = ctx.token.redirectUrl ? new URL(ctx.token.redirectUrl).origin : null;
    return sendPage(reply, 200, {
      title: kind === 'step-up' ? 'Confirm it’s you before adding a passkey' : `Confirm it’s you for ${ctx.org}`,
      org: ctx.org,
      formTargets: redirectOrigin && redirectOrigin !== reg.origin ? [redirectOrigin] : [],
      body: html`
<h1>${kind === 'step-up' ? 'Is it you adding a new passkey?' : 'Is it you?'}</h1>
<p>${ctx.purpose}</p>
<ul class="facts">
  <li><strong>Meter point:</strong> ${ctx.meter}</li>
  <li><strong>This link expires:</strong> ${humanTime(expiresAt)}</li>
  <li id="held-by"><strong>Sent to:</strong> ${heldByPhrase(ctx.heldBy)}</li>
</ul>
<p>${kind === 'step-up' ? 'Press the button only if you started adding a passkey just now. You will then create the passkey on this device.' : `Press the button only if you asked ${ctx.org} to do this. Your name, address and e-mail address are not shared with them.`}</p>
<form method="post" action="/id/magic/${secret}">
  <input type="hidden" name="csrf" value="${csrf}">
  <div class="actions"><button type="submit">${yes}</button></div>
</form>
<p class="muted">If this wasn’t you, close this page. Nothing happens unless you press the button.</p>`,
    });
  };

  app.get('/id/magic/:secret', { schema: { hide: true, params: SecretParams } }, async (req, reply) => {
    const view = await svc.reidentification.links.openLink(req.params.secret);
    if (view.state !== 'ready') return finished(reply, view);
    const csrf = issueCsrf(reg, req, reply, `magic:${sha256Hex(req.params.secret)}`);
    return confirmPage(reply, view.ctx, view.kind, view.expiresAt, req.params.secret, csrf);
  });

  app.post(
    '/id/magic/:secret',
    {
      schema: { hide: true, params: SecretParams, body: Type.Object({ csrf: Type.Optional(Type.String({ maxLength: 200 })) }) },
    },
    async (req, reply) => {
      const secret = req.params.secret;
      const again = html`<a href="/id/magic/${secret}">Open the confirmation page again</a> and press the button there.`;
      if (!originAllowed(reg, req)) return messagePage(reply, 403, 'This request came from another website', ['For your safety, confirmations are only accepted from this page.', again], null, 'warn');
      if (!checkCsrf(reg, req, `magic:${sha256Hex(secret)}`, req.body?.csrf))
        return messagePage(reply, 403, 'Please try that again', ['Your browser did not send the confirmation we expected (perhaps the page was open for a long time, or cookies are blocked).', again], null, 'warn');
      const outcome = await svc.reidentification.links.confirmLink(secret);
      if (outcome.state === 'stepped-up') {
        reply.setCookie(STEP_UP_COOKIE, svc.reidentification.stepUpProof(outcome.sessionId), cookieOptions(reg, 20 * 60));
        return reply.redirect(`/id/passkey/register?session=${outcome.sessionId}`, 303);
      }
      if (outcome.state === 'confirmed') {
        if (outcome.redirect) return reply.header('cache-control', 'no-store').redirect(outcome.redirect, 303);
        return messagePage(
          reply,
          200,
          'Thank you — you’ve confirmed it’s you',
          [`${outcome.ctx.org} can now go ahead. You can close this page.`, 'If you change your mind later, you can withdraw your permission with the organisation or through a transparency portal.'],
          outcome.ctx.org,
          'ok',
        );
      }
      return finished(reply, outcome);
    },
  );
}
