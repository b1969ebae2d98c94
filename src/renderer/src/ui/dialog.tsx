import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { Button, Checkbox } from './controls';
import { CopyButton } from './copy';
import { ErrorNotice, Notice } from './feedback';
import { Icon } from './icons';

interface DialogProps {
  open: boolean;
  onClose: () => void;
  title: ReactNode;
  description?: ReactNode;
  children?: ReactNode;
  footer?: ReactNode;
  size?: 'sm' | 'md' | 'lg';
  /** Submit handler: the dialog body becomes a form (Enter submits). */
  onSubmit?: (e: FormEvent<HTMLFormElement>) => void;
  /** When false, Esc and the close button are ignored (e.g. while a request runs). */
  dismissable?: boolean;
}

/**
 * Modal dialog on the native <dialog> element: focus is trapped and restored by the
 * browser, Esc closes it.
 */
export function Dialog({ open, onClose, title, description, children, footer, size = 'md', onSubmit, dismissable = true }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const descId = useId();
  const closeRef = useRef(onClose);
  closeRef.current = onClose;

  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);

  useEffect(() => {
    const d = ref.current;
    return () => {
      if (d?.open) d.close();
    };
  }, []);

  const body = (
    <>
      <header className="dialog-header">
        <div>
          <h2 id={titleId} className="dialog-title">
            {title}
          </h2>
          {description && (
            <p id={descId} className="dialog-description">
              {description}
            </p>
          )}
        </div>
        <button type="button" className="icon-button" aria-label="Close" onClick={() => dismissable && onClose()} disabled={!dismissable}>
          <Icon name="close" size={18} />
        </button>
      </header>
      <div className="dialog-body">{children}</div>
      {footer && <footer className="dialog-footer">{footer}</footer>}
    </>
  );

  return (
    <dialog
      ref={ref}
      className={`dialog dialog-${size}`}
      aria-labelledby={titleId}
      aria-describedby={description ? descId : undefined}
      onCancel={(e) => {
        e.preventDefault();
        if (dismissable) closeRef.current();
      }}
      onClose={() => {
        if (open) closeRef.current();
      }}
      onMouseDown={(e) => {
        // A click on the backdrop (the <dialog> itself, outside its box) closes it.
        if (e.target === ref.current && dismissable) {
          const r = ref.current.getBoundingClientRect();
          const inside = e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
          if (!inside) onClose();
        }
      }}
    >
      {open &&
        (onSubmit ? (
          <form
            className="dialog-form"
            noValidate
            onSubmit={(e) => {
              e.preventDefault();
              onSubmit(e);
            }}
          >
            {body}
          </form>
        ) : (
          body
        ))}
    </dialog>
  );
}

interface ConfirmProps {
  open: boolean;
  onClose: () => void;
  title: ReactNode;
  children: ReactNode;
  confirmLabel: string;
  tone?: 'primary' | 'danger';
  /** The operator must type this text to enable the button (irreversible actions). */
  requireText?: string;
  onConfirm: () => Promise<unknown>;
  /** Turns a failure into an explanation; defaults to the register's message. */
  explainError?: (error: unknown) => ReactNode | null;
  busyLabel?: string;
}

