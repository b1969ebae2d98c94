import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { App, Deps } from '../../http/types.js';
import { CeremonyError, ENDED_PAGE_TEXT, type SessionView } from '../../services/reidentification.js';
import { checkCsrf, cookieOptions, issueCsrf, originAllowed, STEP_UP_COOKIE } from './csrf.js';
import { heldByPhrase } from './emails.js';
import { html, humanTime, messagePage, sendPage } from './layout.js';

const SessionQuery = Type.Object({ session: Type.String({ maxLength: 64 }) }, { additionalProperties: true });
const SessionBody = Type.Object({ session: Type.String({ pattern: '^pks_[0-9a-f]{24}$' }) });
const VerifyBody = Type.Object({
  session: Type.String({ pattern: '^pks_[0-9a-f]{24}$' }),
  step: Type.Enum(['register', 'assert']),
  response: Type.Object({ id: Type.String({ maxLength: 1400 }), type: Type.String({ maxLength: 40 }) }, { additionalProperties: true }),
});

/**
 * Passkey ceremony pages on the register's origin: /id/passkey/register and
 * /id/passkey/assert (?session=pks_…), their JSON endpoints (options, verify), the
 * step-up e-mail button, and the completion page. The pages show the initiating
 * organisation before the browser prompt and run only same-origin scripts.
 */
