import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PROJECT_ROOT } from '../../config.js';

/**
 * Static files for the customer pages, served from the register's own origin so the pages
 * can run under `script-src 'self'; style-src 'self'` with no inline code at all.
 */

let webauthnBundle: string | null = null;

/** @simplewebauthn/browser's bundled UMD build (exposes window.SimpleWebAuthnBrowser). */
export function simpleWebAuthnBrowser(): string {
  if (webauthnBundle === null) {
    const candidates: string[] = [];
    try {
      // The package only exports ".", so resolve its entry and walk to dist/bundle.
      const entry = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
      candidates.push(join(dirname(entry), '..', 'dist', 'bundle', 'index.umd.min.js'));
    } catch {
      // fall through to the project copy
    }
    candidates.push(join(PROJECT_ROOT, 'node_modules', '@simplewebauthn', 'browser', 'dist', 'bundle', 'index.umd.min.js'));
    for (const file of candidates) {
      try {
        webauthnBundle = readFileSync(file, 'utf8');
        break;
      } catch {
        // try the next one
      }
    }
    if (webauthnBundle === null) throw new Error('@simplewebauthn/browser bundle not found in node_modules');
  }
  return webauthnBundle;
}

export const ID_CSS = `
:root{--ink:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#f3f5f7;--card:#fff;--accent:#0b5cad;--accent-dark:#08437f;--ok:#1a7f37;--warn:#9a3412;--focus:#ffbf47}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:1.0625rem/1.55 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.wrap{max-width:38rem;margin:0 auto;padding:0 1rem}
.skip{position:absolute;left:-999px;top:0;background:var(--focus);color:#000;padding:.5rem 1rem;z-index:10}
.skip:focus{left:0}
.top{background:#fff;border-bottom:1px solid var(--line)}
.top .wrap{padding-top:.85rem;padding-bottom:.85rem}
.brand{font-weight:700;letter-spacing:.01em;display:inline-flex;align-items:center;gap:.55rem}
.mark{display:inline-block;width:1.1rem;height:1.1rem;border-radius:.3rem;background:linear-gradient(135deg,var(--accent),#2da44e)}
main.wrap{padding-top:2rem;padding-bottom:3rem;outline:none}
.card{background:var(--card);border:1px solid var(--line);border-radius:.9rem;padding:1.75rem 1.5rem;box-shadow:0 1px 2px rgba(27,31,36,.06)}
.org-label{margin:0;font-size:.8rem;text-transform:uppercase;letter-spacing:.06em;color:var(--muted)}
.org{margin:.1rem 0 1.1rem;font-size:1.75rem;line-height:1.2;font-weight:750;word-break:break-word}
h1{font-size:1.35rem;line-height:1.3;margin:0 0 .75rem}
h1.ok{color:var(--ok)}
h1.warn{color:var(--warn)}
p{margin:0 0 1rem}
.muted{color:var(--muted);font-size:.95rem}
.facts{margin:0 0 1.25rem;padding:.85rem 1rem;background:var(--bg);border-radius:.6rem;list-style:none}
.facts li{margin:.15rem 0}
.step{display:inline-block;font-size:.8rem;font-weight:600;color:var(--accent);background:#ddeeff;border-radius:1rem;padding:.1rem .65rem;margin-bottom:.6rem}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin:1.25rem 0 .5rem}
button,.button{appearance:none;border:0;border-radius:.55rem;background:var(--accent);color:#fff;font:inherit;font-weight:650;font-size:1.05rem;padding:.8rem 1.4rem;min-height:3rem;cursor:pointer;text-decoration:none;display:inline-flex;align-items:center;justify-content:center}
button:hover,.button:hover{background:var(--accent-dark)}
button.secondary{background:#fff;color:var(--accent);border:2px solid var(--accent)}
button.secondary:hover{background:#eef5fc}
button[disabled]{opacity:.6;cursor:progress}
button:focus-visible,.button:focus-visible,a:focus-visible{outline:3px solid var(--focus);outline-offset:2px;box-shadow:0 0 0 5px var(--ink)}
a{color:var(--accent)}
.status{min-height:1.5rem;margin:.75rem 0 0;font-weight:600}
.notice{margin:1rem 0;padding:.85rem 1rem;border-left:4px solid var(--warn);background:#fff7ed;border-radius:.4rem}
.notice p:last-child{margin-bottom:0}
#elsewhere{margin:1rem 0}
[hidden]{display:none!important}
.status.error{color:#b42318}
.status.ok{color:var(--ok)}
form.inline{display:inline}
table.params{width:100%;border-collapse:collapse;margin:0 0 1.25rem;font-size:.95rem}
table.params th,table.params td{text-align:left;padding:.5rem .4rem;border-bottom:1px solid var(--line);vertical-align:top;word-break:break-all}
table.params th{width:38%;font-weight:650;word-break:normal}
table.params th .muted{font-weight:400;display:inline-block;margin-top:.25rem}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9rem}
pre{background:#0d1117;color:#e6edf3;padding:.85rem;border-radius:.5rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.foot{color:var(--muted);font-size:.85rem;margin-top:1.25rem}
@media (max-width:30rem){.card{padding:1.25rem 1rem}.org{font-size:1.45rem}.actions button,.actions .button{width:100%}}
@media (prefers-reduced-motion:no-preference){button{transition:background-color .15s}}
`;

/**
 * The passkey page's own script (no inline code). It reads what it needs from data-*
 * attributes, asks the register for WebAuthn options, runs the browser prompt through
 * @simplewebauthn/browser, and posts the result back for server-side verification.
 */
