import { useState } from 'react';
import { ACCOUNT_STATUSES } from '../../../shared/vocabulary';
import { useAccountList, useCreateAccount } from '../api/accounts';
import type { Account } from '../api/types';
import { fmtDate } from '../lib/format';
import type { AccountKind } from '../lib/roles';
import { Link, navigate } from '../lib/router';
import { Button, FilterSelect, SearchBox } from '../ui/controls';
import { Dialog, SecretDialog } from '../ui/dialog';
import { EmptyState, ErrorNotice, StatusBadge, statusOptions } from '../ui/feedback';
import { PageHeader, Panel, Toolbar } from '../ui/layout';
import { PagedTable, type Column } from '../ui/table';
import { foundCount, useListScreen } from '../ui/listing';
import { useToast } from '../ui/toast';
import { AccountFields, emptyValues, showsDataTypes, showsOrgRef, toBody, validate, type AccountFormValues, type FormErrors } from './AccountForm';

/* ------------------------------------------------------------------ list */

export function AccountListScreen({ kind }: { kind: AccountKind }) {
  const view = useListScreen();
  const { param, filter } = view;
  const q = param('q');
  const status = param('status');
  const [creating, setCreating] = useState(false);
  const list = useAccountList(kind.role, { q: q || undefined, status: status || undefined }, view.state);

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
        <Toolbar end={foundCount(list.total)}>
          <SearchBox label="Search" {...view.search('q')} placeholder="Part of a name or account id, a DUID or organisation ref." width={340} />
          <FilterSelect label="Status" {...view.select('status')} options={statusOptions(ACCOUNT_STATUSES, 'Any status')} />
        </Toolbar>
        <PagedTable
          page={list}
          noun={kind.title.toLowerCase()}
          columns={columns}
          sort={view.sort}
          controls={view.controls(list, kind.title.toLowerCase())}
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
  const toast = useToast();
  const [values, setValues] = useState<AccountFormValues>(emptyValues);
  const [errors, setErrors] = useState<FormErrors>({});
  const [created, setCreated] = useState<{ account: Account; secret: string } | null>(null);
  const create = useCreateAccount({
    onSuccess: (res) => {
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
