import type { Register } from '../context.js';
import type { AccessRecordInput } from '../../shared/schemas/access-record.js';
import type { Role } from '../../shared/vocabulary.js';
import type { Services } from '../services/index.js';

/**
 * The demo data set (shared/contract/demo-data.md). Loading is idempotent: accounts,
 * the customer's identity record and each organisation's record are created only when
 * missing, so running it twice leaves the same state. Return URLs are refreshed for the
 * port the register is listening on.
 */
export interface DemoAccount {
  accountId: string;
  role: Role;
  secret: string;
  displayName: string;
  organisationReference: string | null;
}

export const DEMO_ACCOUNTS: DemoAccount[] = [
  { accountId: 'admin_ops', role: 'admin', secret: 'admin-secret-demo', displayName: 'Register Operations', organisationReference: null },
  { accountId: 'support_desk', role: 'support', secret: 'support-secret-demo', displayName: 'Customer Support Desk', organisationReference: null },
  { accountId: 'bright_energy', role: 'data_user', secret: 'bright-secret-demo', displayName: 'Bright Energy Ltd', organisationReference: 'SEC-OU-00101' },
  { accountId: 'octopusflux', role: 'data_user', secret: 'octopus-secret-demo', displayName: 'OctopusFlux Ltd', organisationReference: 'SEC-OU-00102' },
  { accountId: 'northern_networks', role: 'data_user', secret: 'northern-secret-demo', displayName: 'Northern Networks plc', organisationReference: 'SEC-OU-00103' },
  { accountId: 'greenswitch', role: 'data_user', secret: 'greenswitch-secret-demo', displayName: 'GreenSwitch Analytics', organisationReference: 'SEC-OU-00104' },
  { accountId: 'provider_ops', role: 'data_provider', secret: 'provider-secret-demo', displayName: 'Demo Data Provider', organisationReference: null },
  { accountId: 'dcc_system', role: 'dcc', secret: 'dcc-secret-demo', displayName: 'Smart DCC', organisationReference: null },
  { accountId: 'portal_ops', role: 'portal', secret: 'portal-secret-demo', displayName: 'Central Access Register Portal', organisationReference: null },
];

export const DEMO_MPXN = '2312345678901';
export const DEMO_EMAIL = 'customer@example.com';

const CONTACT: Record<string, string> = {
  bright_energy: 'https://bright-energy.example/contact',
  octopusflux: 'https://octopusflux.example/contact',
  northern_networks: 'https://northern-networks.example/contact',
  greenswitch: 'https://greenswitch.example/contact',
  portal_ops: 'https://portal.example/contact',
};

export interface DemoSummary {
  accounts: { accountId: string; role: string; secret: string }[];
  mpxn: string;
  ir: string;
}

const day = 24 * 60 * 60 * 1000;
const dateIn = (now: Date, days: number) => new Date(now.getTime() + days * day).toISOString().slice(0, 10);
const timeAgo = (now: Date, days: number) => `${new Date(now.getTime() - days * day).toISOString().slice(0, 19)}Z`;

function consentRecord(now: Date, name: string, slug: string, purpose: string, dataTypes: string[], expiryDays: number, registeredDaysAgo: number, state: 'ACTIVE' | 'EXPIRED'): AccessRecordInput {
  return {
    'record-metadata': {
      'schema-version': '1.0',
      'controller-arrangement': {
        'arrangement-type': 'sole',
        controllers: [
          {
            name,
            role: 'sole',
            'contact-url': `https://${slug}.example/contact`,
            'privacy-rights-url': `https://${slug}.example/privacy`,
            'storage-conditions': { location: 'United Kingdom', 'retention-period': 'P2Y' },
          },
        ],
      },
    },
    notice: { 'shared-notice': { 'terms-url': `https://${slug}.example/smart-data-terms`, 'notice-version': '2.1', 'notice-language': 'en-GB' } },
    processing: { 'legal-basis': 'uk-consent', purpose, 'data-types': dataTypes as AccessRecordInput['processing']['data-types'] },
    'access-event': {
      state,
      'registered-at': timeAgo(now, registeredDaysAgo),
      expiry: dateIn(now, expiryDays),
      consent: { 'consent-type': 'expressed-consent', method: 'online-form' },
    },
  };
}

