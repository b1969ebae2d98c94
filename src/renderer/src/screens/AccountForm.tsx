import { useEffect, useState } from 'react';
import { DATA_TYPES, type Account, type Role } from '../api/types';
import { slugify } from '../lib/format';
import { Checkbox, TextArea, TextField } from '../ui/controls';
import { Field } from '../ui/controls';

const ACCOUNT_ID = /^[a-z0-9][a-z0-9_.-]{2,63}$/;
// As published: 3–64 letters, digits, _ or -; kept as typed (the register matches it ignoring case).
const ORG_REF = /^[A-Za-z0-9_-]{3,64}$/;
const HTTP_URL = /^https?:\/\/[^\s]+$/;

export interface AccountFormValues {
  accountId: string;
  displayName: string;
  contactUrl: string;
  organisationReference: string;
  dataTypes: string[];
  returnUrls: string;
  secretMode: 'generate' | 'set';
  secret: string;
}

export function emptyValues(): AccountFormValues {
  return { accountId: '', displayName: '', contactUrl: '', organisationReference: '', dataTypes: [], returnUrls: '', secretMode: 'generate', secret: '' };
}

export function valuesFrom(a: Account): AccountFormValues {
  return {
    accountId: a['account-id'],
    displayName: a['display-name'],
    contactUrl: a['contact-url'] ?? '',
    organisationReference: a['organisation-reference'] ?? '',
    dataTypes: [...a['data-types-supported']],
    returnUrls: a['return-urls'].join('\n'),
    secretMode: 'generate',
    secret: '',
  };
}

