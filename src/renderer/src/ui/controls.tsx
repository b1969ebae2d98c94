import { forwardRef, useEffect, useId, useState, type AnchorHTMLAttributes, type ButtonHTMLAttributes, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes, type TextareaHTMLAttributes } from 'react';
import { Icon, type IconName } from './icons';

type Variant = 'primary' | 'secondary' | 'danger' | 'ghost' | 'subtle';

interface ButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  variant?: Variant;
  size?: 'sm' | 'md';
  icon?: IconName;
  busy?: boolean;
}

export const Button = forwardRef<HTMLButtonElement, ButtonProps>(function Button({ variant = 'secondary', size = 'md', icon, busy, children, className, disabled, type = 'button', ...rest }, ref) {
  return (
    <button ref={ref} type={type} className={`btn btn-${variant} btn-${size}${busy ? ' is-busy' : ''}${className ? ` ${className}` : ''}`} disabled={disabled || busy} aria-busy={busy || undefined} {...rest}>
      {busy ? <span className="spinner spinner-inline" aria-hidden="true" /> : icon ? <Icon name={icon} size={16} /> : null}
      {children && <span>{children}</span>}
    </button>
  );
});

export function ButtonLink({
  href,
  variant = 'secondary',
  size = 'md',
  icon,
  children,
  external,
  ...rest
}: { href: string; variant?: Variant; size?: 'sm' | 'md'; icon?: IconName; children: ReactNode; external?: boolean } & Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'>) {
  return (
    <a href={href} className={`btn btn-${variant} btn-${size}`} {...(external ? { target: '_blank', rel: 'noopener noreferrer' } : {})} {...rest}>
      {icon && <Icon name={icon} size={16} />}
      <span>{children}</span>
    </a>
  );
}

interface FieldProps {
  label: ReactNode;
  hint?: ReactNode;
  error?: string | null;
  required?: boolean;
  children: (ids: { id: string; describedBy: string | undefined; invalid: boolean }) => ReactNode;
  className?: string;
}

/** Label + control + hint + error, wired together for screen readers. */
export function Field({ label, hint, error, required, children, className }: FieldProps) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field${error ? ' has-error' : ''}${className ? ` ${className}` : ''}`}>
      <label htmlFor={id} className="field-label">
        {label}
        {required && (
          <span className="field-required" aria-hidden="true">
            {' '}
            *
          </span>
        )}
      </label>
      {children({ id, describedBy, invalid: !!error })}
      {hint && (
        <div id={hintId} className="field-hint">
          {hint}
        </div>
      )}
      {error && (
        <div id={errorId} className="field-error" role="alert">
          {error}
        </div>
      )}
    </div>
  );
}

type InputProps = InputHTMLAttributes<HTMLInputElement> & { label: ReactNode; hint?: ReactNode; error?: string | null; fieldClassName?: string };

export const TextField = forwardRef<HTMLInputElement, InputProps>(function TextField({ label, hint, error, required, fieldClassName, className, ...rest }, ref) {
  return (
    <Field label={label} hint={hint} error={error} required={required} className={fieldClassName}>
      {({ id, describedBy, invalid }) => <input ref={ref} id={id} className={`input${className ? ` ${className}` : ''}`} aria-describedby={describedBy} aria-invalid={invalid || undefined} required={required} {...rest} />}
    </Field>
  );
});

export function TextArea({ label, hint, error, required, fieldClassName, ...rest }: TextareaHTMLAttributes<HTMLTextAreaElement> & { label: ReactNode; hint?: ReactNode; error?: string | null; fieldClassName?: string }) {
  return (
    <Field label={label} hint={hint} error={error} required={required} className={fieldClassName}>
      {({ id, describedBy, invalid }) => <textarea id={id} className="input textarea" aria-describedby={describedBy} aria-invalid={invalid || undefined} required={required} {...rest} />}
    </Field>
  );
}

export function SelectField({ label, hint, error, required, children, fieldClassName, ...rest }: SelectHTMLAttributes<HTMLSelectElement> & { label: ReactNode; hint?: ReactNode; error?: string | null; fieldClassName?: string }) {
  return (
    <Field label={label} hint={hint} error={error} required={required} className={fieldClassName}>
      {({ id, describedBy, invalid }) => (
        <select id={id} className="input select" aria-describedby={describedBy} aria-invalid={invalid || undefined} required={required} {...rest}>
          {children}
        </select>
      )}
    </Field>
  );
}

/** A compact labelled select for filter bars. */
export function FilterSelect({ label, value, onChange, options }: { label: string; value: string; onChange: (v: string) => void; options: Array<{ value: string; label: string }> }) {
  const id = useId();
  return (
    <div className="filter">
      <label htmlFor={id} className="filter-label">
        {label}
      </label>
      <select id={id} className="input select input-sm" value={value} onChange={(e) => onChange(e.target.value)}>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}

/** A row of fields and buttons that submits with Enter or its submit button (no page load). */
export function InlineForm({ onSubmit, children }: { onSubmit: () => void; children: ReactNode }) {
  return (
    <form
      className="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit();
      }}
    >
      {children}
    </form>
  );
}

/** A text input with the search glass before it (search boxes, the account picker). */
export function SearchInput(props: InputHTMLAttributes<HTMLInputElement>) {
  return (
    <div className="search-box">
      <Icon name="search" size={16} />
      <input {...props} />
    </div>
  );
}

/**
 * Search box that sends its value to the server after the operator stops typing
 * (or presses Enter). Never filters on the client.
 */
export function SearchBox({ label, value, onSearch, placeholder, delay = 350, width }: { label: string; value: string; onSearch: (v: string) => void; placeholder?: string; delay?: number; width?: number }) {
  const id = useId();
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  useEffect(() => {
    if (draft.trim() === value) return;
    const t = window.setTimeout(() => onSearch(draft.trim()), delay);
    return () => window.clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [draft]);
  return (
    <div className="filter filter-search" style={width ? { width } : undefined}>
      <label htmlFor={id} className="filter-label">
        {label}
      </label>
      <SearchInput
        id={id}
        type="search"
        className="input input-sm"
        value={draft}
        placeholder={placeholder}
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') onSearch(draft.trim());
        }}
      />
    </div>
  );
}

export function Checkbox({ label, checked, onChange, disabled, hint }: { label: ReactNode; checked: boolean; onChange: (v: boolean) => void; disabled?: boolean; hint?: ReactNode }) {
  const id = useId();
  return (
    <div className={`checkbox${disabled ? ' is-disabled' : ''}`}>
      <input id={id} type="checkbox" checked={checked} disabled={disabled} onChange={(e) => onChange(e.target.checked)} />
      <label htmlFor={id}>
        {label}
        {hint && <span className="checkbox-hint">{hint}</span>}
      </label>
    </div>
  );
}
