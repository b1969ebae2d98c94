import { useState, type FormEvent } from 'react';
import { shownByDesktopApp, useAuth } from '../auth';
import { DesktopRemoteLinks } from '../RegisterSwitch';
import { Button, TextField } from '../ui/controls';
import { Dialog } from '../ui/dialog';
import { ErrorNotice, Notice, Spinner } from '../ui/feedback';

function useSignInForm(initialId = '') {
  const { signIn } = useAuth();
  const [accountId, setAccountId] = useState(initialId);
  const [secret, setSecret] = useState('');
  const [showSecret, setShowSecret] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [missing, setMissing] = useState<{ id?: string; secret?: string }>({});

  const submit = async (onDone?: () => void) => {
    const m: { id?: string; secret?: string } = {};
    if (!accountId.trim()) m.id = 'Enter your account id.';
    if (!secret) m.secret = 'Enter your secret key.';
    setMissing(m);
    if (m.id || m.secret) return;
    setBusy(true);
    setError(null);
    try {
      await signIn(accountId.trim(), secret);
      setSecret('');
      onDone?.();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const fields = (
    <>
      <TextField label="Account id" name="username" autoComplete="username" value={accountId} onChange={(e) => setAccountId(e.target.value)} error={missing.id} autoFocus={!initialId} spellCheck={false} />
      <div className="secret-field">
        <TextField
          label="Secret key"
          name="password"
          type={showSecret ? 'text' : 'password'}
          autoComplete="current-password"
          value={secret}
          onChange={(e) => setSecret(e.target.value)}
          error={missing.secret}
          autoFocus={!!initialId}
          spellCheck={false}
        />
        <button type="button" className="link-button reveal-toggle" onClick={() => setShowSecret((s) => !s)} aria-pressed={showSecret}>
          {showSecret ? 'Hide' : 'Show'}
        </button>
      </div>
      {error ? <ErrorNotice error={error} title="Sign-in failed" /> : null}
    </>
  );
  return { fields, submit, busy };
}

export function SignInScreen({ notice }: { notice: string | null }) {
  const form = useSignInForm();
  return (
    <div className="signin">
      <div className="signin-card">
        <div className="signin-brand">
          <svg viewBox="0 0 32 32" width="44" height="44" aria-hidden="true">
            <rect width="32" height="32" rx="8" fill="#2f5bd3" />
            <path d="M9 22V10h5.2c3.9 0 6.3 2.3 6.3 6s-2.4 6-6.3 6H9zm3-2.6h2.1c2.2 0 3.4-1.3 3.4-3.4s-1.2-3.4-3.4-3.4H12v6.8z" fill="#fff" />
            <circle cx="23.5" cy="20.5" r="2.5" fill="#f5b942" />
          </svg>
          <div>
            <h1 className="signin-title">DAR Console</h1>
            <p className="signin-sub">Operator console for the Data Access Register</p>
          </div>
        </div>
        {notice && <Notice tone="amber">{notice}</Notice>}
        {shownByDesktopApp() && <DesktopRemoteLinks />}
        <form
          className="stack"
          noValidate
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            void form.submit();
          }}
        >
          {form.fields}
          <Button type="submit" variant="primary" busy={form.busy} className="btn-block">
            {form.busy ? 'Signing in…' : 'Sign in'}
          </Button>
        </form>
        <p className="signin-foot">Only administrator accounts can use the console. Your session ends when you close this tab, and after two hours at most.</p>
      </div>
    </div>
  );
}

/** Re-enter the secret to renew a session that cannot renew itself (after a reload). */
export function SignInDialog({ open, onClose, accountId }: { open: boolean; onClose: () => void; accountId: string }) {
  const form = useSignInForm(accountId);
  return (
    <Dialog
      open={open}
      onClose={onClose}
      title="Stay signed in"
      description="Enter your secret key again to start a new two-hour session."
      size="sm"
      onSubmit={() => void form.submit(onClose)}
      footer={
        <>
          <Button variant="ghost" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" variant="primary" busy={form.busy}>
            Sign in
          </Button>
        </>
      }
    >
      <div className="stack">{form.fields}</div>
    </Dialog>
  );
}

export function StartingScreen() {
  return (
    <div className="signin">
      <Spinner label="Starting the console…" />
    </div>
  );
}
