import type { Register } from '../context.js';
import { AccessRecords } from './access-records/index.js';
import { Accounts } from './accounts.js';
import { AuditLinker } from './audit.js';
import { Dcc } from './dcc.js';
import { EventPublisher } from './events.js';
import { IdentityRecords } from './identity-records.js';
import { ReidTokens } from './reid-tokens.js';
import { Mailer } from './mail/mailer.js';
import { ReidentificationService } from './reidentification/index.js';
import { DeliveryWorker } from './delivery-worker.js';
import { Sweeper } from './sweeper.js';
import { SandboxClock } from './sandbox-clock.js';
import { SearchIndexer } from './search-index.js';
import { SignInThrottle } from './sign-in-throttle.js';
import { Snapshots } from './snapshots.js';
import { Webhooks } from './webhooks.js';
import { RecordCountFolder } from './record-counts.js';
import type { Worker } from './worker.js';

/** Domain services, created once per register. Routes and workers call these, never SQL directly. */
export interface Services {
  accounts: Accounts;
  identities: IdentityRecords;
  records: AccessRecords;
  events: EventPublisher;
  dcc: Dcc;
  tokens: ReidTokens;
  webhooks: Webhooks;
  /** Delivers the webhook outbox (also in `workers`). */
  delivery: DeliveryWorker;
  /** Expires records and queues consent.expiring (also in `workers`). */
  sweeper: Sweeper;
  /** Moves a sandbox register's clock forward through every due instant. */
  sandboxClock: SandboxClock;
  /** Sandbox snapshots: save, list, restore, reset (the register's whole state). */
  snapshots: Snapshots;
  /** Issues re-identification tokens and runs the customer ceremonies (magic links, passkeys). */
  reidentification: ReidentificationService;
  /** The e-mail outbox: `mail.queue(...)` inside a transaction; its worker delivers over SMTP (also in `workers`). */
  mail: Mailer;
  /** Sign-in throttling, counted in the database (every node sharing it agrees). */
  signInThrottle: SignInThrottle;
  /** Links audit events into the chain after commit (also in `workers`). */
  auditLinker: AuditLinker;
  /** Moves records queued for the admin search into its trigram index, off the request path (also in `workers`). */
  searchIndexer: SearchIndexer;
  /** Background work (mail retries, webhook delivery, lifecycle sweeps, audit linking, search indexing), started after listen. */
  /** Folds PostgreSQL's pending record-count changes into the counts (also in `workers`; idle on SQLite). */
  recordCounts: RecordCountFolder;
  workers: Worker[];
}

export function createServices(reg: Register): Services {
  const accounts = new Accounts(reg);
  const mail = new Mailer(reg);
  const identities = new IdentityRecords(reg, { accounts, mail });
  const events = new EventPublisher(reg);
  const records = new AccessRecords(reg, identities, events);
  const webhooks = new Webhooks(reg, (duid) => accounts.findByDuid(duid));
  // Undelivered-webhook alerts go through the register's e-mail outbox.
  const delivery = new DeliveryWorker(reg, webhooks, events, mail);
  const sweeper = new Sweeper(reg, events);
  const tokens = new ReidTokens(reg);
  const sandboxClock = new SandboxClock(reg, sweeper, delivery);
  const reidentification = new ReidentificationService(reg, { accounts, identities, tokens, mail });
  const snapshots = new Snapshots(reg, {
    busy: () => (sandboxClock.busy ? 'The sandbox clock is moving; try again when that change has finished' : null),
    // Work claimed from the replaced state is dropped; counts kept on the old clock are forgotten.
    restored: () => {
      delivery.discardInFlight();
      mail.discardInFlight();
      reidentification.resetLimits();
    },
  });
  const auditLinker = new AuditLinker(reg.audit, reg.tx, reg.config.auditLinkIntervalMs);
  const searchIndexer = new SearchIndexer(reg.sqlite, reg.tx, reg.config.searchIndexIntervalMs);
  const recordCounts = new RecordCountFolder(reg.store, reg.config.recordCountFoldIntervalMs);
  const services: Services = {
    accounts,
    identities,
    records,
    events,
    dcc: new Dcc(reg, records, events),
    tokens,
    mail,
    reidentification,
    snapshots,
    webhooks,
    delivery,
    sweeper,
    sandboxClock,
    auditLinker,
    searchIndexer,
    recordCounts,
    signInThrottle: new SignInThrottle(reg),
    workers: [sweeper, delivery, mail.worker, auditLinker, searchIndexer, recordCounts],
  };
  return services;
}
