import { useEffect, useState, type FormEvent } from 'react';
import type { DarDesktopRegisters } from '../../preload/api';
import { useAuth, useSession } from './auth';
import { Button, ButtonLink, TextField } from './ui/controls';
import { Dialog } from './ui/dialog';
import { Notice } from './ui/feedback';

/** The desktop app's own address for "show the local sandbox again" (see src/main: desktopCommand). */
export const SWITCH_TO_LOCAL_HREF = '/console/?desktop=switch';
export const RECONNECT_HREF = '/console/?desktop=reconnect';

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/**
 * The title bar's register indicator. In the browser it names the register serving this page
 * (`/console/` on any register). In the desktop app it names the local sandbox or the deployed
 * register, and switching is one click.
 */
export function RegisterSwitch() {
  const { isDesktop } = useAuth();
  const session = useSession();
  if (session.remote) {
    return (
      <div className="register-switch">
        <span className="register-chip" title={`Connected to the deployed register at ${window.location.origin}`}>
          <span className="register-chip-label">Register: </span>
          <strong>{window.location.host}</strong>
        </span>
        <ButtonLink href={SWITCH_TO_LOCAL_HREF} size="sm" variant="ghost" icon="globe">
          Switch to local sandbox
        </ButtonLink>
      </div>
    );
  }
  if (!isDesktop) {
    return (
      <span className="register-chip" title={`This console is served by the register at ${window.location.origin}`}>
        <span className="register-chip-label">Register: </span>
        <strong>{window.location.host}</strong>
      </span>
    );
  }
  return <LocalRegisterSwitch />;
}

function LocalRegisterSwitch() {
  const [info, setInfo] = useState<DarDesktopRegisters | null>(null);
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const refresh = () =>
    window.darDesktop
      ?.registers()
      .then((r) => {
        setInfo(r);
        if (r.notice) setOpen(true);
      })
      .catch(() => undefined);
  useEffect(() => {
    void refresh();
  }, []);

  const connect = async (url: string, creds?: { accountId: string; secret: string }) => {
    const desk = window.darDesktop;
    if (!desk) return;
    setBusy(url);
    setError(null);
    try {
      // On success the app replaces this window with the deployed register's console.
      const result = await desk.connectRegister({ url, ...creds });
      if (!result.ok) setError(result.message ?? 'The register could not be reached.');
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(null);
    }
  };

  const last = info?.remotes.find((r) => r.accountId);
  return (
    <div className="register-switch">
      <span className="register-chip" title="The sandbox register this app runs on this computer">
        <span className="register-chip-label">Register: </span>
        <strong>Local sandbox</strong>
      </span>
      {last && (
        <Button size="sm" variant="ghost" icon="globe" disabled={!!busy} onClick={() => void connect(last.url)}>
          {busy === last.url ? 'Connecting…' : `Switch to ${hostOf(last.url)}`}
        </Button>
      )}
      <Button size="sm" variant="ghost" onClick={() => setOpen(true)} title="Connect to a deployed register">
        Registers…
      </Button>
      {error && !open && (
        <span className="register-error" role="alert">
          {error}
        </span>
      )}
      <ConnectDialog
        open={open}
        onClose={() => {
          setOpen(false);
          setError(null);
        }}
        info={info}
        busy={busy}
        error={error}
        onConnect={connect}
        onForget={async (url) => {
          await window.darDesktop?.forgetRegister(url);
          await refresh();
        }}
      />
    </div>
  );
}

function ConnectDialog({
  open,
  onClose,
  info,
  busy,
  error,
  onConnect,
  onForget,
}: {
  open: boolean;
  onClose: () => void;
  info: DarDesktopRegisters | null;
  busy: string | null;
  error: string | null;
  onConnect: (url: string, creds?: { accountId: string; secret: string }) => Promise<void>;
  onForget: (url: string) => Promise<void>;
}) {
  const [url, setUrl] = useState('');
  const [accountId, setAccountId] = useState('');
  const [secret, setSecret] = useState('');
  const [missing, setMissing] = useState<string | null>(null);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!url.trim() || !accountId.trim() || !secret) {
      setMissing('Enter the register’s address, your account id and your secret.');
      return;
    }
    setMissing(null);
    void onConnect(url.trim(), { accountId: accountId.trim(), secret }).then(() => setSecret(''));
  };

  return (
    <Dialog
      open={open}
      onClose={onClose}
      title="Connect to a register"
      description="Work against a deployed register instead of the local sandbox. Its console opens in this window; the sandbox keeps running."
      dismissable={!busy}
      onSubmit={submit}
      footer={
        <>
          <Button variant="secondary" type="button" onClick={onClose} disabled={!!busy}>
            Stay on the local sandbox
          </Button>
          <Button type="submit" disabled={!!busy}>
            {busy ? 'Connecting…' : 'Connect'}
          </Button>
        </>
      }
    >
      <div className="stack">
        {info?.notice && <Notice tone="amber">{info.notice}</Notice>}
        {info && info.remotes.length > 0 && (
          <ul className="register-list" aria-label="Registers used before">
            {info.remotes.map((r) => (
              <li key={r.url}>
                <span className="register-list-url">{r.url}</span>
                <span className="muted">{r.accountId ? `as ${r.accountId}` : 'no stored credentials'}</span>
                {r.accountId && (
                  <Button size="sm" type="button" disabled={!!busy} onClick={() => void onConnect(r.url)}>
                    Connect
                  </Button>
                )}
                <Button size="sm" type="button" variant="ghost" disabled={!!busy} onClick={() => void onForget(r.url)}>
                  Forget
                </Button>
              </li>
            ))}
          </ul>
        )}
        <TextField label="Register address" name="register-url" placeholder="https://dar.example.org" value={url} onChange={(e) => setUrl(e.target.value)} spellCheck={false} autoComplete="url" />
        <TextField label="Account id" name="register-account" value={accountId} onChange={(e) => setAccountId(e.target.value)} spellCheck={false} autoComplete="off" />
        <TextField label="Secret key" name="register-secret" type="password" value={secret} onChange={(e) => setSecret(e.target.value)} autoComplete="off" />
        <p className="muted">
          {info?.keyStore === false
            ? 'This computer offers no key store, so the account id and secret are kept only until the app closes.'
            : 'The account id and secret are kept only in this computer’s key store, encrypted. The register’s page never sees the secret.'}
        </p>
        {(missing || error) && <Notice tone="red">{missing ?? error}</Notice>}
      </div>
    </Dialog>
  );
}

/** On the sign-in screen of a deployed register shown by the desktop app: the way back. */
export function DesktopRemoteLinks() {
  return (
    <Notice tone="blue" title="Desktop app">
      <span>The desktop app signs in to this register for you.</span>{' '}
      <ButtonLink href={RECONNECT_HREF} size="sm">
        Reconnect
      </ButtonLink>{' '}
      <ButtonLink href={SWITCH_TO_LOCAL_HREF} size="sm" variant="ghost">
        Switch to local sandbox
      </ButtonLink>
    </Notice>
  );
}
