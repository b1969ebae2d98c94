import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { eq } from 'drizzle-orm';
import { canonicalCredentialId } from '../../lib/values.js';
import { CeremonyError, type SessionKind, type SessionRow } from './ceremony.js';
import type { PasskeySessions } from './passkey-session.js';
import type { Expected } from './passkey-registration.js';
import { webauthn } from './webauthn.js';
import { ONE_ROW } from '../../lib/sql.js';

/**
 * An existing passkey: verifies the browser's assertion server-side (challenge, origin, RP ID,
 * user verification, signature, counter), moves the counter on, and confirms the token — or,
 * for a step-up (`register-stepup`), grants the step-up so the page may enrol a new passkey.
 */
export async function verifyAssertion(
  p: PasskeySessions,
  kind: SessionKind,
  session: SessionRow,
  challenge: string,
  response: AuthenticationResponseJSON,
  expected: Expected,
): Promise<{ done: true; redirect: string } | { done: false; next: 'register'; stepUpProof: string }> {
  const credential = (await p.deps.identities.credentials(session.ir)).find((c) => c.webauthnId === canonicalCredentialId(String(response.id ?? '')));
  if (!credential) {
    await p.reg.tx(() => p.clearChallenge(session, challenge));
    throw new CeremonyError(400, 'failed', 'That passkey is not registered for this meter point. Try another passkey.');
  }
  let newCounter: number;
  try {
    const result = await (
      await webauthn()
    ).verifyAuthenticationResponse({
      response,
      ...expected,
      credential: { id: credential.webauthnId, publicKey: new Uint8Array(credential.publicKey), counter: credential.counter, transports: credential.transports },
    });
    if (!result.verified) throw new Error('the signature could not be verified');
    newCounter = result.authenticationInfo.newCounter;
  } catch (err) {
    throw await p.refused(session, challenge, err, { step: 'assert', credential: credential.credentialId });
  }
  return p.reg.tx(async () => {
    await p.spendPrompt(session, challenge);
    // Re-read inside the transaction: a concurrent assertion may have moved the counter on. The
    // row lock makes an assertion on another node wait until this one has committed, and then
    // read (and check against) the counter this one stored.
    const { passkeyCredentials } = p.reg.store.tables;
    const [current] = await p.reg.store.dialect.lockRows(p.reg.db.select().from(passkeyCredentials).where(eq(passkeyCredentials.seq, credential.seq)).limit(ONE_ROW));
    if (current.removedAt) throw new CeremonyError(400, 'failed', 'That passkey has been removed.');
    // Synced passkeys keep the counter at 0; any other counter must move forward.
    if ((newCounter > 0 || current.counter > 0) && newCounter <= current.counter) {
      await p.reg.audit.append({
        actor: 'customer',
        eventType: 'reidentification.passkey-failed',
        ir: session.ir,
        subject: session.tokenRef,
        detail: { step: 'assert', credential: credential.credentialId, error: `counter ${newCounter} did not increase from ${current.counter}` },
      });
      throw new CeremonyError(400, 'failed', 'This passkey reported a signature counter that went backwards, which can mean it was copied. Use another passkey.');
    }
    await p.reg.db.update(passkeyCredentials).set({ counter: newCounter, lastUsedAt: p.reg.clock.iso() }).where(eq(passkeyCredentials.seq, credential.seq));
    const token = (await p.deps.tokens.find(session.tokenRef))!;
    if (kind === 'register-stepup') {
      await p.reg.audit.append({ actor: 'customer', eventType: 'reidentification.step-up', ir: session.ir, subject: token.tokenRef, detail: { via: 'passkey', credential: credential.credentialId } });
      return { done: false as const, next: 'register' as const, stepUpProof: p.stepUpProof(session.sessionId) };
    }
    await p.finish(session, token, 'passkey-assert');
    return { done: true as const, redirect: p.completionRedirect(session, token) };
  });
}
