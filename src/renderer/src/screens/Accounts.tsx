import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { api, ApiError } from '../api/client';
import type { Account, AuditEvent, DirectoryEntry, Envelope, RecordRow, Role, Webhook } from '../api/types';
import { useAuth, useSession } from '../auth';
import { fmtDate, legalBasis, ROLE_LABEL } from '../lib/format';
import { href, Link, navigate, useSearchParams } from '../lib/router';
import { Button, ButtonLink, FilterSelect, SearchBox } from '../ui/controls';
import { IdText } from '../ui/copy';
import { ConfirmDialog, Dialog, SecretDialog } from '../ui/dialog';
import { Badge, EmptyState, ErrorNotice, Notice, Spinner, StatusBadge } from '../ui/feedback';
import type { IconName } from '../ui/icons';
import { Chips, ExternalLink, KeyValue, PageHeader, Panel, Toolbar } from '../ui/layout';
import { PagedTable, type Column, DataTable } from '../ui/table';
import { PageControls, useListState, useTablePage } from '../ui/listing';
import { When } from '../ui/time';
import { useToast } from '../ui/toast';
import { AccountFields, emptyValues, showsDataTypes, showsOrgRef, showsReturnUrls, toBody, validate, valuesFrom, type AccountFormValues, type FormErrors } from './AccountForm';

export interface AccountKind {
  path: string;
  role: Role;
  title: string;
  singular: string;
  icon: IconName;
  description: string;
}

export const ACCOUNT_KINDS: AccountKind[] = [
  { path: 'data-users', role: 'data_user', title: 'Data users', singular: 'data user', icon: 'building', description: 'Organisations that register their access to smart-meter data. Each has a DUID.' },
  { path: 'portal-accounts', role: 'portal', title: 'Portal accounts', singular: 'portal account', icon: 'globe', description: 'Transparency portals that let customers see, and withdraw, access to their meter point.' },
  { path: 'dcc-accounts', role: 'dcc', title: 'DCC accounts', singular: 'DCC account', icon: 'antenna', description: 'The DCC reports discovered access and change-of-tenancy events.' },
  { path: 'data-providers', role: 'data_provider', title: 'Data providers', singular: 'data provider', icon: 'database', description: 'Providers check access records before they release data.' },
  { path: 'administrators', role: 'admin', title: 'Administrators', singular: 'administrator', icon: 'shield', description: 'SEC administrators who operate the register and use this console.' },
  {
    path: 'support-staff',
    role: 'support',
    title: 'Support staff',
    singular: 'support account',
    icon: 'phone',
    description: 'Phone support: look up customers, run the re-identification desk and read the register. They cannot change accounts, records or settings.',
  },
];

export function kindForRole(role: string): AccountKind {
  return ACCOUNT_KINDS.find((k) => k.role === role) ?? ACCOUNT_KINDS[0];
}

function invalidateAccounts(qc: ReturnType<typeof useQueryClient>) {
  void qc.invalidateQueries({ queryKey: ['accounts'] });
  void qc.invalidateQueries({ queryKey: ['stats'] });
  void qc.invalidateQueries({ queryKey: ['audit'] });
}

/* ------------------------------------------------------------------ list */