export function registerPasskeyPages(app: App, { reg, svc }: Deps): void {
  const rid = svc.reidentification;

  const gone = (reply: FastifyReply, view: SessionView) => {
    if (view.state === 'used')
      return messagePage(reply, 410, 'This passkey request has already been completed', ['Nothing more to do here. You can close this page.'], view.ctx?.org, 'warn');
    if (view.state === 'ended') return messagePage(reply, 410, 'This passkey request is no longer valid', [ENDED_PAGE_TEXT], view.ctx?.org, 'warn');
    if (view.state === 'expired')
      return messagePage(reply, 410, 'This passkey request has expired', [`Passkey requests work for a few minutes only. Nothing has changed. Go back to ${view.ctx?.org ?? 'the organisation'} and start again.`], view.ctx?.org, 'warn');
    return messagePage(reply, 404, 'This passkey request isn’t valid', ['We could not find this request. Go back to the organisation that sent you here and start again.']);
  };

  const ceremonyPage = (req: FastifyRequest, reply: FastifyReply, path: 'register' | 'assert', sessionId: string) => {
    const view = rid.viewSession(sessionId, req.cookies[STEP_UP_COOKIE]);
    if (view.state !== 'ready') return gone(reply, view);
    const session = view.session!;
    const ctx = view.ctx!;
    if ((session.kind === 'assert') !== (path === 'assert')) return gone(reply, { state: 'unknown' });
    const csrf = issueCsrf(reg, req, reply, `passkey:${session.sessionId}`);
    const stepUp = view.kind === 'register-stepup';
    const step = view.step!;
    let stepLabel: string | null = null;
    let heading: string;
    let lead: string;
    let button: string | null;
    if (step === 'assert' && !stepUp) {
      heading = 'Confirm it’s you with your passkey';
      lead = `Use the passkey you set up before. ${ctx.org} does not see your passkey or any personal details.`;
      button = 'Use my passkey';
    } else if (step === 'assert') {
      stepLabel = 'Step 1 of 2';
      heading = 'First, confirm it’s you';
      lead = 'A passkey is already registered for this meter point. Before a new one can be added, use the one you already have.';
      button = 'Use my existing passkey';
    } else if (step === 'await-email') {
      stepLabel = 'Step 1 of 2';
      heading = 'Check your e-mail';
      lead = view.emailSentTo
        ? `Before a new passkey can be added, confirm it’s you: we have sent a link to ${view.emailSentTo}, ${heldByPhrase(ctx.heldBy)}. Open it on this device and press “Yes, it’s me — continue”.`
        : 'Before a new passkey can be added, confirm it’s you with the link we e-mailed to you. Open it on this device.';
      button = null;
    } else {
      if (stepUp) stepLabel = 'Step 2 of 2';
      heading = stepUp ? 'Now create your new passkey' : 'Create a passkey';
      lead = stepUp
        ? 'Thank you, that confirmed it is you. Now create the new passkey on this device.'
        : 'A passkey lets you confirm it’s you with your fingerprint, face or screen lock instead of a password. Your device keeps it; the register only stores a public key.';
      button = 'Create a passkey';
    }
    const offerEmail = stepUp && step === 'assert' && view.hasEmail;
    // [ours] Whose contact details this ceremony relies on (none for the owner's onboarding).
    const heldBy = step === 'assert' ? heldByPhrase(ctx.heldBy, 'passkey') : stepUp ? heldByPhrase(ctx.heldBy, step === 'register' && view.hasCredentials ? 'passkey' : 'e-mail address') : null;
    return sendPage(reply, 200, {
      title: heading,
      org: ctx.org,
      scripts: button ? ['/id/assets/webauthn.js', '/id/assets/passkey.js'] : [],
      body: html`
<div id="ceremony" data-session="${session.sessionId}" data-csrf="${csrf}" data-step="${step}">
${stepLabel ? html`<span class="step" id="step-label">${stepLabel}</span>` : ''}
<h1 id="heading">${heading}</h1>
<p>${ctx.purpose}</p>
<p id="lead">${lead}</p>
<ul class="facts">
  <li><strong>Meter point:</strong> ${ctx.meter}</li>
  <li><strong>This request expires:</strong> ${humanTime(view.expiresAt!)}</li>
  ${heldBy ? html`<li id="held-by"><strong>Contact details used:</strong> ${heldBy}</li>` : ''}
</ul>
${
  button
    ? html`<div class="actions"><button type="button" id="start">${button}</button></div>
<p id="status" class="status" role="status" aria-live="polite"></p>
<noscript><p class="status error">Passkeys need JavaScript. Turn it on for this page, or ask ${ctx.org} for another way to confirm it’s you.</p></noscript>`
    : ''
}
${
  offerEmail
    ? view.emailSentTo
      ? html`<p class="muted">We have also sent a link to ${view.emailSentTo}. You can open that on this device instead.</p>`
      : html`<form method="post" action="/id/passkey/email-link">
  <input type="hidden" name="session" value="${session.sessionId}">
  <input type="hidden" name="csrf" value="${csrf}">
  <p class="muted">Lost the device with your passkey?</p>
  <div class="actions"><button type="submit" class="secondary">E-mail me a link instead</button></div>
</form>`
    : ''
}
<p class="muted">If you didn’t expect this, close this page. Nothing happens unless you complete it.</p>
</div>`,
    });
  };

  app.get('/id/passkey/register', { schema: { hide: true, querystring: SessionQuery } }, async (req, reply) => ceremonyPage(req, reply, 'register', req.query.session));
  app.get('/id/passkey/assert', { schema: { hide: true, querystring: SessionQuery } }, async (req, reply) => ceremonyPage(req, reply, 'assert', req.query.session));

  /** JSON endpoints: same origin only, CSRF header, errors as {error, message}. */
  const guard = (req: FastifyRequest, reply: FastifyReply, sessionId: string): boolean => {
    if (!originAllowed(reg, req)) {
      void reply.status(403).send({ error: 'origin', message: 'Requests from another website are not accepted.' });
      return false;
    }
    if (!checkCsrf(reg, req, `passkey:${sessionId}`, req.headers['x-dar-csrf'])) {
      void reply.status(403).send({ error: 'csrf', message: 'This page has expired. Reload it and try again.' });
      return false;
    }
    return true;
  };
  const fail = (reply: FastifyReply, err: unknown) => {
    if (err instanceof CeremonyError) return reply.status(err.status).header('cache-control', 'no-store').send({ error: err.code, message: err.message });
    throw err;
  };

  app.post('/id/passkey/options', { schema: { hide: true, body: SessionBody } }, async (req, reply) => {
    if (!guard(req, reply, req.body.session)) return reply;
    try {
      const out = await rid.options(req.body.session, req.cookies[STEP_UP_COOKIE]);
      return reply.header('cache-control', 'no-store').send(out);
    } catch (err) {
      return fail(reply, err);
    }
  });

  app.post('/id/passkey/verify', { schema: { hide: true, body: VerifyBody } }, async (req, reply) => {
    if (!guard(req, reply, req.body.session)) return reply;
    try {
      const out = await rid.verify(
        req.body.session,
        req.body.step,
        req.body.response as unknown as RegistrationResponseJSON | AuthenticationResponseJSON,
        req.cookies[STEP_UP_COOKIE],
      );
      if (!out.done) {
        reply.setCookie(STEP_UP_COOKIE, out.stepUpProof, cookieOptions(reg, 20 * 60));
        return reply.header('cache-control', 'no-store').send({ done: false, next: out.next });
      }
      return reply.header('cache-control', 'no-store').send(out);
    } catch (err) {
      return fail(reply, err);
    }
  });

  app.post(
    '/id/passkey/email-link',
    { schema: { hide: true, body: Type.Object({ session: Type.String({ pattern: '^pks_[0-9a-f]{24}$' }), csrf: Type.Optional(Type.String({ maxLength: 200 })) }) } },
    async (req, reply) => {
      const sessionId = req.body.session;
      const back = `/id/passkey/register?session=${sessionId}`;
      if (!originAllowed(reg, req) || !checkCsrf(reg, req, `passkey:${sessionId}`, req.body.csrf))
        return messagePage(reply, 403, 'Please try that again', [html`Your browser did not send what we expected. <a href="${back}">Go back to the passkey page</a> and try again.`], null, 'warn');
      try {
        rid.sendStepUpEmail(sessionId);
      } catch (err) {
        if (!(err instanceof CeremonyError)) throw err;
        if (err.code !== 'conflict') return messagePage(reply, err.status, 'We couldn’t send a link', [err.message, html`<a href="${back}">Go back to the passkey page</a>.`], null, 'warn');
      }
      return reply.redirect(back, 303);
    },
  );

  app.get('/id/passkey/done', { schema: { hide: true, querystring: SessionQuery } }, async (req, reply) => {
    const view = rid.viewSession(req.query.session);
    if (view.state !== 'used') return gone(reply, view.state === 'ready' ? { state: 'unknown' } : view);
    const registered = view.kind !== 'assert';
    return messagePage(
      reply,
      200,
      registered ? 'Your passkey is set up' : 'Thank you — you’ve confirmed it’s you',
      [`${view.ctx!.org} can now go ahead. You can close this page.`, registered ? 'Next time you are asked to confirm it’s you, you can use this passkey.' : 'Your passkey was checked by the Data Access Register; nothing about it was shared.'],
      view.ctx!.org,
      'ok',
    );
  });
}
