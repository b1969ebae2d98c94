import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { App, Deps } from '../../http/types.js';
import { CeremonyError, ENDED_PAGE_TEXT, type SessionView } from '../../services/reidentification/index.js';
import { checkCsrf, cookieOptions, issueCsrf, originAllowed, STEP_UP_COOKIE } from './csrf.js';
import { heldByPhrase } from '../../services/mail/templates.js';
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
/**
 * [ours] What the page offers when this device cannot verify the person (no PIN, biometric or
 * screen lock): the e-mail route, in plain words, never "try again".
 */
function uvRoute(view: SessionView, csrf: string) {
  const ctx = view.ctx!;
  const say = html`<p><strong>This device cannot check that it’s you.</strong> Passkeys here need a PIN, fingerprint, face or screen lock, and this device did not use one.</p>`;
  if (view.kind === 'register-stepup' && view.step === 'assert' && view.hasEmail)
    return html`${say}<form method="post" action="/id/passkey/email-link">
  <input type="hidden" name="session" value="${view.session!.sessionId}">
  <input type="hidden" name="csrf" value="${csrf}">
  <div class="actions"><button type="submit" class="secondary">E-mail me a link instead</button></div>
</form>`;
  if (ctx.initiatorRole === 'portal') return html`${say}<p>Confirm it’s you by e-mail instead: <a href="/portal">go back to ${ctx.org}</a> and choose “Email me a link”.</p>`;
  if (view.kind !== 'assert' && view.hasEmail)
    return html`${say}<p>You can still confirm it’s you by e-mail: ${ctx.org} can send a link to ${heldByPhrase(ctx.heldBy)} whenever it needs to. To use a passkey, try a device with a screen lock.</p>`;
  return html`${say}<p>Ask ${ctx.org} to confirm it’s you by e-mail instead, or try a device with a screen lock.</p>`;
}