export async function seedDemo(reg: Register, svc: Services): Promise<DemoSummary> {
  const port = new URL(reg.origin).port || '80';
  const returnUrls = [`http://localhost:${port}/return`, `http://127.0.0.1:${port}/return`];
  // The register's own demo portal (/portal) returns customers here after re-identification.
  const portalUrls = [`${reg.origin}/portal/continue`, ...returnUrls];

  for (const a of DEMO_ACCOUNTS) {
    const existing = await svc.accounts.find(a.accountId);
    const urls = a.role === 'portal' ? portalUrls : a.role === 'data_user' ? returnUrls : [];
    if (!existing) {
      await svc.accounts.create('seed', {
        'account-id': a.accountId,
        'secret-key': a.secret,
        'display-name': a.displayName,
        role: a.role,
        'contact-url': CONTACT[a.accountId] ?? null,
        'organisation-reference': a.organisationReference,
        'data-types': a.role === 'data_user' ? ['HH-CONSUMPTION', 'HH-EXPORT', 'MTH-CONSUMPTION', 'TARIFF-IMPORT'] : [],
        'return-urls': urls,
      });
    } else if (urls.some((u) => !existing.returnUrls.includes(u))) {
      await svc.accounts.update('seed', a.accountId, { 'return-urls': [...new Set([...existing.returnUrls, ...urls])] });
    }
  }

  const bright = await svc.accounts.get('bright_energy');
  const now = reg.clock.now();
  let identity = (await svc.identities.search(bright.duid, { mpxn: DEMO_MPXN }, 1)).rows[0];
  if (!identity) {
    identity = await reg.tx(() =>
      svc.identities.create('seed', bright.duid, {
        'pii-principal': {
          mpxn: DEMO_MPXN,
          'move-in-date': '2022-06-30',
          address: { addressLine1: '14 Harbour View', addressLine2: 'Flat 3', townCity: 'Bristol', county: 'City of Bristol', postcode: 'BS1 6XN' },
        },
        'expressed-by': 'data-subject',
        email: DEMO_EMAIL,
        'principal-verification': {
          method: 'bill-match',
          'verified-at': timeAgo(now, 400),
          outcome: 'verified',
          reference: 'BE-VER-20451',
          'verified-against': 'Bright Energy billing account',
        },
      }),
    );
  }

  const records: { accountId: string; body: AccessRecordInput }[] = [
    { accountId: 'bright_energy', body: consentRecord(now, 'Bright Energy Ltd', 'bright-energy', 'Half-hourly tariff optimisation and export payments', ['HH-CONSUMPTION', 'HH-EXPORT', 'TARIFF-IMPORT'], 730, 30, 'ACTIVE') },
    { accountId: 'octopusflux', body: consentRecord(now, 'OctopusFlux Ltd', 'octopusflux', 'Personalised energy-saving insights in the OctopusFlux app', ['HH-CONSUMPTION'], 365, 20, 'ACTIVE') },
    {
      accountId: 'northern_networks',
      body: {
        'record-metadata': {
          'schema-version': '1.0',
          'controller-arrangement': {
            'arrangement-type': 'sole',
            controllers: [
              {
                name: 'Northern Networks plc',
                role: 'sole',
                'contact-url': 'https://northern-networks.example/contact',
                'privacy-rights-url': 'https://northern-networks.example/privacy',
                'statutory-reference': 'Electricity Act 1989 s.9; RIIO-ED2 network planning licence condition',
              },
            ],
          },
        },
        notice: null,
        processing: { 'legal-basis': 'uk-public-task', purpose: 'Distribution network planning and fault management', 'data-types': ['HH-CONSUMPTION', 'HH-EXPORT'] },
        'access-event': { state: 'ACTIVE', 'registered-at': timeAgo(now, 200), expiry: null, consent: null },
      },
    },
    { accountId: 'greenswitch', body: consentRecord(now, 'GreenSwitch Analytics', 'greenswitch', 'Monthly carbon footprint report', ['MTH-CONSUMPTION'], -30, 400, 'EXPIRED') },
  ];
  for (const r of records) {
    const account = await svc.accounts.get(r.accountId);
    if (!(await svc.records.callerHasRecordOn(account.duid, DEMO_MPXN))) await svc.records.create(account, r.body, { identity });
  }

  const alreadyDiscovered = (await svc.records.forMeterPoint(DEMO_MPXN, { state: 'DISCOVERED' })).some((r) => r.organisationReference === 'SEC-OU-00429');
  if (!alreadyDiscovered)
    await svc.dcc.recordDiscovered('seed', {
      mpxn: DEMO_MPXN,
      'organisation-name': 'Acme Energy Services Ltd',
      'organisation-reference': 'SEC-OU-00429',
      'first-seen': timeAgo(now, 45),
      'last-seen': timeAgo(now, 3),
      'data-types-observed': ['HH-CONSUMPTION'],
      'source-reference': 'DCC-SR-0000429-01',
    });

  return { accounts: DEMO_ACCOUNTS.map((a) => ({ accountId: a.accountId, role: a.role, secret: a.secret })), mpxn: DEMO_MPXN, ir: identity.ir };
}
