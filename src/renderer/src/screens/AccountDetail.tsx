import { useState, type ReactNode } from 'react';
import { useAccount, useAccountAction, useDirectoryEntry, useRotateSecret, useUpdateAccount } from '../api/accounts';
import { useAccountAudit } from '../api/audit';
import { useRecordsOwnedBy } from '../api/records';
import type { Account } from '../api/types';
import { useDataUserWebhooks } from '../api/webhooks';
import { useAuth, useSession } from '../auth';
import { fmtDate, legalBasis, ROLE_LABEL } from '../lib/format';
import { kindForRole, type AccountKind } from '../lib/roles';
import { accessKeyColumn } from '../ui/columns';
import { href, Link, navigate } from '../lib/router';
import { Button, ButtonLink } from '../ui/controls';
import { IdText } from '../ui/copy';
import { ConfirmDialog, Dialog, SecretDialog } from '../ui/dialog';
import { Badge, detailUnavailable, ErrorNotice, Notice, Spinner, StatusBadge } from '../ui/feedback';
import { Chips, ExternalLink, KeyValue, PageHeader, Panel } from '../ui/layout';
import { DataTable } from '../ui/table';
import { When } from '../ui/time';
import { useToast } from '../ui/toast';
import { AccountFields, showsDataTypes, showsOrgRef, showsReturnUrls, toBody, validate, valuesFrom, type AccountFormValues, type FormErrors } from './AccountForm';

type StatusAction = 'suspend' | 'reactivate' | 'terminate';