export function ConfirmDialog({ open, onClose, title, children, confirmLabel, tone = 'primary', requireText, onConfirm, explainError, busyLabel }: ConfirmProps) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [typed, setTyped] = useState('');
  const inputId = useId();
  useEffect(() => {
    if (open) {
      setError(null);
      setTyped('');
      setBusy(false);
    }
  }, [open]);
  const ready = !requireText || typed.trim() === requireText;
  const explained = error ? explainError?.(error) : null;
  return (
    <Dialog
      open={open}
      onClose={onClose}
      title={title}
      size="sm"
      dismissable={!busy}
      onSubmit={async () => {
        if (!ready || busy || explained) return;
        setBusy(true);
        setError(null);
        try {
          await onConfirm();
          onClose();
        } catch (err) {
          setError(err);
        } finally {
          setBusy(false);
        }
      }}
      footer={
        <>
          <Button onClick={onClose} disabled={busy} variant="ghost">
            {error ? 'Close' : 'Cancel'}
          </Button>
          <Button type="submit" variant={tone} busy={busy} disabled={!ready || !!explained}>
            {busy ? (busyLabel ?? confirmLabel) : confirmLabel}
          </Button>
        </>
      }
    >
      <div className="stack">
        {children}
        {requireText && (
          <div className="field">
            <label className="field-label" htmlFor={inputId}>
              Type <code>{requireText}</code> to confirm
            </label>
            <input id={inputId} className="input" value={typed} autoComplete="off" spellCheck={false} onChange={(e) => setTyped(e.target.value)} />
          </div>
        )}
        {error ? (explained ?? <ErrorNotice error={error} />) : null}
      </div>
    </Dialog>
  );
}

/**
 * Shows a secret exactly once, with copy buttons. It closes only after "I have copied it" is
 * ticked: the register keeps just a hash, so a secret closed by a stray Esc is lost for good.
 * Esc, ✕ or a click outside first ask whether to close without it. Defaults word it for an
 * account's secret key; `labels` rewords it (e.g. a webhook signing secret).
 */
export function SecretDialog({
  open,
  onClose,
  title,
  accountId,
  secret,
  children,
  labels,
}: {
  open: boolean;
  onClose: () => void;
  title: string;
  accountId: string;
  secret: string;
  children?: ReactNode;
  labels?: { id: string; secret: string; notice: ReactNode };
}) {
  const [copied, setCopied] = useState(false);
  const [asking, setAsking] = useState(false);
  useEffect(() => {
    if (open) {
      setCopied(false);
      setAsking(false);
    }
  }, [open, secret]);
  const attemptClose = () => {
    if (copied) onClose();
    else setAsking(true);
  };
  return (
    <Dialog
      open={open}
      onClose={attemptClose}
      title={title}
      size="md"
      footer={
        asking ? (
          <>
            <Button variant="primary" onClick={() => setAsking(false)}>
              Keep it open
            </Button>
            <Button variant="danger" onClick={onClose}>
              Close without copying
            </Button>
          </>
        ) : (
          <Button variant="primary" onClick={onClose} disabled={!copied}>
            Done
          </Button>
        )
      }
    >
      <div className="stack">
        <Notice tone="amber" title="Shown once">
          {labels?.notice ?? <>Copy this secret key now and hand it to the organisation over a secure channel. The register stores only a hash; nobody can show it again. If it is lost, rotate the secret.</>}
        </Notice>
        <div className="secret-box">
          <div className="secret-row">
            <span className="secret-label">{labels?.id ?? 'Account id'}</span>
            <code className="secret-value">{accountId}</code>
            <CopyButton text={accountId} label={`Copy ${(labels?.id ?? 'account id').toLowerCase()}`} />
          </div>
          <div className="secret-row">
            <span className="secret-label">{labels?.secret ?? 'Secret key'}</span>
            <code className="secret-value" data-testid="secret-key">
              {secret}
            </code>
            <CopyButton text={secret} label={`Copy ${(labels?.secret ?? 'secret key').toLowerCase()}`} />
          </div>
        </div>
        {children}
        <Checkbox
          label="I have copied it"
          hint={`Tick this once the ${(labels?.secret ?? 'secret key').toLowerCase()} is stored safely; the dialog cannot be closed before.`}
          checked={copied}
          onChange={(v) => {
            setCopied(v);
            if (v) setAsking(false);
          }}
        />
        {asking && (
          <div role="alertdialog" aria-label="Close without copying?">
            <Notice tone="red" title="Close without the secret?">
              You have not ticked "I have copied it". Once closed, the {(labels?.secret ?? 'secret key').toLowerCase()} cannot be shown again; the only way back is to rotate it.
            </Notice>
          </div>
        )}
      </div>
    </Dialog>
  );
}
