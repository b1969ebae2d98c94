import { useState } from 'react';
import { useResetSandbox, useRestoreSnapshot, useSaveSnapshot, useSnapshots, type Snapshot } from '../api/sandbox';
import { fmtDateTime } from '../lib/format';
import { Button, InlineForm, TextField } from '../ui/controls';
import { ConfirmDialog } from '../ui/dialog';
import { EmptyState, ErrorNotice, Notice, Spinner } from '../ui/feedback';
import { Panel } from '../ui/layout';
import { useToast } from '../ui/toast';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9 ._-]*$/;

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * Sandbox snapshots: save the register's whole state under a name, restore one (after a
 * confirmation), or reset to the demo data or empty. Restoring replaces everything the
 * console shows, so every query is refetched afterwards.
 */
export function SandboxSnapshots() {
  const toast = useToast();
  const [name, setName] = useState('');
  const [restoring, setRestoring] = useState<Snapshot | null>(null);
  const [resetTo, setResetTo] = useState<'demo' | 'empty' | null>(null);
  const list = useSnapshots();
  const restore = useRestoreSnapshot();
  const reset = useResetSandbox();
  const save = useSaveSnapshot({
    onSuccess: (s) => {
      setName('');
      toast(`Snapshot "${s.name}" saved (${fmtBytes(s['size-bytes'])})`);
    },
  });
  const trimmed = name.trim();
  const nameOk = trimmed.length > 0 && trimmed.length <= 64 && NAME_RE.test(trimmed);
  const snapshots = list.data?.snapshots ?? [];

  return (
    <Panel title="Snapshots" subtitle="Save the register's whole state under a name and come back to it: records, identity records, tokens, outbox, deliveries, the clock and the audit chain.">
      <InlineForm onSubmit={() => nameOk && save.mutate(trimmed)}>
        <TextField label="Snapshot name" maxLength={64} placeholder="e.g. before-change-of-tenancy" value={name} onChange={(e) => setName(e.target.value)} aria-invalid={(trimmed.length > 0 && !nameOk) || undefined} />
        <Button type="submit" variant="primary" icon="plus" busy={save.isPending} disabled={!nameOk}>
          {save.isPending ? 'Saving…' : 'Save snapshot'}
        </Button>
        <Button onClick={() => setResetTo('demo')}>Reset to demo data</Button>
        <Button variant="danger" onClick={() => setResetTo('empty')}>
          Reset to empty
        </Button>
      </InlineForm>
      {trimmed.length > 0 && !nameOk && <p className="muted small">Letters, digits, spaces, dots, underscores and hyphens; starting with a letter or digit; up to 64 characters.</p>}
      {save.error ? <ErrorNotice error={save.error} /> : null}
      {list.isLoading ? (
        <Spinner label="Loading snapshots…" />
      ) : list.error ? (
        <ErrorNotice error={list.error} onRetry={() => void list.refetch()} />
      ) : snapshots.length === 0 ? (
        <EmptyState icon="info" title="No snapshots yet">
          Save one before a change you want to try again, e.g. before a customer confirms a magic link.
        </EmptyState>
      ) : (
        <div className="table-wrap">
          <table className="table table-dense" aria-label="Snapshots">
            <thead>
              <tr>
                <th>Name</th>
                <th>Saved at (register time)</th>
                <th>Size</th>
                <th aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {snapshots.map((s) => (
                <tr key={s.id}>
                  <td>
                    <strong>{s.name}</strong> <code className="mono-sm muted">{s.id}</code>
                  </td>
                  <td className="nowrap">{fmtDateTime(s['created-at'])}</td>
                  <td className="nowrap">{fmtBytes(s['size-bytes'])}</td>
                  <td className="align-right">
                    <Button size="sm" icon="refresh" onClick={() => setRestoring(s)}>
                      Restore
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.data && <p className="muted small">Kept in {list.data.location}.</p>}
      <Notice tone="blue">Restoring takes the register back exactly to the moment the snapshot was saved. Webhooks and e-mails still in flight from before are dropped, not sent.</Notice>
      <ConfirmDialog
        open={restoring !== null}
        onClose={() => setRestoring(null)}
        title={`Restore "${restoring?.name ?? ''}"?`}
        confirmLabel="Restore snapshot"
        busyLabel="Restoring…"
        tone="danger"
        onConfirm={async () => {
          const res = await restore.mutateAsync(restoring!.id);
          toast(`Register restored to "${res.restored.name}"`);
        }}
      >
        <p>Everything that happened since {restoring ? fmtDateTime(restoring['created-at']) : ''} is replaced by the saved state, the clock included. Save a snapshot first if you want to keep the current state.</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={resetTo !== null}
        onClose={() => setResetTo(null)}
        title={resetTo === 'demo' ? 'Reset to the demo data?' : 'Reset to an empty register?'}
        confirmLabel={resetTo === 'demo' ? 'Reset to demo data' : 'Reset to empty'}
        busyLabel="Resetting…"
        tone="danger"
        onConfirm={async () => {
          const res = await reset.mutateAsync(resetTo!);
          toast(res.seed === 'demo' ? 'Register reset to the demo data' : 'Register reset to empty');
        }}
      >
        <p>
          Every record, identity record, token, webhook, delivery, e-mail and audit event goes; the clock returns to real time. Accounts stay, so you and your Data Users can still sign in.
          {resetTo === 'demo' ? ' The demo data is then loaded again.' : ''} Saved snapshots are kept.
        </p>
      </ConfirmDialog>
    </Panel>
  );
}