export function AccountDetailScreen({ kind, accountId }: { kind: AccountKind; accountId: string }) {
  const toast = useToast();
  const session = useSession();
  const auth = useAuth();
  const [editing, setEditing] = useState(false);
  const [action, setAction] = useState<StatusAction | null>(null);
  const [rotating, setRotating] = useState(false);
  const [signingOut, setSigningOut] = useState(false);
  const [suspendReason, setSuspendReason] = useState('');
  const [secret, setSecret] = useState<string | null>(null);
  const query = useAccount(accountId);
  // The route may name the account by its DUID; changes go to its account id.
  const realId = query.data?.account['account-id'] ?? accountId;
  const change = useAccountAction(realId, accountId);
  const rotate = useRotateSecret(realId);

  const unavailable = detailUnavailable(query, { title: accountId, back: { to: `/${kind.path}`, label: kind.title }, loading: 'Loading account…' });
  if (unavailable) return unavailable;

  const account = query.data!.account;
  const actualKind = account.role === kind.role ? kind : kindForRole(account.role);
  const isSelf = account['account-id'] === session.account['account-id'];
  const back = { to: `/${actualKind.path}`, label: actualKind.title };
  const terminated = account.status === 'terminated';

  const runStatus = async (a: StatusAction) => {
    // A suspension's reason is kept in the audit log (docs/security.md "What the audit records").
    const reason = suspendReason.trim();
    await change.mutateAsync({ action: a, reason: a === 'suspend' && reason ? reason : undefined });
    toast(`${account['display-name']} ${a === 'suspend' ? 'suspended' : a === 'reactivate' ? 'reactivated' : 'terminated'}`);
  };

  return (
    <>
      <PageHeader
        back={back}
        title={account['display-name']}
        meta={
          <>
            <StatusBadge status={account.status} />
            <Badge tone="neutral">{ROLE_LABEL[account.role] ?? account.role}</Badge>
            <span className="muted">
              <code>{account['account-id']}</code>
            </span>
            {isSelf && <Badge tone="blue">You</Badge>}
          </>
        }
        actions={
          !terminated && (
            <>
              <Button icon="edit" onClick={() => setEditing(true)}>
                Edit
              </Button>
              <Button icon="key" onClick={() => setRotating(true)}>
                Rotate secret
              </Button>
              <Button icon="signout" onClick={() => setSigningOut(true)}>
                Sign out everywhere
              </Button>
              {account.status === 'active' && (
                <Button
                  icon="pause"
                  onClick={() => {
                    setSuspendReason('');
                    setAction('suspend');
                  }}
                  disabled={isSelf}
                  title={isSelf ? 'You cannot suspend your own account' : undefined}
                >
                  Suspend
                </Button>
              )}
              {account.status === 'suspended' && (
                <Button icon="play" variant="primary" onClick={() => setAction('reactivate')}>
                  Reactivate
                </Button>
              )}
              <Button icon="ban" variant="danger" onClick={() => setAction('terminate')} disabled={isSelf} title={isSelf ? 'You cannot terminate your own account' : undefined}>
                Terminate
              </Button>
            </>
          )
        }
      />
      {account.status === 'suspended' && (
        <Notice tone="amber" title={`Suspended ${account['suspended-at'] ? `on ${fmtDate(account['suspended-at'])}` : ''}`}>
          This account cannot sign in or call the API. Its records stay in the register. Reactivate it to restore access.
        </Notice>
      )}
      {terminated && (
        <Notice tone="grey" title={`Terminated ${account['terminated-at'] ? `on ${fmtDate(account['terminated-at'])}` : ''}`}>
          Termination is final. The account's records and audit history are kept.
        </Notice>
      )}
      <div className="grid grid-2">
        <Panel title="Profile">
          <KeyValue
            items={[
              ['Display name', account['display-name']],
              ['Account id', <IdText value={account['account-id']} />],
              ['DUID', <IdText value={account.duid} />],
              ['Role', ROLE_LABEL[account.role] ?? account.role],
              ['Contact URL', <ExternalLink href={account['contact-url']} />],
              showsOrgRef(account.role) && ['Organisation reference', account['organisation-reference']],
              ['Registered', <When iso={account['registered-at']} />],
              account['suspended-at'] ? ['Suspended', <When iso={account['suspended-at']} />] : false,
              account['terminated-at'] ? ['Terminated', <When iso={account['terminated-at']} />] : false,
            ]}
          />
        </Panel>
        <div className="stack">
          {showsDataTypes(account.role) && (
            <Panel title="Data types supported">
              <Chips values={account['data-types-supported']} empty="None declared" />
            </Panel>
          )}
          {showsReturnUrls(account.role) && (
            <Panel title="Pre-registered return URLs" subtitle="Redirect and passkey return URLs must match one of these exactly.">
              {account['return-urls'].length ? (
                <ul className="url-list">
                  {account['return-urls'].map((u) => (
                    <li key={u}>
                      <code>{u}</code>
                    </li>
                  ))}
                </ul>
              ) : (
                <p className="muted small">None. Re-identification with a redirect URL will be refused until one is added.</p>
              )}
            </Panel>
          )}
          {account.role === 'data_user' && <DirectoryPanel duid={account.duid} />}
        </div>
      </div>
      {account.role === 'data_user' && (
        <>
          <WebhooksPanel duid={account.duid} />
          <OwnRecordsPanel duid={account.duid} />
        </>
      )}
      <ActivityPanel accountId={account['account-id']} />

      <EditAccountDialog open={editing} onClose={() => setEditing(false)} account={account} kind={actualKind} />
      <ConfirmDialog open={action === 'suspend'} onClose={() => setAction(null)} title={`Suspend ${account['display-name']}?`} confirmLabel="Suspend account" tone="danger" onConfirm={() => runStatus('suspend')}>
        <p>The account can no longer sign in, and every API call with a token it already holds is refused at once (401 AUTH006). Its access records, identity records and webhooks stay in the register. You can reactivate it later.</p>
        <div className="field">
          <label className="field-label" htmlFor="suspend-reason">
            Reason <span className="muted">(kept in the audit log)</span>
          </label>
          <textarea id="suspend-reason" className="input" rows={2} maxLength={500} value={suspendReason} onChange={(e) => setSuspendReason(e.target.value)} placeholder="e.g. Contract under review; suspected key leak" />
        </div>
      </ConfirmDialog>
      <ConfirmDialog
        open={signingOut}
        onClose={() => setSigningOut(false)}
        title={`Sign ${account['display-name']} out everywhere?`}
        confirmLabel="Sign out everywhere"
        tone="danger"
        onConfirm={async () => {
          await change.mutateAsync({ action: 'sign-out-everywhere' });
          toast(`${account['display-name']} signed out everywhere`);
          // Your own account: this console's token has ended too; sign in again when it can.
          if (isSelf && !(await auth.renew())) auth.signOut('You signed yourself out everywhere. Sign in again to continue.');
        }}
      >
        <p>
          Every bearer token issued to this account so far stops working at once (its sessions in consoles, scripts and integrations answer 401). The account stays active: it signs in again with its current secret key. Use this when a token
          may have leaked; rotate the secret if the secret may have.
        </p>
      </ConfirmDialog>
      <ConfirmDialog open={action === 'reactivate'} onClose={() => setAction(null)} title={`Reactivate ${account['display-name']}?`} confirmLabel="Reactivate account" onConfirm={() => runStatus('reactivate')}>
        <p>The account can sign in and call the API again with its current secret key.</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={action === 'terminate'}
        onClose={() => setAction(null)}
        title={`Terminate ${account['display-name']}?`}
        confirmLabel="Terminate permanently"
        tone="danger"
        requireText={account['account-id']}
        onConfirm={() => runStatus('terminate')}
      >
        <p>
          <strong>This cannot be undone.</strong> The account is shut out for good. Its records and audit history are kept; data providers will see the data user as terminated.
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={rotating}
        onClose={() => setRotating(false)}
        title="Rotate the secret key?"
        confirmLabel="Issue new secret"
        tone="danger"
        onConfirm={async () => {
          const res = await rotate.mutateAsync(async (secretKey) => {
            // A rotation ends every token of the account, this console's own included when the
            // operator rotates their own secret: sign in again with the new one (docs/security.md "Sessions end when they should").
            if (account['account-id'] === session.account['account-id'] && !session.desktop) await auth.signIn(account['account-id'], secretKey);
          });
          setSecret(res['secret-key']);
        }}
      >
        <p>
          A new secret key is issued and shown once. <strong>The current secret stops working immediately</strong>, and so does every bearer token already issued to this account: its clients must sign in again with the new secret.
        </p>
      </ConfirmDialog>
      {secret && <SecretDialog open title="New secret key" accountId={account['account-id']} secret={secret} onClose={() => setSecret(null)} />}
    </>
  );
}

