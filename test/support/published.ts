/**
 * Request bodies exactly as the published API's pages show them (../shared/seeds/), for the
 * contract tests that check a published request is accepted as written.
 */

/** The published IdentityRecord create example (seed: POST /identity-records), for any meter point. */
export const publishedIdentityBody = (mpxn: string, patch: Record<string, unknown> = {}) => ({
  'pii-principal': {
    mpxn,
    'move-in-date': '2022-06-30',
    address: { addressLine1: '221B Baker Street', townCity: 'London', postcode: 'NW1 6XE' },
  },
  'expressed-by': 'data-subject',
  email: 'customer@example.com',
  'principal-verification': {
    method: 'credit-card',
    'verified-at': '2023-11-07T05:30:45Z',
    outcome: 'verified',
    reference: 'ch_3ABC123xyz',
    submitted: 'XXXX-XXXX-XXXX-4242',
    'verified-against': 'Stripe customer record cus_ABC123',
    detail: { last4: '4242', brand: 'visa', stripe_customer: 'cus_ABC123' },
  },
  ...patch,
});
