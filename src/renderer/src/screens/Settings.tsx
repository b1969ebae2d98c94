import { useState } from 'react';
import { useSettings } from '../api/register';
import { useAdvanceClock, useClock, useResetClock, useSetClock } from '../api/sandbox';
import type { ClockState } from '../api/types';
import { useAuth, useSession } from '../auth';
import { fmtDateTime, fmtDuration } from '../lib/format';
import { Button, InlineForm, TextField } from '../ui/controls';
import { IdText } from '../ui/copy';
import { ConfirmDialog } from '../ui/dialog';
import { Badge, ErrorNotice, Notice, Spinner } from '../ui/feedback';
import { ExternalLink, KeyValue, PageHeader, Panel } from '../ui/layout';
import { useNow } from '../ui/time';
import { useToast } from '../ui/toast';
import { SandboxSnapshots } from './SandboxSnapshots';

export function SettingsScreen() {
  const settings = useSettings();
  const s = settings.data;
  const desktop = window.darDesktop;
  const { signOut, isDesktop } = useAuth();
  const session = useSession();
  const [revealError, setRevealError] = useState<string | null>(null);
  const dataDir = s?.['data-dir'] ?? desktop?.dataFolder ?? null;

  return (
    <>
      <PageHeader title="Settings" subtitle="How this register is configured. Settings are set when the register starts (command-line flags or the desktop app)." />
      {settings.isLoading && <Spinner />}
      {settings.error ? <ErrorNotice error={settings.error} onRetry={() => void settings.refetch()} /> : null}
      {s && (
        <div className="grid grid-2">
          <Panel title="Register">
            <KeyValue
              items={[
                ['Mode', s.mode === 'sandbox' ? <Badge tone="amber">Sandbox</Badge> : <Badge tone="red">Production: real customers</Badge>],
                ['Version', s.version],
                ['Public origin', <ExternalLink href={s.origin} />],
                [
                  'Data folder',
                  dataDir ? (
                    <span className="stack-xs">
                      <IdText value={dataDir} />
                      {desktop && (
                        <Button size="sm" icon="folder" onClick={() => desktop.revealDataFolder().catch((e: Error) => setRevealError(e.message))}>
                          Show in file manager
                        </Button>
                      )}
                      {revealError && <span className="field-error">{revealError}</span>}
                    </span>
                  ) : (
                    'In memory (nothing is kept after the register stops)'
                  ),
                ],
                ['API documentation', <ExternalLink href={`${window.location.origin}/docs`}>/docs</ExternalLink>],
              ]}
            />
          </Panel>
          <Panel title="Passkeys (WebAuthn)" subtitle="Customers' passkeys are bound to this relying party; changing it invalidates them.">
            <KeyValue
              items={[
                ['Relying-party id', <code>{s['rp-id']}</code>],
                ['Relying-party name', s['rp-name']],
                ['Origin', <code>{s.origin}</code>],
              ]}
            />
          </Panel>
          <Panel title="E-mail">
            <KeyValue
              items={[
                ['Delivery', s.smtp.configured ? <Badge tone="green">SMTP</Badge> : <Badge tone="blue">Captured in the outbox only</Badge>],
                ['SMTP server', s.smtp.target ? <code>{s.smtp.target}</code> : null],
              ]}
            />
            {!s.smtp.configured && <p className="muted small">Start the register with --smtp smtp://host:port to also deliver e-mail. Every message is always kept in the outbox.</p>}
          </Panel>
          <Panel
            title="This console"
            actions={
              !isDesktop && (
                <Button size="sm" icon="signout" onClick={() => signOut(null)}>
                  Sign out
                </Button>
              )
            }
          >
            <KeyValue
              items={[
                ['Signed in as', `${session.account['display-name']} (${session.account['account-id']})`],
                ['Session ends', fmtDateTime(new Date(session.expiresAt).toISOString())],
                ['Running in', isDesktop ? `Desktop app ${desktop?.version ?? ''}` : 'Web browser'],
              ]}
            />
          </Panel>
        </div>
      )}
      {s?.mode === 'sandbox' && <SandboxClock />}
      {s?.mode === 'sandbox' && <SandboxSnapshots />}
    </>
  );
}

function SandboxClock() {
  const toast = useToast();
  const [days, setDays] = useState('1');
  const [resetting, setResetting] = useState(false);
  const clock = useClock(30_000);
  useNow(1000);
  const ranSummary = (res: ClockState) => {
    const r = res.ran;
    if (!r) return '';
    const parts = [
      r['webhook-attempts'] && `${r['webhook-attempts']} webhook attempt${r['webhook-attempts'] === 1 ? '' : 's'}`,
      r['records-expired'] && `${r['records-expired']} expired`,
      r['expiring-notices-queued'] && `${r['expiring-notices-queued']} expiring notice${r['expiring-notices-queued'] === 1 ? '' : 's'}`,
    ].filter(Boolean);
    return parts.length ? ` · ran ${parts.join(', ')}` : '';
  };
  const advance = useAdvanceClock({
    onSuccess: (res, seconds) => {
      toast(`Sandbox clock moved forward ${fmtDuration(seconds * 1000)}${ranSummary(res)}`);
    },
  });
  const reset = useResetClock();
  const [instant, setInstant] = useState('');
  const setTo = useSetClock({
    onSuccess: (res) => {
      toast(`Sandbox clock set to ${fmtDateTime(res.now)}${ranSummary(res)}`);
    },
  });
  // datetime-local has no zone: the field is UTC, as the register's API is.
  const instantIso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(instant) ? `${instant.length === 16 ? `${instant}:00` : instant}Z` : null;
  const PRESETS: Array<[string, number]> = [
    ['+15 min', 15 * 60],
    ['+1 h', 3600],
    ['+1 day', 86400],
    ['+30 days', 30 * 86400],
  ];
  const n = Number(days);
  const valid = Number.isFinite(n) && n > 0 && n <= 3650;
  const offset = clock.data?.['offset-ms'] ?? 0;

  return (
    <Panel title="Sandbox clock" subtitle="Move the register's time forward to see consent expire, webhooks fire and tokens lapse without waiting.">
      {clock.isLoading && <Spinner />}
      {clock.error ? <ErrorNotice error={clock.error} /> : null}
      {clock.data && (
        <div className="clock">
          <div className="clock-now">
            <span className="kv-label">Register time</span>
            <span className="clock-time">{fmtDateTime(clock.data.now)}</span>
            <span className="muted small">{offset === 0 ? 'In step with real time' : `Ahead of real time by ${fmtDuration(offset)}`}</span>
          </div>
          <InlineForm onSubmit={() => valid && advance.mutate(n * 86400)}>
            <TextField label="Advance by (days)" type="number" min={0.01} max={3650} step="any" value={days} onChange={(e) => setDays(e.target.value)} aria-invalid={!valid || undefined} />
            <Button type="submit" variant="primary" icon="clock" busy={advance.isPending} disabled={!valid}>
              Advance clock
            </Button>
            <Button icon="refresh" onClick={() => setResetting(true)} disabled={offset === 0}>
              Reset to real time
            </Button>
          </InlineForm>
          <div className="inline-form" role="group" aria-label="Clock presets">
            <span className="field-label">Presets</span>
            {PRESETS.map(([label, seconds]) => (
              <Button key={label} size="sm" onClick={() => advance.mutate(seconds)} disabled={advance.isPending || setTo.isPending}>
                {label}
              </Button>
            ))}
          </div>
          <InlineForm onSubmit={() => instantIso && setTo.mutate(instantIso)}>
            <TextField label="Set to instant (UTC)" type="datetime-local" step={1} value={instant} onChange={(e) => setInstant(e.target.value)} />
            <Button type="submit" icon="clock" busy={setTo.isPending} disabled={!instantIso}>
              Set clock
            </Button>
          </InlineForm>
          {advance.error ? <ErrorNotice error={advance.error} /> : null}
          {setTo.error ? <ErrorNotice error={setTo.error} /> : null}
          <Notice tone="blue">The clock only moves forward. Each change runs everything that fell due on the way, in order: every webhook retry, expiries and consent.expiring notices. What already happened cannot be undone.</Notice>
        </div>
      )}
      <ConfirmDialog
        open={resetting}
        onClose={() => setResetting(false)}
        title="Reset the sandbox clock?"
        confirmLabel="Reset clock"
        onConfirm={async () => {
          await reset.mutateAsync();
          toast('Sandbox clock reset to real time');
        }}
      >
        <p>The register goes back to real time. Records that expired while the clock was ahead stay expired.</p>
      </ConfirmDialog>
    </Panel>
  );
}