function EditAccountDialog({ open, onClose, account, kind }: { open: boolean; onClose: () => void; account: Account; kind: AccountKind }) {
  const toast = useToast();
  const [values, setValues] = useState<AccountFormValues>(() => valuesFrom(account));
  const [errors, setErrors] = useState<FormErrors>({});
  const [lastOpen, setLastOpen] = useState(false);
  if (open !== lastOpen) {
    setLastOpen(open);
    if (open) {
      setValues(valuesFrom(account));
      setErrors({});
    }
  }
  const save = useUpdateAccount(account['account-id'], {
    onSuccess: () => {
      toast('Changes saved');
      onClose();
    },
  });
  return (
    <Dialog
      open={open}
      onClose={() => {
        save.reset();
        onClose();
      }}
      title={`Edit ${account['display-name']}`}
      size="lg"
      dismissable={!save.isPending}
      onSubmit={() => {
        const e = validate(values, account.role, false);
        setErrors(e);
        if (Object.keys(e).length) return;
        const body = toBody(values, account.role, false, account);
        if (Object.keys(body).length === 0) {
          onClose();
          return;
        }
        save.mutate(body);
      }}
      footer={
        <>
          <Button variant="ghost" onClick={onClose} disabled={save.isPending}>
            Cancel
          </Button>
          <Button type="submit" variant="primary" busy={save.isPending}>
            Save changes
          </Button>
        </>
      }
    >
      <div className="stack">
        <AccountFields values={values} onChange={setValues} errors={errors} role={account.role} creating={false} singular={kind.singular} />
        {save.error ? <ErrorNotice error={save.error} /> : null}
      </div>
    </Dialog>
  );
}

function DirectoryPanel({ duid }: { duid: string }) {
  const q = useDirectoryEntry(duid);
  return (
    <Panel
      title="Directory entry"
      subtitle={
        <>
          What data providers see at <code>GET /v1/data-users/{'{duid}'}</code>.
        </>
      }
    >
      {q.isLoading ? (
        <Spinner />
      ) : q.error ? (
        <ErrorNotice error={q.error} />
      ) : q.data ? (
        <KeyValue
          columns={2}
          items={[
            ['Listed as', q.data['data-user']['display-name']],
            ['Status', <StatusBadge status={q.data['data-user'].status} />],
          ]}
        />
      ) : null}
    </Panel>
  );
}

