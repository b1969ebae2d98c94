import { useEffect, useLayoutEffect, useState, type FormEvent } from 'react';
import { useAccount, useSeedAccount } from '../api/accounts';
import { useIdentityHolders, useMpxnExists } from '../api/identity';
import { useTokenMail } from '../api/outbox';
import { useMode, useRefreshStats } from '../api/register';
import { useLiveToken, useStartReidentification } from '../api/tokens';
import type { Account, Method, ReIdentifyResponse, Token } from '../api/types';
import { canonicalMpxn, MPAN_CHECK_WARNING, mpanCheckDigitOk } from '../../../shared/values';
import { fmtTime, METHOD_LABEL, ROLE_LABEL } from '../lib/format';
import { href, Link, navigate, useRoute, useSearchParams } from '../lib/router';
import { Button, ButtonLink, SelectField } from '../ui/controls';
import { CopyButton } from '../ui/copy';
import { Badge, ErrorNotice, LiveDot, Notice, registerAnswering, StatusBadge } from '../ui/feedback';
import { Icon } from '../ui/icons';
import { KeyValue, PageHeader, Panel } from '../ui/layout';
import { AccountPicker } from '../ui/picker';
import { Countdown } from '../ui/time';
import { useIsAdmin } from '../auth';
import { CancelTokenDialog, cancellable } from './Tokens';
import { TOKEN_METHODS } from '../../../shared/vocabulary';

/**
 * The desk's state lives in the URL (`#/reidentify?mpxn=…&on-behalf-of=…&method=…&token=mlr_…`),
 * so a reload, a bookmark or a second tab shows the same organisation, method and live
 * session. Only the token-ref goes there: the console shows it anyway and it grants nothing.
 * The links a start returns (a magic link carries its secret) stay in this tab's
 * sessionStorage, keyed by token-ref, and never reach the URL.
 */
const LAST_KEY = 'dar.console.desk.last';
const EXTRAS_KEY = 'dar.console.desk.extras';

/** What only the answer to a start knows; the rest comes from the token itself. */
interface DeskExtras {
  tokenRef: string;
  customerUrl: string | null;
  ceremonyUrl: string | null;
  redirectUrl: string | null;
}

function loadExtras(tokenRef: string): DeskExtras | null {
  try {
    const raw = sessionStorage.getItem(EXTRAS_KEY);
    const extras = raw ? (JSON.parse(raw) as DeskExtras) : null;
    return extras?.tokenRef === tokenRef ? extras : null;
  } catch {
    return null;
  }
}

function saveExtras(extras: DeskExtras) {
  try {
    sessionStorage.setItem(EXTRAS_KEY, JSON.stringify(extras));
  } catch {
    // Private mode or storage full: the desk still works, without the customer's link.
  }
}

function readLast(): string | null {
  try {
    return sessionStorage.getItem(LAST_KEY) || null;
  } catch {
    return null;
  }
}

function extrasFrom(res: ReIdentifyResponse, redirectUrl: string | null): DeskExtras {
  const ml = res['magic-link'];
  const pk = res.passkey;
  return {
    tokenRef: ml?.['token-ref'] ?? pk?.['token-ref'] ?? '',
    customerUrl: res['customer-url'] ?? null,
    ceremonyUrl: pk?.['redirect-url'] ?? null,
    redirectUrl,
  };
}

function methodParam(v: string | null): Method | null {
  return v && (TOKEN_METHODS as readonly string[]).includes(v) ? (v as Method) : null;
}

const METHOD_HELP: Record<Method, { title: string; text: string; missing: string }> = {
  'magic-link': { title: 'E-mail link', text: 'The register e-mails a link to the address on file. The customer opens it and presses "Yes, it\'s me". Valid 15 minutes.', missing: 'No e-mail address on file.' },
  'passkey-assert': { title: 'Passkey', text: "The customer confirms with a passkey they registered before (phone, laptop or security key) on the register's passkey page.", missing: 'No passkey registered yet.' },
  'passkey-register': {
    title: 'New passkey',
    text: "The customer first confirms with the e-mail address or a passkey on file, then creates a new passkey on the register's page; next time they can use it.",
    missing: 'No e-mail address or passkey on file to confirm with first.',
  },
};

