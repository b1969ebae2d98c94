import { createContext, useCallback, useContext, useState, type ReactNode } from 'react';
import { Icon } from './icons';

interface Toast {
  id: number;
  tone: 'green' | 'red' | 'blue';
  text: ReactNode;
}

const ToastContext = createContext<(text: ReactNode, tone?: Toast['tone']) => void>(() => undefined);

let nextId = 1;

/** Short confirmations ("Data user created") in the bottom-right corner. */
export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const push = useCallback((text: ReactNode, tone: Toast['tone'] = 'green') => {
    const id = nextId++;
    setToasts((t) => [...t, { id, tone, text }]);
    window.setTimeout(() => setToasts((t) => t.filter((x) => x.id !== id)), 5000);
  }, []);
  return (
    <ToastContext.Provider value={push}>
      {children}
      <div className="toasts" aria-live="polite" aria-atomic="false">
        {toasts.map((t) => (
          <div key={t.id} className={`toast toast-${t.tone}`} role="status">
            <Icon name={t.tone === 'red' ? 'alert' : t.tone === 'blue' ? 'info' : 'check'} size={16} />
            <span>{t.text}</span>
            <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => setToasts((all) => all.filter((x) => x.id !== t.id))}>
              <Icon name="close" size={14} />
            </button>
          </div>
        ))}
      </div>
    </ToastContext.Provider>
  );
}

export function useToast() {
  return useContext(ToastContext);
}