function WebhooksPanel({ duid }: { duid: string }) {
  const q = useDataUserWebhooks(duid);
  const hooks = q.data?.webhooks ?? [];
  return (
    <Panel
      title="Webhook subscriptions"
      actions={
        <ButtonLink size="sm" href={href('/webhooks', { duid })} icon="webhook">
          Webhooks
        </ButtonLink>
      }
      flush
    >
      <PanelBody query={q} empty={hooks.length === 0 ? <p className="muted small panel-pad">No subscriptions. The data user adds them through the API (POST /v1/webhooks).</p> : null}>
        <DataTable
          rows={hooks}
          rowKey={(w) => w.wid}
          columns={[
            { key: 'url', header: 'Callback URL', render: (w) => <code className="mono-sm">{w['callback-url']}</code> },
            { key: 'events', header: 'Events', render: (w) => <Chips values={w['event-types']} /> },
            { key: 'active', header: 'State', render: (w) => (w.active ? <Badge tone="green">Active</Badge> : <Badge tone="grey">Inactive</Badge>) },
            { key: 'deliveries', header: '', align: 'right', render: (w) => <Link to={href('/webhooks', { tab: 'deliveries', wid: w.wid })}>Deliveries</Link> },
          ]}
        />
      </PanelBody>
    </Panel>
  );
}

function OwnRecordsPanel({ duid }: { duid: string }) {
  const q = useRecordsOwnedBy(duid);
  const rows = q.data?.records ?? [];
  return (
    <Panel
      title="Access records"
      subtitle={q.data ? `${q.data.total.toLocaleString('en-GB')} registered by this data user${q.data.total > rows.length ? `; the ${rows.length} newest are shown` : ''}.` : undefined}
      actions={
        <ButtonLink size="sm" href={href('/records', { q: duid })} icon="file">
          Open in Access records
        </ButtonLink>
      }
      flush
    >
      <PanelBody query={q} empty={rows.length === 0 ? <p className="muted small panel-pad">None yet. The data user registers records through the API (POST /v1/access-records).</p> : null}>
        <DataTable
          dense
          rows={rows}
          rowKey={(r) => r.ak}
          onRowClick={(r) => navigate(`/records/${r.ak}`)}
          columns={[
            accessKeyColumn({ truncate: true }),
            { key: 'mpxn', header: 'MPxN', render: (r) => <code>{r.mpxn}</code> },
            { key: 'basis', header: 'Legal basis', render: (r) => legalBasis(r['legal-basis']) },
            { key: 'state', header: 'State', render: (r) => <StatusBadge status={r.state} /> },
            { key: 'expiry', header: 'Expiry', render: (r) => (r.expiry ? <When iso={r.expiry} compact /> : <span className="muted">No end</span>) },
          ]}
        />
      </PanelBody>
    </Panel>
  );
}

function ActivityPanel({ accountId }: { accountId: string }) {
  const q = useAccountAudit(accountId);
  const events = q.data?.events ?? [];
  return (
    <Panel
      title="Audit trail of this account"
      subtitle="What this account did, and what was done to it, newest first."
      actions={
        <ButtonLink size="sm" href={href('/audit', { 'account-id': accountId })} icon="audit">
          Full audit trail
        </ButtonLink>
      }
      flush
    >
      <PanelBody query={q} empty={events.length === 0 ? <p className="muted small panel-pad">No audit events for this account yet.</p> : null}>
        <DataTable
          dense
          rows={events}
          rowKey={(e) => String(e.id)}
          columns={[
            { key: 'at', header: 'When', render: (e) => <When iso={e.at} compact seconds /> },
            { key: 'type', header: 'Event', render: (e) => <code>{e['event-type']}</code> },
            { key: 'actor', header: 'Actor', render: (e) => e.actor },
            { key: 'subject', header: 'Subject', render: (e) => <code className="mono-sm">{e.ak ?? e.ir ?? e.subject ?? '—'}</code> },
          ]}
        />
      </PanelBody>
    </Panel>
  );
}

/**
 * The body of a flush panel fed by one query: a spinner while loading, the register's
 * message on error, `empty` when there is nothing to show, otherwise the children.
 */
function PanelBody({ query, empty, children }: { query: { isLoading: boolean; error: unknown }; empty: ReactNode; children: ReactNode }) {
  if (query.isLoading) return <Spinner />;
  if (query.error)
    return (
      <div className="panel-pad">
        <ErrorNotice error={query.error} />
      </div>
    );
  return <>{empty ?? children}</>;
}
