import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import { eq } from 'drizzle-orm';
import { newId } from '../../lib/ids.js';
import { canonicalCredentialId } from '../../lib/values.js';
import { passkeyAddedEmail } from '../mail/templates.js';
import { CeremonyError, type SessionRow } from './ceremony.js';
import type { PasskeySessions } from './passkey-session.js';
import { webauthn } from './webauthn.js';
import { ONE_ROW } from '../../lib/sql.js';

/** What every WebAuthn response must satisfy: the session's prompt, the page's origin(s), the relying party, a verified person. */
export interface Expected {
  expectedChallenge: string;
  expectedOrigin: string | string[];
  expectedRPID: string;
  requireUserVerification: true;
}

/**
 * A new passkey: verifies the browser's registration response server-side (challenge,
 * origin, RP ID, user presence and verification), stores the credential, tells the record's
 * e-mail, and confirms the token.
 */
export async function verifyRegistration(p: PasskeySessions, session: SessionRow, challenge: string, response: RegistrationResponseJSON, expected: Expected): Promise<{ done: true; redirect: string }> {
  let info;
  try {
    const result = await (
      await webauthn()
    ).verifyRegistrationResponse({
      response,
      ...expected,
      requireUserPresence: true,
    });
    if (!result.verified) throw new Error('the registration could not be verified');
    info = result.registrationInfo;
  } catch (err) {
    throw await p.refused(session, challenge, err, { step: 'register' });
  }
  return p.reg.tx(async () => {
    await p.spendPrompt(session, challenge);
    const token = (await p.deps.tokens.find(session.tokenRef))!;
    const credentialId = newId('cred');
    const now = p.reg.clock.iso();
    const webauthnId = canonicalCredentialId(info.credential.id);
    const { passkeyCredentials } = p.reg.store.tables;
    // Two nodes registering the same authenticator at once: the second waits here, then finds
    // the first's row and answers 409 rather than failing on the unique index.
    await p.reg.store.lockKey(`passkey-credential:${webauthnId}`);
    const [existing] = await p.reg.db.select({ seq: passkeyCredentials.seq }).from(passkeyCredentials).where(eq(passkeyCredentials.webauthnId, webauthnId)).limit(ONE_ROW);
    if (existing) throw new CeremonyError(409, 'conflict', 'This passkey is already registered.');
    // A first passkey can make this record the one that speaks for the meter point.
    const before = await p.deps.identities.eligibleForMpxn(token.mpxn);
    await p.reg.db.insert(passkeyCredentials).values({
      credentialId,
      ir: session.ir,
      webauthnId,
      publicKey: Buffer.from(info.credential.publicKey),
      counter: info.credential.counter,
      transports: (response.response.transports ?? info.credential.transports ?? []).slice(0, 10),
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      registeredAt: now,
    });
    await p.reg.audit.append({ actor: 'customer', eventType: 'identity-record.credential-added', ir: session.ir, subject: credentialId, detail: { 'token-ref': token.tokenRef, 'device-type': info.credentialDeviceType } });
    const identity = (await p.deps.identities.find(session.ir))!;
    const org = (await p.context(token)).org;
    const email = p.deps.identities.email(identity);
    // [ours] The record's address hears of every new passkey: who asked, and when.
    if (email) await p.deps.mail.queue({ to: email, ...passkeyAddedEmail({ org, mpxn: token.mpxn, at: now }), purpose: 'identity-record.passkey-added', ref: credentialId });
    await p.deps.identities.noticeContactChange(before, session.ir, org, token.mpxn);
    await p.finish(session, token, 'passkey-register');
    return { done: true as const, redirect: p.completionRedirect(session, token) };
  });
}