export function registerPasskeyPages(app: App, { reg, svc }: Deps): void {
  const rid = svc.reidentification.passkeys;

  const gone = (reply: FastifyReply, view: SessionView) => {
    if (view.state === 'used')
      // Reopened after finishing (another tab, the back button): that is success, not an error.
      return messagePage(
        reply,
        200,
        'You’ve already done this',
        [view.session?.usedAt ? `This request was completed at ${humanTime(view.session.usedAt)}.` : 'This request has been completed.', 'Nothing more to do here. You can close this page.'],
        view.ctx?.org,
        'ok',
      );
    if (view.state === 'cancelled')
      return messagePage(
        reply,
        410,
        'This passkey request was cancelled',
        [`It can no longer be used. Nothing has changed. If you still need to confirm it's you, ask ${view.ctx?.org ?? 'the organisation'} to start again.`],
        view.ctx?.org,
        'warn',
      );
    if (view.state === 'ended') return messagePage(reply, 410, 'This passkey request is no longer valid', [ENDED_PAGE_TEXT], view.ctx?.org, 'warn');
    if (view.state === 'expired')
      return messagePage(reply, 410, 'This passkey request has expired', [`Passkey requests work for a few minutes only. Nothing has changed. Go back to ${view.ctx?.org ?? 'the organisation'} and start again.`], view.ctx?.org, 'warn');
    return messagePage(reply, 404, 'This passkey request isn’t valid', ['We could not find this request. Go back to the organisation that sent you here and start again.']);
  };

  const ceremonyPage = async (req: FastifyRequest, reply: FastifyReply, path: 'register' | 'assert', sessionId: string) => {
    const view = await rid.viewSession(sessionId, req.cookies[STEP_UP_COOKIE]);
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
    // [ours] The step-up link was confirmed in another browser: only that browser holds the
    // proof, so this page says where to continue and offers a new link for this device.
    const elsewhere = view.confirmedElsewhereAt ?? null;
    if (elsewhere) {
      heading = 'You confirmed on another device';
      lead = `You confirmed it’s you with the e-mailed link at ${humanTime(elsewhere)}, on another device or browser. Continue there to create your passkey, or get a new link here to create it on this device.${button ? ' You can also use your existing passkey here.' : ''}`;
      stepLabel = null;
    }
    const offerEmail = stepUp && step === 'assert' && view.hasEmail && !elsewhere;
    const noUvRoute = uvRoute(view, csrf);
    // [ours] Whose contact details this ceremony relies on (none for the owner's onboarding).
    const heldBy = step === 'assert' ? heldByPhrase(ctx.heldBy, 'passkey') : stepUp ? heldByPhrase(ctx.heldBy, step === 'register' && view.hasCredentials ? 'passkey' : 'e-mail address') : null;
    const waiting = step === 'await-email' || (stepUp && !!view.emailSentTo && step !== 'register');
    return sendPage(reply, 200, {
      title: heading,
      org: ctx.org,
      scripts: [...(button ? ['/id/assets/webauthn.js', '/id/assets/passkey.js'] : []), ...(waiting && !elsewhere ? ['/id/assets/step-up-wait.js'] : [])],
      body: html`
<div id="ceremony" data-session="${session.sessionId}" data-csrf="${csrf}" data-step="${step}"${waiting && !elsewhere ? html` data-progress-url="/id/passkey/progress?session=${session.sessionId}"` : ''}>
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
<div id="no-uv" class="notice" hidden>${noUvRoute}</div>
<noscript><p class="status error">Passkeys need JavaScript. Turn it on for this page, or ask ${ctx.org} for another way to confirm it’s you.</p></noscript>`
    : ''
}
${
  elsewhere
    ? html`<div id="elsewhere" role="status">${
        view.mayResend
          ? html`<form method="post" action="/id/passkey/email-link">
  <input type="hidden" name="session" value="${session.sessionId}">
  <input type="hidden" name="csrf" value="${csrf}">
  <div class="actions"><button type="submit">E-mail me a new link for this device</button></div>
</form>`
          : html`<p class="muted">We cannot send more links for this request. Continue on the device where you confirmed, or go back to ${ctx.org} and start again.</p>`
      }</div>`
    : waiting
      ? html`<div id="elsewhere" role="status" hidden>
  <p id="elsewhere-text"></p>
  <form method="post" action="/id/passkey/email-link">
    <input type="hidden" name="session" value="${session.sessionId}">
    <input type="hidden" name="csrf" value="${csrf}">
    <div class="actions"><button type="submit">E-mail me a new link for this device</button></div>
  </form>
</div>`
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

  /**
   * Where the request stands, for the "Check your e-mail" page's poll: the step this browser
   * runs next (register once it holds the step-up proof), or that the link was confirmed in
   * another browser. Read-only; the session id is the page's own secret.
   */
  app.get('/id/passkey/progress', { schema: { hide: true, querystring: SessionQuery } }, async (req, reply) => {
    reply.header('cache-control', 'no-store');
    const view = await rid.viewSession(req.query.session, req.cookies[STEP_UP_COOKIE]);
    if (view.state !== 'ready') return { state: view.state };
    return {
      state: 'ready',
      step: view.step,
      'confirmed-elsewhere-at': view.confirmedElsewhereAt ?? null,
      message: view.confirmedElsewhereAt ? `You confirmed on another device at ${humanTime(view.confirmedElsewhereAt)}: continue there, or get a new link here.` : null,
      'may-resend': view.mayResend ?? false,
    };
  });

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
        // Passed the origin check above: the register's origin, or (sandbox) its own loopback address.
        req.headers.origin,
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

  app.post('/id/passkey/email-link', { schema: { hide: true, body: Type.Object({ session: Type.String({ pattern: '^pks_[0-9a-f]{24}$' }), csrf: Type.Optional(Type.String({ maxLength: 200 })) }) } }, async (req, reply) => {
    const sessionId = req.body.session;
    const back = `/id/passkey/register?session=${sessionId}`;
    if (!originAllowed(reg, req) || !checkCsrf(reg, req, `passkey:${sessionId}`, req.body.csrf))
      return messagePage(reply, 403, 'Please try that again', [html`Your browser did not send what we expected. <a href="${back}">Go back to the passkey page</a> and try again.`], null, 'warn');
    try {
      await rid.sendStepUpEmail(sessionId, req.cookies[STEP_UP_COOKIE]);
    } catch (err) {
      if (!(err instanceof CeremonyError)) throw err;
      if (err.code !== 'conflict') return messagePage(reply, err.status, 'We couldn’t send a link', [err.message, html`<a href="${back}">Go back to the passkey page</a>.`], null, 'warn');
    }
    return reply.redirect(back, 303);
  });

  app.get('/id/passkey/done', { schema: { hide: true, querystring: SessionQuery } }, async (req, reply) => {
    const view = await rid.viewSession(req.query.session);
    if (view.state !== 'used') return gone(reply, view.state === 'ready' ? { state: 'unknown' } : view);
    const registered = view.kind !== 'assert';
    return messagePage(
      reply,
      200,
      registered ? 'Your passkey is set up' : 'Thank you — you’ve confirmed it’s you',
      [
        `${view.ctx!.org} can now go ahead. You can close this page.`,
        registered ? 'Next time you are asked to confirm it’s you, you can use this passkey.' : 'Your passkey was checked by the Data Access Register; nothing about it was shared.',
      ],
      view.ctx!.org,
      'ok',
    );
  });
}
