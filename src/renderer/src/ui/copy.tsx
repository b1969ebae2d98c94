import { useEffect, useState } from 'react';
import { Icon } from './icons';

async function writeClipboard(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    // Fall back for contexts without the async clipboard permission.
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('Copy failed');
}

export function CopyButton({ text, label = 'Copy', showLabel = false }: { text: string; label?: string; showLabel?: boolean }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const t = window.setTimeout(() => setState('idle'), 1800);
    return () => window.clearTimeout(t);
  }, [state]);
  const text2 = state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : label;
  return (
    <button
      type="button"
      className={`copy-button${showLabel ? ' with-label' : ''}${state === 'copied' ? ' is-copied' : ''}`}
      aria-label={text2}
      title={text2}
      onClick={() =>
        writeClipboard(text).then(
          () => setState('copied'),
          () => setState('failed'),
        )
      }
    >
      <Icon name={state === 'copied' ? 'check' : 'copy'} size={15} />
      {showLabel && <span>{text2}</span>}
      <span className="sr-only" aria-live="polite">
        {state === 'copied' ? 'Copied to the clipboard' : ''}
      </span>
    </button>
  );
}

/** Monospace identifier with a copy button. */
export function IdText({ value, short }: { value: string | null | undefined; short?: boolean }) {
  if (!value) return <span className="muted">—</span>;
  return (
    <span className="id-text">
      <code title={value}>{short && value.length > 18 ? `${value.slice(0, 16)}…` : value}</code>
      <CopyButton text={value} label={`Copy ${value}`} />
    </span>
  );
}
