import type { Register } from '../context.js';
import { maskEmail } from './identity-records.js';
import type { Services } from './index.js';
import type { TokenRow } from './reid-tokens.js';

/**
 * The operator's view of re-identification tokens: `adminView` plus the initiator's
 * display-name and where the magic link went (masked). Used by the token list and the
 * identity-record detail.
 */
export async function adminTokenViews(reg: Register, svc: Services, rows: TokenRow[]) {
  const nowIso = reg.clock.iso();
  const mails = await svc.mail.forRef(rows.map((r) => r.tokenRef));
  const dispatched = new Map<string, string>();
  // forRef is newest first; keep the first (newest) message per token.
  for (const m of mails) if (m.ref && !dispatched.has(m.ref)) dispatched.set(m.ref, maskEmail(svc.mail.recipient(m)));
  const names = new Map<string, string | null>();
  const views = [];
  for (const r of rows) {
    if (!names.has(r.initiatorAccountId)) names.set(r.initiatorAccountId, (await svc.accounts.find(r.initiatorAccountId))?.displayName ?? null);
    views.push({
      ...(await svc.tokens.adminView(r, nowIso)),
      'initiator-display-name': names.get(r.initiatorAccountId) ?? null,
      'dispatched-to': dispatched.get(r.tokenRef) ?? null,
    });
  }
  return views;
}