function urls(text: string): string[] {
  return text
    .split(/[\n,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export function showsDataTypes(role: Role): boolean {
  return role === 'data_user' || role === 'portal';
}
export function showsReturnUrls(role: Role): boolean {
  return role === 'data_user' || role === 'portal';
}
export function showsOrgRef(role: Role): boolean {
  return role !== 'admin' && role !== 'support';
}

export type FormErrors = Partial<Record<keyof AccountFormValues, string>>;

export function validate(v: AccountFormValues, role: Role, creating: boolean): FormErrors {
  const e: FormErrors = {};
  if (creating && !ACCOUNT_ID.test(v.accountId)) e.accountId = '3–64 characters: lower-case letters, digits, _ . - (starting with a letter or digit).';
  if (!v.displayName.trim()) e.displayName = 'Enter the name customers and providers will see.';
  else if (v.displayName.trim().length > 200) e.displayName = 'At most 200 characters.';
  if (v.contactUrl.trim() && !HTTP_URL.test(v.contactUrl.trim())) e.contactUrl = 'Enter a full http:// or https:// address.';
  if (showsOrgRef(role) && v.organisationReference.trim() && !ORG_REF.test(v.organisationReference.trim())) e.organisationReference = '3–64 letters, digits, _ or -, e.g. SEC-OU-00429 or org_abc123def456.';
  if (showsReturnUrls(role)) {
    const list = urls(v.returnUrls);
    const bad = list.find((u) => !HTTP_URL.test(u));
    if (bad) e.returnUrls = `"${bad}" is not a full http:// or https:// address.`;
    else if (list.length > 20) e.returnUrls = 'At most 20 return URLs.';
    else if (new Set(list).size !== list.length) e.returnUrls = 'Each return URL may appear only once.';
  }
  if (creating && v.secretMode === 'set' && (v.secret.length < 12 || v.secret.length > 200)) e.secret = 'At least 12 characters (or let the register generate one).';
  return e;
}

/** Create body (POST /admin/accounts) or changes (PATCH /admin/accounts/{id}). */
export function toBody(v: AccountFormValues, role: Role, creating: boolean, before?: Account): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const contact = v.contactUrl.trim() || null;
  const org = v.organisationReference.trim() || null;
  const returnUrls = urls(v.returnUrls);
  if (creating) {
    body['account-id'] = v.accountId;
    body.role = role;
    body['display-name'] = v.displayName.trim();
    if (contact) body['contact-url'] = contact;
    if (showsOrgRef(role) && org) body['organisation-reference'] = org;
    if (showsDataTypes(role) && v.dataTypes.length) body['data-types'] = v.dataTypes;
    if (showsReturnUrls(role) && returnUrls.length) body['return-urls'] = returnUrls;
    if (v.secretMode === 'set') body['secret-key'] = v.secret;
    return body;
  }
  if (!before) return body;
  if (v.displayName.trim() !== before['display-name']) body['display-name'] = v.displayName.trim();
  if (contact !== (before['contact-url'] ?? null)) body['contact-url'] = contact;
  if (showsOrgRef(role) && org !== (before['organisation-reference'] ?? null)) body['organisation-reference'] = org;
  if (showsDataTypes(role) && JSON.stringify([...v.dataTypes].sort()) !== JSON.stringify([...before['data-types-supported']].sort())) body['data-types'] = v.dataTypes;
  if (showsReturnUrls(role) && JSON.stringify(returnUrls) !== JSON.stringify(before['return-urls'])) body['return-urls'] = returnUrls;
  return body;
}

export function AccountFields({ values, onChange, errors, role, creating, singular }: { values: AccountFormValues; onChange: (v: AccountFormValues) => void; errors: FormErrors; role: Role; creating: boolean; singular: string }) {
  const [idTouched, setIdTouched] = useState(false);
  const set = <K extends keyof AccountFormValues>(key: K, value: AccountFormValues[K]) => onChange({ ...values, [key]: value });
  useEffect(() => {
    if (!creating || idTouched) return;
    const suggested = slugify(values.displayName);
    if (suggested !== values.accountId) onChange({ ...values, accountId: suggested });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [values.displayName]);

  return (
    <div className="form-grid">
      <TextField
        label="Display name"
        required
        value={values.displayName}
        onChange={(e) => set('displayName', e.target.value)}
        error={errors.displayName}
        hint="Shown to customers when this organisation asks them to confirm who they are."
        autoFocus
        maxLength={200}
      />
      {creating && (
        <TextField
          label="Account id"
          required
          value={values.accountId}
          onChange={(e) => {
            setIdTouched(true);
            set('accountId', e.target.value);
          }}
          error={errors.accountId}
          hint={`The ${singular}'s login name. It cannot be changed later.`}
          spellCheck={false}
          autoComplete="off"
        />
      )}
      <TextField label="Contact URL" type="url" value={values.contactUrl} onChange={(e) => set('contactUrl', e.target.value)} error={errors.contactUrl} placeholder="https://example.org/contact" />
      {showsOrgRef(role) && (
        <TextField
          label="Organisation reference"
          value={values.organisationReference}
          onChange={(e) => set('organisationReference', e.target.value)}
          error={errors.organisationReference}
          placeholder="SEC-OU-00429"
          hint="SEC / DCC reference; discovered access for this reference is linked to the organisation's own records."
          spellCheck={false}
        />
      )}
      {showsDataTypes(role) && (
        <Field label="Data types supported" className="span-2">
          {() => (
            <div className="checkbox-grid" role="group" aria-label="Data types supported">
              {DATA_TYPES.map((t) => (
                <Checkbox key={t} label={<code>{t}</code>} checked={values.dataTypes.includes(t)} onChange={(on) => set('dataTypes', on ? [...values.dataTypes, t] : values.dataTypes.filter((x) => x !== t))} />
              ))}
            </div>
          )}
        </Field>
      )}
      {showsReturnUrls(role) && (
        <TextArea
          label="Pre-registered return URLs"
          fieldClassName="span-2"
          rows={3}
          value={values.returnUrls}
          onChange={(e) => set('returnUrls', e.target.value)}
          error={errors.returnUrls}
          placeholder={'https://app.example.org/dar/return\nhttps://app.example.org/dar/passkey'}
          hint="One per line. Redirect and passkey return URLs in API calls must match one of these exactly."
          spellCheck={false}
        />
      )}
      {creating && (
        <fieldset className="fieldset span-2">
          <legend className="field-label">Secret key</legend>
          <div className="radio-row">
            <label className="radio">
              <input type="radio" name="secret-mode" checked={values.secretMode === 'generate'} onChange={() => set('secretMode', 'generate')} />
              Generate a strong secret (recommended)
            </label>
            <label className="radio">
              <input type="radio" name="secret-mode" checked={values.secretMode === 'set'} onChange={() => set('secretMode', 'set')} />
              Set one myself
            </label>
          </div>
          {values.secretMode === 'set' && (
            <TextField label="Secret key" type="password" autoComplete="new-password" value={values.secret} onChange={(e) => set('secret', e.target.value)} error={errors.secret} hint="At least 12 characters." />
          )}
        </fieldset>
      )}
    </div>
  );
}
