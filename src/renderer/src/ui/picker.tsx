import { useEffect, useId, useRef, useState } from 'react';
import { useAccountSearch } from '../api/accounts';
import type { Account, Role } from '../api/types';
import { ROLE_LABEL } from '../lib/format';
import { ErrorNotice, StatusBadge } from './feedback';
import { SearchInput } from './controls';

/**
 * Picks one account by searching the register (never a full list): type a name,
 * account id, DUID or organisation reference; arrows + Enter choose.
 */
export function AccountPicker({
  label,
  roles,
  value,
  onChange,
  hint,
  required,
  placeholder = 'Search by name, account id or DUID',
  onlyActive = true,
}: {
  label: string;
  roles: Role[];
  value: Account | null;
  onChange: (a: Account | null) => void;
  hint?: string;
  required?: boolean;
  placeholder?: string;
  onlyActive?: boolean;
}) {
  const id = useId();
  const listId = `${id}-list`;
  const [text, setText] = useState('');
  const [term, setTerm] = useState('');
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const boxRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const t = window.setTimeout(() => setTerm(text.trim()), 250);
    return () => window.clearTimeout(t);
  }, [text]);

  const results = useAccountSearch(roles, term, onlyActive, open);
  const options = results.data ?? [];

  useEffect(() => setActive(0), [term]);
  useEffect(() => {
    const onDoc = (e: MouseEvent) => {
      if (boxRef.current && !boxRef.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', onDoc);
    return () => document.removeEventListener('mousedown', onDoc);
  }, []);

  const choose = (a: Account) => {
    onChange(a);
    setOpen(false);
    setText('');
  };

  if (value) {
    return (
      <div className="field">
        <span className="field-label" id={`${id}-label`}>
          {label}
          {required && <span className="field-required"> *</span>}
        </span>
        <div className="picked" aria-labelledby={`${id}-label`}>
          <div className="picked-main">
            <span className="picked-name">{value['display-name']}</span>
            <span className="picked-meta">
              {ROLE_LABEL[value.role]} · <code>{value['account-id']}</code>
            </span>
          </div>
          <StatusBadge status={value.status} />
          <button type="button" className="btn btn-ghost btn-sm" onClick={() => onChange(null)}>
            Change
          </button>
        </div>
      </div>
    );
  }

  return (
    <div className="field picker" ref={boxRef}>
      <label className="field-label" htmlFor={id}>
        {label}
        {required && <span className="field-required"> *</span>}
      </label>
      <SearchInput
        id={id}
        className="input"
        role="combobox"
        aria-expanded={open}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={open && options[active] ? `${listId}-${active}` : undefined}
        value={text}
        placeholder={placeholder}
        autoComplete="off"
        onFocus={() => setOpen(true)}
        onChange={(e) => {
          setText(e.target.value);
          setOpen(true);
        }}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown') {
            e.preventDefault();
            setOpen(true);
            setActive((i) => Math.min(options.length - 1, i + 1));
          } else if (e.key === 'ArrowUp') {
            e.preventDefault();
            setActive((i) => Math.max(0, i - 1));
          } else if (e.key === 'Enter' && open && options[active]) {
            e.preventDefault();
            choose(options[active]);
          } else if (e.key === 'Escape' && open) {
            e.stopPropagation();
            e.preventDefault();
            setOpen(false);
          }
        }}
      />
      {hint && <div className="field-hint">{hint}</div>}
      {open && (
        <ul className="picker-list" id={listId} role="listbox" aria-label={`${label} results`}>
          {results.isLoading && <li className="picker-empty">Searching…</li>}
          {results.error ? (
            <li className="picker-empty">
              <ErrorNotice error={results.error} />
            </li>
          ) : null}
          {!results.isLoading && !results.error && options.length === 0 && <li className="picker-empty">No matching {onlyActive ? 'active ' : ''}accounts.</li>}
          {options.map((a, i) => (
            <li
              key={a['account-id']}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              className={`picker-option${i === active ? ' is-active' : ''}`}
              onMouseDown={(e) => {
                e.preventDefault();
                choose(a);
              }}
              onMouseEnter={() => setActive(i)}
            >
              <span className="picker-option-name">{a['display-name']}</span>
              <span className="picker-option-meta">
                {ROLE_LABEL[a.role]} · {a['account-id']}
              </span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A list's "Data User" filter: the chosen DUID's account (from `useDataUser`), or a search. */
export function DataUserFilter({ duid, dataUser, roles = ['data_user'], onChange }: { duid: string; dataUser: Account | null; roles?: Role[]; onChange: (duid: string | null) => void }) {
  return (
    <div className="filter filter-picker">
      <AccountPicker label="Data User" roles={roles} value={duid ? dataUser : null} onChange={(a) => onChange(a?.duid ?? null)} placeholder="Search by name" onlyActive={false} />
    </div>
  );
}