function openCustomerPage(url: string) {
  if (window.darDesktop) void window.darDesktop.openInBrowser(url);
  else window.open(url, '_blank', 'noopener');
}

export function ReidentifyDeskScreen() {
  const [params, setParams] = useSearchParams();
  const route = useRoute();
  const mode = useMode();
  const query = params.toString();
  // This screen may still be rendered for a moment after the URL moved to another screen
  // (while that one loads): only the desk's own URL is the desk's state.
  const here = route.path === '/reidentify';
  // Coming back through the menu (a bare `#/reidentify`) resumes this tab's last desk.
  const restoreTo = here && query === '' ? readLast() : null;
  useLayoutEffect(() => {
    if (restoreTo) navigate(`/reidentify?${restoreTo}`, { replace: true });
  }, [restoreTo]);
  useEffect(() => {
    if (restoreTo || !here) return;
    try {
      sessionStorage.setItem(LAST_KEY, query);
    } catch {
      // ignore
    }
  }, [query, restoreTo, here]);
  if (restoreTo) return null;
  const tokenRef = params.get('token');

  return (
    <>
      <PageHeader
        title="Re-identification desk"
        subtitle="Confirm a customer's identity while you have them on the phone: the register asks the customer directly, and you watch the answer arrive."
        actions={
          <ButtonLink href={href('/tokens', { status: 'pending' })} icon="key" variant="ghost">
            All pending tokens
          </ButtonLink>
        }
      />
      <div className="desk">
        <div className="desk-main">
          <StartForm key={params.get('mpxn') ?? ''} disabled={!!tokenRef} onStarted={(extras) => setParams({ token: extras.tokenRef })} />
        </div>
        <div className="desk-side">
          {tokenRef ? <LiveSession key={tokenRef} tokenRef={tokenRef} sandbox={mode === 'sandbox'} onClear={() => setParams({ token: null })} onRestart={(extras) => setParams({ token: extras.tokenRef })} /> : <IdleCard />}
        </div>
      </div>
    </>
  );
}

function IdleCard() {
  return (
    <Panel title="Live session" className="live-card">
      <div className="live-idle">
        <Icon name="phone" size={28} />
        <p>
          Nothing in progress. Look up the customer's meter point, choose who is asking and how, then press <strong>Start re-identification</strong>.
        </p>
        <ol className="steps-hint">
          <li>The customer receives a link or passkey prompt naming the organisation.</li>
          <li>They confirm; this card turns green within two seconds.</li>
          <li>The organisation can then use the token once, within an hour.</li>
        </ol>
      </div>
    </Panel>
  );
}