export const PASSKEY_JS = `(function () {
  'use strict';
  var root = document.getElementById('ceremony');
  if (!root) return;
  var button = document.getElementById('start');
  var status = document.getElementById('status');
  var heading = document.getElementById('heading');
  var lead = document.getElementById('lead');
  var stepLabel = document.getElementById('step-label');
  var session = root.getAttribute('data-session');
  var csrf = root.getAttribute('data-csrf');
  var WA = window.SimpleWebAuthnBrowser;

  function say(message, tone) {
    status.textContent = message;
    status.className = 'status' + (tone ? ' ' + tone : '');
  }

  if (!button) return;
  if (!WA || !WA.browserSupportsWebAuthn()) {
    say('This browser cannot use passkeys. Try an up-to-date browser on your phone or computer.', 'error');
    button.disabled = true;
    return;
  }

  function post(path, body) {
    return fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-dar-csrf': csrf },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) {
          // The register's own messages are plain words written for customers.
          var e = new Error(data.message || 'The register could not check your passkey. Reload the page and try once more.');
          e.fromRegister = true;
          e.code = data.error;
          throw e;
        }
        return data;
      });
    });
  }

  var noUv = document.getElementById('no-uv');
  // Never the library's or the browser's own error text: a plain message for every failure.
  // NotAllowedError is also what the browser reports when the device cannot verify the person
  // (no PIN, fingerprint, face or screen lock), so it offers the e-mail route, not "try again".
  function explain(err) {
    var name = err && err.name;
    if (err && err.fromRegister) return err.message;
    if (name === 'NotAllowedError') return 'Your device did not confirm it’s you. If the prompt was closed by mistake, press the button again; if this device has no PIN, fingerprint, face or screen lock, confirm it’s you by e-mail instead (below).';
    if (name === 'InvalidStateError') return 'This device already holds a passkey for this meter point. Use a different device or security key.';
    if (name === 'SecurityError') return 'Your browser refused the passkey request for this site.';
    if (name === 'AbortError') return 'The passkey prompt was stopped. Press the button to start again.';
    return 'Your passkey could not be used on this device. Confirm it’s you another way, or try a different device.';
  }
  function needsEmailRoute(err) {
    return !!err && (err.name === 'NotAllowedError' || err.code === 'user-verification' || err.code === 'ERROR_AUTHENTICATOR_MISSING_USER_VERIFICATION_SUPPORT');
  }

  function toRegisterStep() {
    heading.textContent = 'Now create your new passkey';
    lead.textContent = 'Thank you, that confirmed it is you. Now create the new passkey on this device.';
    if (stepLabel) stepLabel.textContent = 'Step 2 of 2';
    button.textContent = 'Create a passkey';
    root.setAttribute('data-step', 'register');
    button.disabled = false;
    button.focus();
  }

  button.addEventListener('click', function () {
    button.disabled = true;
    say('Waiting for your passkey…');
    post('/id/passkey/options', { session: session })
      .then(function (opt) {
        var prompt = opt.step === 'register'
          ? WA.startRegistration({ optionsJSON: opt.options })
          : WA.startAuthentication({ optionsJSON: opt.options });
        return prompt.then(function (response) {
          say('Checking…');
          return post('/id/passkey/verify', { session: session, step: opt.step, response: response });
        });
      })
      .then(function (result) {
        if (result.done) {
          say('Done. Taking you back…', 'ok');
          window.location.assign(result.redirect);
          return;
        }
        say('');
        toRegisterStep();
      })
      .catch(function (err) {
        say(explain(err), 'error');
        button.disabled = false;
        if (needsEmailRoute(err) && noUv) {
          noUv.hidden = false;
          if (err.code === 'user-verification') button.hidden = true;
        } else {
          button.textContent = 'Try again';
        }
      });
  });
})();
`;

/**
 * The "Check your e-mail" step of a passkey request: polls where the request stands. When the
 * link was confirmed in this browser (another tab), the page reloads into the next step; when
 * it was confirmed on another device, it says to continue there and offers a new link here.
 */
export const STEP_UP_WAIT_JS = `(function () {
  'use strict';
  var root = document.getElementById('ceremony');
  var url = root && root.getAttribute('data-progress-url');
  if (!url) return;
  var box = document.getElementById('elsewhere');
  var text = document.getElementById('elsewhere-text');
  var heading = document.getElementById('heading');
  var lead = document.getElementById('lead');
  var stepLabel = document.getElementById('step-label');
  var start = document.getElementById('start');
  var timer = null;
  function poll() {
    fetch(url, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (s) {
        if (!s) return;
        if (s.state !== 'ready' || s.step === 'register') { window.clearInterval(timer); window.location.reload(); return; }
        if (s['confirmed-elsewhere-at']) {
          window.clearInterval(timer);
          heading.textContent = 'You confirmed on another device';
          lead.textContent = s.message;
          if (stepLabel) stepLabel.hidden = true;
          if (start) start.hidden = true;
          if (text) text.textContent = s['may-resend'] ? 'To create the passkey on this device instead, ask for a new link and open it here.' : 'We cannot send more links for this request. Continue on the device where you confirmed.';
          var form = box && box.querySelector('form');
          if (form && !s['may-resend']) form.hidden = true;
          if (box) box.hidden = false;
        }
      })
      .catch(function () { /* offline for a moment: the next poll tries again */ });
  }
  timer = window.setInterval(poll, 3000);
})();
`;