export function AccountListScreen({ kind }: { kind: AccountKind }) {
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const status = params.get('status') ?? '';
  const [creating, setCreating] = useState(false);
  const [listState, setListState] = useListState();
  const list = useTablePage<Account>(['accounts', 'list', kind.role], '/admin/accounts', 'accounts', { role: kind.role, q: q || undefined, status: status || undefined }, listState);
  const sortKey = listState.sort ?? 'created';
  const order = listState.order ?? (sortKey === 'created' ? 'desc' : 'asc');
  // A new filter starts again at the first row.
  const filter = (changes: Record<string, string | null>) => setParams({ ...changes, row: null });

  const columns: Column<Account>[] = [
    {
      key: 'name',
      header: 'Name',
      sortKey: 'name',
      render: (a) => (
        <div className="cell-stack">
          <Link to={`/${kind.path}/${encodeURIComponent(a['account-id'])}`} className="cell-title">
            {a['display-name']}
          </Link>
          <span className="cell-sub">
            <code>{a['account-id']}</code>
          </span>
        </div>
      ),
    },
  ];
  if (kind.role === 'data_user' || kind.role === 'portal') columns.push({ key: 'duid', header: 'DUID', render: (a) => <code className="mono-sm">{a.duid}</code> });
  if (showsOrgRef(kind.role)) columns.push({ key: 'org', header: 'Organisation ref.', render: (a) => a['organisation-reference'] ?? <span className="muted">—</span> });
  if (showsDataTypes(kind.role)) columns.push({ key: 'types', header: 'Data types', render: (a) => (a['data-types-supported'].length ? `${a['data-types-supported'].length} of 8` : <span className="muted">none</span>) });
  columns.push({ key: 'status', header: 'Status', sortKey: 'status', className: 'col-key', render: (a) => <StatusBadge status={a.status} /> });
  columns.push({ key: 'registered', header: 'Registered', sortKey: 'created', firstOrder: 'desc', className: 'nowrap', render: (a) => fmtDate(a['registered-at']) });

  const filtered = !!(q || status);
  return (
    <>
      <PageHeader
        title={kind.title}
        subtitle={kind.description}
        actions={
          <Button variant="primary" icon="plus" onClick={() => setCreating(true)}>
            New {kind.singular}
          </Button>
        }
      />
      <Panel flush>
        <Toolbar end={list.total !== null && <span className="muted small">{list.total.toLocaleString('en-GB')} found</span>}>
          <SearchBox label="Search" value={q} onSearch={(v) => filter({ q: v })} placeholder="Part of a name or account id, a DUID or organisation ref." width={340} />
          <FilterSelect
            label="Status"
            value={status}
            onChange={(v) => filter({ status: v })}
            options={[
              { value: '', label: 'Any status' },
              { value: 'active', label: 'Active' },
              { value: 'suspended', label: 'Suspended' },
              { value: 'terminated', label: 'Terminated' },
            ]}
          />
        </Toolbar>
        <PagedTable
          page={list}
          noun={kind.title.toLowerCase()}
          columns={columns}
          sort={{ key: sortKey, order, onSort: (k, o) => setListState({ sort: k === 'created' && o === 'desc' ? null : k, order: k === 'created' && o === 'desc' ? null : o, offset: 0 }) }}
          controls={<PageControls state={listState} setState={setListState} total={list.total} shown={list.rows.length} noun={kind.title.toLowerCase()} />}
          rowKey={(a) => a['account-id']}
          onRowClick={(a) => navigate(`/${kind.path}/${encodeURIComponent(a['account-id'])}`)}
          caption={kind.title}
          empty={
            filtered ? (
              <EmptyState icon="search" title={`No ${kind.title.toLowerCase()} match`} action={<Button onClick={() => filter({ q: null, status: null })}>Clear filters</Button>}>
                Search matches part of a name or account id (ignoring case), or an exact DUID or organisation reference.
              </EmptyState>
            ) : (
              <EmptyState
                icon={kind.icon}
                title={`No ${kind.title.toLowerCase()} yet`}
                action={
                  <Button variant="primary" icon="plus" onClick={() => setCreating(true)}>
                    New {kind.singular}
                  </Button>
                }
              >
                Register the first {kind.singular}. You will get its secret key once, to hand over securely.
              </EmptyState>
            )
          }
        />
      </Panel>
      <CreateAccountDialog kind={kind} open={creating} onClose={() => setCreating(false)} />
    </>
  );
}