function StartForm({ disabled, onStarted }: { disabled: boolean; onStarted: (extras: DeskExtras) => void }) {
  const seedAccount = useSeedAccount();
  const [params, setParams] = useSearchParams();
  const [mpxnInput, setMpxnInput] = useState(params.get('mpxn') ?? '');
  // The register's canonical form (spaces and hyphens dropped, a bill's 21-digit S-box number reduced to its core).
  const mpxn = canonicalMpxn(params.get('mpxn') ?? '') ?? '';
  const [mpxnError, setMpxnError] = useState<string | null>(null);
  const orgId = params.get('on-behalf-of') ?? '';
  const orgQuery = useAccount(orgId);
  const org = orgId ? (orgQuery.data?.account ?? null) : null;
  const setOrg = (a: Account | null) => {
    if (a) seedAccount(a);
    setParams({ 'on-behalf-of': a?.['account-id'] ?? null });
  };
  const method = methodParam(params.get('method'));
  const setMethod = (m: Method | null) => setParams({ method: m });
  const [redirect, setRedirect] = useState('');

  const exists = useMpxnExists(mpxn);
  const holders = useIdentityHolders(mpxn);
  const available = exists.data?.['available-methods'] ?? [];

  useEffect(() => {
    if (!exists.data) return;
    if (method && available.includes(method)) return;
    setMethod(available.includes('magic-link') ? 'magic-link' : (available[0] ?? null));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [exists.data]);
  useEffect(() => setRedirect(''), [orgId]);

  const start = useStartReidentification({
    onSuccess: (res) => {
      const extras = extrasFrom(res, redirect || null);
      saveExtras(extras);
      onStarted(extras);
    },
  });

  const lookup = (e: FormEvent) => {
    e.preventDefault();
    const m = canonicalMpxn(mpxnInput);
    if (!m) {
      setMpxnError("Enter the 13-digit MPAN core or the MPRN from the customer's bill.");
      return;
    }
    setMpxnError(null);
    if (m === mpxn) void exists.refetch();
    else setParams({ mpxn: m });
  };

  const ready = !!mpxn && exists.data?.exists && !!org && !!method && available.includes(method);

  return (
    <div className="stack">
      <Panel title={<StepTitle n={1} text="Customer's meter point" />}>
        <form className="inline-form" onSubmit={lookup} noValidate>
          <div className="field grow">
            <label className="field-label" htmlFor="desk-mpxn">
              MPxN (MPAN or MPRN)
            </label>
            <input
              id="desk-mpxn"
              className="input input-lg mono"
              value={mpxnInput}
              onChange={(e) => setMpxnInput(e.target.value)}
              placeholder="2312345678901"
              autoComplete="off"
              spellCheck={false}
              aria-invalid={!!mpxnError || undefined}
              aria-describedby={mpxnError ? 'desk-mpxn-error' : undefined}
              disabled={disabled}
            />
            {mpxnError && (
              <div className="field-error" id="desk-mpxn-error" role="alert">
                {mpxnError}
              </div>
            )}
          </div>
          <Button type="submit" icon="search" disabled={disabled} busy={exists.isFetching && !!mpxn}>
            Look up
          </Button>
        </form>
        {mpxn && exists.error ? <ErrorNotice error={exists.error} /> : null}
        {mpxn && exists.data && (
          <div className="lookup-result">
            {!mpanCheckDigitOk(mpxn) && (
              // A warning before any challenge starts, not a block: sandbox and demo numbers carry no valid check digit.
              <Notice tone="amber" title="Check the number">
                {MPAN_CHECK_WARNING}
              </Notice>
            )}
            {exists.data.exists ? (
              <Notice tone="green" title={`Meter point ${exists.data.mpxn} is registered`}>
                Methods available: {available.length ? available.map((m) => METHOD_LABEL[m] ?? m).join(', ') : 'none'}.
              </Notice>
            ) : (
              <Notice tone="amber" title={`No identity record for ${exists.data.mpxn}`}>
                No data user has registered this customer yet, so there is nobody to re-identify. Check the number with the customer.
              </Notice>
            )}
            {holders.data && holders.data['identity-records'].length > 0 && (
              <ul className="holder-list" aria-label="Identity records for this meter point">
                {holders.data['identity-records'].map((r) => (
                  <li key={r.ir}>
                    <Link to={`/identity-records/${r.ir}`} className="mono-sm">
                      {r.ir}
                    </Link>
                    <span>{r['owner-display-name']}</span>
                    <span className="muted small">
                      {r['has-email'] ? 'e-mail on file' : 'no e-mail'} · {r.credentials?.length ?? 0} passkey{(r.credentials?.length ?? 0) === 1 ? '' : 's'}
                      {r['anonymised-at'] ? ' · anonymised' : ''}
                    </span>
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
      </Panel>

      <Panel title={<StepTitle n={2} text="Who is asking" />} subtitle="The customer is shown this organisation's name. Only data users and portals can ask.">
        <AccountPicker label="Requesting organisation" roles={['data_user', 'portal']} value={org} onChange={setOrg} required />
        {orgId && orgQuery.error ? <ErrorNotice error={orgQuery.error} /> : null}
        {org && org['return-urls'].length > 0 && (
          <SelectField label="After confirming, send the customer to" value={redirect} onChange={(e) => setRedirect(e.target.value)} hint="Pre-registered return URLs of this organisation.">
            <option value="">The register's own confirmation page</option>
            {org['return-urls'].map((u) => (
              <option key={u} value={u}>
                {u}
              </option>
            ))}
          </SelectField>
        )}
      </Panel>

      <Panel title={<StepTitle n={3} text="How the customer confirms" />}>
        <div className="method-cards" role="radiogroup" aria-label="Re-identification method">
          {TOKEN_METHODS.map((m) => {
            const possible = !exists.data || available.includes(m);
            const checked = method === m;
            return (
              <label key={m} className={`method-card${checked ? ' is-checked' : ''}${!possible ? ' is-disabled' : ''}`}>
                <input type="radio" name="desk-method" value={m} checked={checked} disabled={!possible || disabled} onChange={() => setMethod(m)} />
                <span className="method-title">
                  <Icon name={m === 'magic-link' ? 'mail' : 'key'} size={16} />
                  {METHOD_HELP[m].title}
                </span>
                <span className="method-text">{possible ? METHOD_HELP[m].text : METHOD_HELP[m].missing}</span>
              </label>
            );
          })}
        </div>
        {start.error ? <ErrorNotice error={start.error} /> : null}
        <div className="form-actions">
          <Button variant="primary" icon="send" disabled={!ready || disabled} busy={start.isPending} onClick={() => start.mutate({ mpxn, method, 'on-behalf-of': org?.['account-id'], ...(redirect ? { 'redirect-url': redirect } : {}) })}>
            Start re-identification
          </Button>
          {!ready && !disabled && <span className="muted small">{!mpxn ? 'Look up a meter point first.' : !org ? 'Choose the requesting organisation.' : !method ? 'Choose a method.' : ''}</span>}
          {disabled && <span className="muted small">Finish or clear the live session first.</span>}
        </div>
      </Panel>
    </div>
  );
}

function StepTitle({ n, text }: { n: number; text: string }) {
  return (
    <span className="step-title">
      <span className="step-n" aria-hidden="true">
        {n}
      </span>
      {text}
    </span>
  );
}

function LiveSession({ tokenRef, sandbox, onClear, onRestart }: { tokenRef: string; sandbox: boolean; onClear: () => void; onRestart: (extras: DeskExtras) => void }) {
  const admin = useIsAdmin();
  const [cancelling, setCancelling] = useState(false);
  const extras = loadExtras(tokenRef);
  const token = useLiveToken(tokenRef);
  const t = token.data?.token;
  // "Send again": the same meter point, method and organisation, as a new challenge.
  const start = useStartReidentification({
    onSuccess: (res) => {
      const next = extrasFrom(res, extras?.redirectUrl ?? null);
      saveExtras(next);
      onRestart(next);
    },
  });
  const resend = {
    isPending: start.isPending,
    error: start.error,
    mutate: () => start.mutate({ mpxn: t!.mpxn, method: t!.method, 'on-behalf-of': t!['initiator-account-id'], ...(extras?.redirectUrl ? { 'redirect-url': extras.redirectUrl } : {}) }),
  };
  const connected = registerAnswering(token.failureReason);
  // A link carrying only the token-ref: complete the URL from the token, so the form shows
  // the same meter point, organisation and method and "Start another" starts from them.
  const [params, setParams] = useSearchParams();
  const missing = !!t && (!params.get('mpxn') || !params.get('on-behalf-of') || !params.get('method'));
  useEffect(() => {
    if (!t || !missing) return;
    setParams({
      mpxn: params.get('mpxn') || t.mpxn,
      'on-behalf-of': params.get('on-behalf-of') || t['initiator-account-id'],
      method: params.get('method') || t.method,
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [missing]);
  if (!t) {
    return (
      <Panel title="Live session" className="live-card" actions={<LiveDot label="Loading" connected={connected} />}>
        {token.error ? <ErrorNotice error={token.error} /> : <p className="muted">Loading {tokenRef}…</p>}
        <div className="form-actions">
          <Button variant="ghost" icon="close" onClick={onClear}>
            Stop watching
          </Button>
        </div>
      </Panel>
    );
  }
  return <LiveSessionCard t={t} tokenRef={tokenRef} extras={extras} connected={connected} error={token.error} sandbox={sandbox} admin={admin} resend={resend} cancelling={cancelling} setCancelling={setCancelling} onClear={onClear} />;
}

function LiveSessionCard({
  t,
  tokenRef,
  extras,
  connected,
  error,
  sandbox,
  admin,
  resend,
  cancelling,
  setCancelling,
  onClear,
}: {
  t: Token;
  tokenRef: string;
  extras: DeskExtras | null;
  connected: boolean;
  error: unknown;
  sandbox: boolean;
  admin: boolean;
  resend: { isPending: boolean; error: unknown; mutate: () => void };
  cancelling: boolean;
  setCancelling: (v: boolean) => void;
  onClear: () => void;
}) {
  const refreshStats = useRefreshStats();
  const session = {
    tokenRef,
    mpxn: t.mpxn,
    method: t.method,
    orgName: t['initiator-display-name'],
    dispatchedTo: t['dispatched-to'],
    customerUrl: extras?.customerUrl ?? null,
    ceremonyUrl: extras?.ceremonyUrl ?? null,
    redirectUrl: extras?.redirectUrl ?? null,
  };
  const status = t?.status ?? 'pending';
  useEffect(() => {
    if (status !== 'pending') refreshStats();
  }, [status, refreshStats]);
  // The outbox is for administrators (it holds customers' e-mail addresses).
  const mail = useTokenMail(session.tokenRef, admin && sandbox && session.method === 'magic-link');
  const message = mail.data?.messages.find((m) => m.ref === session.tokenRef) ?? null;
  const expiresAt = t['expires-at'];
  const headline = status === 'confirmed' ? 'Customer confirmed' : status === 'consumed' ? 'Confirmed and used' : status === 'expired' ? 'Expired without confirmation' : status === 'cancelled' ? 'Cancelled' : 'Waiting for the customer';
  const customerUrl = session.customerUrl ?? session.ceremonyUrl;

  return (
    <Panel title="Live session" className={`live-card live-${status}`} actions={status === 'pending' || !connected ? <LiveDot label="Checking every 2 s" connected={connected} /> : undefined}>
      <div className="live-status" aria-live="polite">
        <span className={`live-icon live-icon-${status}`}>
          <Icon name={status === 'confirmed' || status === 'consumed' ? 'check' : status === 'expired' ? 'clock' : status === 'cancelled' ? 'ban' : 'phone'} size={22} />
        </span>
        <div>
          <div className="live-headline" data-testid="desk-status-headline">
            {headline}
          </div>
          <div className="live-sub">
            <StatusBadge status={status} /> <span className="muted">{METHOD_LABEL[session.method] ?? session.method}</span>
          </div>
        </div>
      </div>

      {status === 'pending' && (
        <div className="live-instructions">
          {session.method === 'magic-link' ? (
            <p>
              A link was e-mailed to <strong className="mono">{session.dispatchedTo ?? 'the address on file'}</strong>. Ask the customer to open it and press <em>Yes, it's me</em>.
            </p>
          ) : (
            <p>Send the customer to the passkey page below (the requesting organisation normally does this). They confirm with their device.</p>
          )}
          {expiresAt && (
            <div className="live-countdown">
              <span className="muted small">Time left</span>
              <Countdown to={expiresAt} from={t['created-at']} />
            </div>
          )}
        </div>
      )}
      {status === 'confirmed' && (
        <Notice tone="green" title={`Confirmed at ${fmtTime(t?.['confirmed-at'])} UTC`}>
          {session.orgName} can now use this token once, within an hour of issue, to register an access record or (portals) to view the meter point.
        </Notice>
      )}
      {status === 'consumed' && (
        <Notice tone="blue" title="The token has been used">
          {session.orgName} used it at {fmtTime(t?.['consumed-at'])} UTC. It cannot be used again.
        </Notice>
      )}
      {status === 'expired' && (
        <Notice tone="grey" title="The customer did not confirm in time">
          Nothing was shared. Check the e-mail address or method with the customer and start again.
        </Notice>
      )}
      {status === 'cancelled' && (
        <Notice tone="grey" title="This challenge was cancelled">
          The customer's link or passkey page now says so and changes nothing; {session.orgName} cannot use the token. Send a new one if the customer still wants to go ahead.
        </Notice>
      )}
      {error ? <ErrorNotice error={error} /> : null}
      {resend.error ? <ErrorNotice error={resend.error} /> : null}

      <KeyValue
        items={[
          ['Meter point', <code>{session.mpxn}</code>],
          ['Asked by', session.orgName],
          [
            'Token',
            <span className="id-text">
              <code>{session.tokenRef}</code>
              <CopyButton text={session.tokenRef} label="Copy token reference" />
            </span>,
          ],
          session.redirectUrl ? ['Then redirects to', <code className="mono-sm">{session.redirectUrl}</code>] : false,
          session.ceremonyUrl
            ? [
                'Passkey page',
                <span className="id-text">
                  <code className="mono-sm break">{session.ceremonyUrl}</code>
                  <CopyButton text={session.ceremonyUrl} label="Copy passkey page link" />
                </span>,
              ]
            : false,
        ]}
      />

      {sandbox && status === 'pending' && (
        <div className="sandbox-box">
          <Badge tone="amber">Sandbox</Badge>
          <span>Play the customer's part yourself.</span>
          <div className="sandbox-actions">
            {customerUrl && (
              <Button size="sm" icon="external" onClick={() => openCustomerPage(customerUrl)}>
                Open the customer's {session.method === 'magic-link' ? 'link' : 'passkey page'}
              </Button>
            )}
            {admin && session.method === 'magic-link' && (
              <ButtonLink size="sm" href={message ? href('/outbox', { id: String(message.id) }) : '#/outbox'} icon="mail" variant="ghost">
                {message ? 'Read the e-mail in the outbox' : 'Outbox'}
              </ButtonLink>
            )}
          </div>
        </div>
      )}

      <div className="form-actions">
        {cancellable({ status }) && (
          <Button variant="danger" icon="ban" onClick={() => setCancelling(true)}>
            Cancel challenge
          </Button>
        )}
        {(status === 'expired' || status === 'cancelled') && (
          <Button variant="primary" icon="send" busy={resend.isPending} onClick={() => resend.mutate()}>
            Send again
          </Button>
        )}
        <Button variant={status === 'pending' ? 'ghost' : 'secondary'} onClick={onClear} icon={status === 'pending' ? 'close' : 'plus'}>
          {status === 'pending' ? 'Stop watching' : 'Start another'}
        </Button>
        {status === 'pending' && <span className="muted small">Stop watching leaves the link working until it expires; Cancel ends it now.</span>}
      </div>
      <CancelTokenDialog token={cancelling ? t : null} onClose={() => setCancelling(false)} />
      <p className="muted small">
        {ROLE_LABEL.data_user}s and portals poll the same status through <code>GET /v1/identity-records/reidentify/{'{token-ref}'}</code>.
      </p>
    </Panel>
  );
}
