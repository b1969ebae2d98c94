/**
 * The portal's stylesheet and its one small script, served from the register's origin
 * (the CSP allows no inline code). Kept as strings so the bundle works inside Electron too.
 */
export const PORTAL_CSS = `
:root { --ink:#1b2330; --muted:#5a6576; --line:#d9dee6; --bg:#f5f7fa; --card:#fff; --brand:#0b5cab; --brand-ink:#fff;
  --ok:#1d7a46; --ok-bg:#e6f4ec; --warn:#8a5a00; --warn-bg:#fff4d6; --bad:#a3261b; --bad-bg:#fde9e7; --dim:#8a94a3; --focus:#ffbf47; }
* { box-sizing: border-box; }
html { font-size: 16px; }
body { margin:0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color:var(--ink); background:var(--bg); line-height:1.5; }
a { color: var(--brand); }
a:focus, button:focus, input:focus, summary:focus, select:focus { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position:absolute; left:-999px; } .skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .5rem; z-index: 10; }
header.top { background: var(--ink); color:#fff; }
header.top .wrap { display:flex; align-items:center; justify-content:space-between; gap:1rem; padding: .9rem 1rem; }
header.top .brand { font-weight:700; letter-spacing:.01em; }
header.top .by { color:#c8d0dc; font-size:.875rem; }
main { padding: 1.5rem 1rem 3rem; }
.wrap { max-width: 56rem; margin: 0 auto; }
h1 { font-size: 1.75rem; line-height:1.25; margin: .25rem 0 1rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .75rem; }
p.lead { font-size: 1.125rem; color: var(--muted); margin-top: 0; }
.card { background: var(--card); border:1px solid var(--line); border-radius: 10px; padding: 1.25rem; margin: 1rem 0; }
table.views { width:100%; border-collapse: collapse; }
table.views th, table.views td { text-align:left; padding:.4rem .5rem; border-bottom:1px solid var(--line); }
label { display:block; font-weight:600; margin-bottom:.35rem; }
.hint { color: var(--muted); font-size: .9rem; margin: 0 0 .5rem; }
input[type=text] { width:100%; max-width: 22rem; font-size: 1.125rem; padding: .6rem .7rem; border: 2px solid var(--ink); border-radius: 6px; letter-spacing: .05em; }
fieldset { border:0; padding:0; margin: 1rem 0; }
legend { font-weight:600; margin-bottom:.5rem; }
.choice { display:flex; gap:.6rem; align-items:flex-start; padding:.6rem .75rem; border:1px solid var(--line); border-radius:8px; margin:.4rem 0; background:#fff; }
.choice input { margin-top:.3rem; width:1.2rem; height:1.2rem; }
.choice strong { display:block; }
button, .button { display:inline-block; font: inherit; font-weight:600; border:0; border-radius:6px; padding:.65rem 1.1rem; background: var(--brand); color: var(--brand-ink); cursor:pointer; text-decoration:none; }
button.secondary, .button.secondary { background:#e9edf3; color: var(--ink); }
button.danger { background: var(--bad); }
button.link { background:none; color:var(--brand); padding:0; text-decoration:underline; font-weight:400; }
.actions { display:flex; gap:.75rem; flex-wrap:wrap; align-items:center; margin-top: 1rem; }
.notice { border-left: 6px solid var(--warn); background: var(--warn-bg); padding: 1rem 1.1rem; border-radius: 6px; margin: 1rem 0; }
.notice.ok { border-color: var(--ok); background: var(--ok-bg); }
.notice.bad { border-color: var(--bad); background: var(--bad-bg); }
.notice h2 { margin-top:0; font-size: 1.125rem; }
.summary { display:grid; grid-template-columns: repeat(3, 1fr); gap:.75rem; margin: 1rem 0 1.5rem; }
.summary div { background:#fff; border:1px solid var(--line); border-radius:10px; padding:.8rem 1rem; }
.summary b { display:block; font-size: 1.75rem; }
.summary span { color: var(--muted); font-size: .9rem; }
.record { background:#fff; border:1px solid var(--line); border-radius:10px; padding:1rem 1.1rem; margin:.8rem 0; }
.record.dim { opacity: .62; background: #fafbfc; }
.record.discovered { border: 2px solid var(--warn); background: #fffdf5; }
.record header { display:flex; justify-content:space-between; gap:1rem; align-items:flex-start; flex-wrap:wrap; }
.record h3 { margin:0; font-size: 1.125rem; }
.badge { display:inline-block; font-size:.8rem; font-weight:700; padding:.15rem .55rem; border-radius: 999px; text-transform: uppercase; letter-spacing:.04em; }
.badge.ACTIVE { background: var(--ok-bg); color: var(--ok); }
.badge.EXPIRED, .badge.REVOKED { background: #eceff3; color: var(--muted); }
.badge.DISCOVERED { background: var(--warn-bg); color: var(--warn); }
dl.facts { display:grid; grid-template-columns: 11rem 1fr; gap:.3rem 1rem; margin: .8rem 0 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin:0; }
.chips { display:flex; flex-wrap:wrap; gap:.35rem; padding:0; margin:0; list-style:none; }
.chips li { background:#eef3fa; border:1px solid #d4e0f0; border-radius: 999px; padding: .1rem .6rem; font-size:.875rem; }
details { margin-top:.5rem; } summary { cursor:pointer; color: var(--brand); }
ul.controllers { margin:.5rem 0 0; padding-left:1.2rem; }
.spinner { width:1.25rem; height:1.25rem; border:3px solid #c9d6e6; border-top-color: var(--brand); border-radius:50%; display:inline-block; animation: spin 1s linear infinite; vertical-align: middle; margin-right:.5rem; }
@keyframes spin { to { transform: rotate(360deg); } }
@media (prefers-reduced-motion: reduce) { .spinner { animation: none; } }
footer.foot { color: var(--muted); font-size:.875rem; border-top:1px solid var(--line); padding: 1rem; }
.error { color: var(--bad); font-weight:600; }
@media (max-width: 40rem) {
  h1 { font-size: 1.4rem; }
  .summary { grid-template-columns: 1fr; }
  dl.facts { grid-template-columns: 1fr; } dl.facts dt { margin-top:.4rem; }
  header.top .by { display:none; }
}
`;

/** Polls the re-identification status while the customer completes it elsewhere. */
export const PORTAL_JS = `
(function () {
  var box = document.getElementById('waiting');
  if (!box) return;
  var statusUrl = box.getAttribute('data-status-url');
  var continueUrl = box.getAttribute('data-continue-url');
  var live = document.getElementById('waiting-status');
  function tick() {
    fetch(statusUrl, { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.status === 'confirmed') { live.textContent = 'Confirmed. Loading your records…'; window.location.assign(continueUrl); return; }
        if (s.status === 'expired' || s.status === 'unknown') { live.textContent = s.message || 'This request has expired. Please start again.'; document.getElementById('restart').hidden = false; return; }
        setTimeout(tick, 3000);
      })
      .catch(function () { setTimeout(tick, 5000); });
  }
  setTimeout(tick, 1500);
})();
`;