function CreateAccountDialog({ kind, open, onClose }: { kind: AccountKind; open: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  const toast = useToast();
  const [values, setValues] = useState<AccountFormValues>(emptyValues);
  const [errors, setErrors] = useState<FormErrors>({});
  const [created, setCreated] = useState<{ account: Account; secret: string } | null>(null);
  const create = useMutation({
    mutationFn: (body: Record<string, unknown>) => api<Envelope & { account: Account; 'secret-key'?: string }>('/admin/accounts', { method: 'POST', body }),
    onSuccess: (res) => {
      invalidateAccounts(qc);
      toast(`${res.account['display-name']} registered`);
      // The register returns secret-key only when it generated one; a secret the operator
      // typed is never echoed back, so there is nothing to show.
      const secret = res['secret-key'];
      if (secret) return setCreated({ account: res.account, secret });
      const id = res.account['account-id'];
      close();
      navigate(`/${kind.path}/${encodeURIComponent(id)}`);
    },
  });
  const close = () => {
    setValues(emptyValues());
    setErrors({});
    create.reset();
    onClose();
  };
  return (
    <>
      <Dialog
        open={open && !created}
        onClose={close}
        title={`New ${kind.singular}`}
        description={kind.description}
        size="lg"
        dismissable={!create.isPending}
        onSubmit={() => {
          const e = validate(values, kind.role, true);
          setErrors(e);
          if (Object.keys(e).length) return;
          create.mutate(toBody(values, kind.role, true));
        }}
        footer={
          <>
            <Button variant="ghost" onClick={close} disabled={create.isPending}>
              Cancel
            </Button>
            <Button type="submit" variant="primary" busy={create.isPending}>
              Create {kind.singular}
            </Button>
          </>
        }
      >
        <div className="stack">
          <AccountFields values={values} onChange={setValues} errors={errors} role={kind.role} creating singular={kind.singular} />
          {create.error ? <ErrorNotice error={create.error} /> : null}
        </div>
      </Dialog>
      {created && (
        <SecretDialog
          open
          title={`${created.account['display-name']} is registered`}
          accountId={created.account['account-id']}
          secret={created.secret}
          onClose={() => {
            const id = created.account['account-id'];
            setCreated(null);
            close();
            navigate(`/${kind.path}/${encodeURIComponent(id)}`);
          }}
        >
          {created.account.role === 'data_user' && (
            <p className="muted small">
              DUID <code>{created.account.duid}</code> is now listed in the directory data providers consult.
            </p>
          )}
        </SecretDialog>
      )}
    </>
  );
}

/* ---------------------------------------------------------------- detail */

type StatusAction = 'suspend' | 'reactivate' | 'terminate';

export function AccountDetailScreen({ kind, accountId }: { kind: AccountKind; accountId: string }) {
  const qc = useQueryClient();
  const toast = useToast();
  const session = useSession();
  const auth = useAuth();
  const [editing, setEditing] = useState(false);
  const [action, setAction] = useState<StatusAction | null>(null);
  const [rotating, setRotating] = useState(false);
  const [signingOut, setSigningOut] = useState(false);
  const [suspendReason, setSuspendReason] = useState('');
  const [secret, setSecret] = useState<string | null>(null);
  const query = useQuery({
    queryKey: ['accounts', 'detail', accountId],
    queryFn: async ({ signal }) => {
      // Links that only know a DUID (webhooks, records) land here too.
      if (accountId.startsWith('duid_')) {
        const found = await api<Envelope & { accounts: Account[] }>('/admin/accounts', { query: { q: accountId, limit: 1 }, signal });
        if (!found.accounts[0]) throw new ApiError(404, [{ code: 'NOT001', message: `No account has DUID ${accountId}.` }]);
        return { account: found.accounts[0] };
      }
      return api<Envelope & { account: Account }>(`/admin/accounts/${encodeURIComponent(accountId)}`, { signal });
    },
  });
  const account = query.data?.account;

  if (query.isLoading) return <Spinner label="Loading account…" />;
  if (query.error || !account)
    return (
      <>
        <PageHeader title={accountId} back={{ to: `/${kind.path}`, label: kind.title }} />
        <ErrorNotice error={query.error ?? new Error('Not found')} onRetry={() => void query.refetch()} />
      </>
    );

  const actualKind = account.role === kind.role ? kind : kindForRole(account.role);
  const isSelf = account['account-id'] === session.account['account-id'];
  const back = { to: `/${actualKind.path}`, label: actualKind.title };
  const terminated = account.status === 'terminated';

  const runStatus = async (a: StatusAction) => {
    // A suspension's reason is kept in the audit log (docs/security.md "What the audit records").
    const reason = suspendReason.trim();
    const body = a === 'suspend' && reason ? { reason } : undefined;
    const res = await api<Envelope & { account: Account }>(`/admin/accounts/${encodeURIComponent(account['account-id'])}/${a}`, { method: 'POST', ...(body ? { body } : {}) });
    qc.setQueryData(['accounts', 'detail', accountId], (old: unknown) => ({ ...(old as object), account: res.account }));
    invalidateAccounts(qc);
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
          const res = await api<Envelope & { account: Account }>(`/admin/accounts/${encodeURIComponent(account['account-id'])}/sign-out-everywhere`, { method: 'POST' });
          qc.setQueryData(['accounts', 'detail', accountId], (old: unknown) => ({ ...(old as object), account: res.account }));
          invalidateAccounts(qc);
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
          const res = await api<Envelope & { 'secret-key': string }>(`/admin/accounts/${encodeURIComponent(account['account-id'])}/rotate-secret`, { method: 'POST' });
          // A rotation ends every token of the account, this console's own included when the
          // operator rotates their own secret: sign in again with the new one (docs/security.md "Sessions end when they should").
          if (account['account-id'] === session.account['account-id'] && !session.desktop) await auth.signIn(account['account-id'], res['secret-key']);
          invalidateAccounts(qc);
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
  const qc = useQueryClient();
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
  const save = useMutation({
    mutationFn: (body: Record<string, unknown>) => api<Envelope & { account: Account }>(`/admin/accounts/${encodeURIComponent(account['account-id'])}`, { method: 'PATCH', body }),
    onSuccess: (res) => {
      qc.setQueryData(['accounts', 'detail', account['account-id']], (old: unknown) => ({ ...(old as object), account: res.account }));
      invalidateAccounts(qc);
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
  const q = useQuery({
    queryKey: ['accounts', 'directory', duid],
    queryFn: ({ signal }) => api<Envelope & { 'data-user': DirectoryEntry }>(`/data-users/${encodeURIComponent(duid)}`, { signal }),
  });
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
  const q = useQuery({
    queryKey: ['webhooks', duid],
    queryFn: ({ signal }) => api<Envelope & { webhooks: Webhook[] }>('/admin/webhooks', { query: { duid }, signal }),
  });
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
  const q = useQuery({
    queryKey: ['records', 'owned', duid],
    queryFn: ({ signal }) => api<Envelope & { records: RecordRow[]; total: number }>('/admin/records', { query: { q: duid, limit: 5 }, signal }),
  });
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
            // Long access keys give way (with the full key as a tooltip) so State and Expiry stay in view at 1024 px.
            {
              key: 'ak',
              header: 'Access key',
              render: (r) => (
                <Link to={`/records/${r.ak}`} className="mono-sm cell-truncate" title={r.ak}>
                  {r.ak}
                </Link>
              ),
            },
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
  const q = useQuery({
    queryKey: ['audit', 'account', accountId],
    queryFn: ({ signal }) => api<Envelope & { events: AuditEvent[] }>('/admin/audit', { query: { 'account-id': accountId, limit: 10 }, signal }),
  });
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

export function isApiError(e: unknown, code: string): boolean {
  return e instanceof ApiError && e.has(code);
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
