import { type ReactNode, useCallback, useEffect, useId, useState } from 'react';
import { ApiError } from './api';

/** An error where it happened, in the API's words. */
export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const text =
    error instanceof ApiError
      ? `${error.message} (${error.code})`
      : error instanceof Error
        ? error.message
        : 'something went wrong';
  return (
    <p className="error" role="alert">
      {text}
    </p>
  );
}

interface FieldProps {
  label: string;
  name: string;
  error?: unknown;
  hint?: string;
  children: (props: { id: string; 'aria-invalid': boolean; 'aria-describedby'?: string }) => ReactNode;
}

/** A labelled control with its hint and, when the API named this field, the API's words under it. */
export function Field({ label, name, error, hint, children }: FieldProps) {
  const id = useId();
  const problem = error instanceof ApiError ? error.about(name) : null;
  const described = [hint ? `${id}-hint` : '', problem ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div className={problem ? 'field invalid' : 'field'}>
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-invalid': problem !== null, 'aria-describedby': described || undefined })}
      {hint && (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      )}
      {problem && (
        <small id={`${id}-error`} className="field-error" role="alert">
          {problem}
        </small>
      )}
    </div>
  );
}

/**
 * Runs `load` on mount, whenever `deps` change and on `reload()`: its latest data (kept while reloading), error,
 * and whether an answer is still awaited.
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []) {
  const [tick, setTick] = useState(0);
  const [result, setResult] = useState<{ data: T | null; error: unknown; for: string | null }>({
    data: null,
    error: null,
    for: null,
  });
  const key = JSON.stringify([tick, ...deps]);
  useEffect(() => {
    let live = true;
    load().then(
      (data) => live && setResult({ data, error: null, for: key }),
      (error: unknown) => live && setResult((r) => ({ data: r.data, error, for: key })),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: result.data, error: result.error, loading: result.for !== key, reload };
}

/**
 * A write from a list page: asks `question` first (when given), runs it, then `after` (a reload); its error is
 * kept, to be shown where it happened.
 */
export function useAction(after: () => void) {
  const [error, setError] = useState<unknown>(null);
  const run = async (work: () => Promise<unknown>, question?: string) => {
    if (question !== undefined && !window.confirm(question)) return;
    try {
      await work();
      setError(null);
      after();
    } catch (failure) {
      setError(failure);
    }
  };
  return { error, run };
}

/** Page through a list held in memory. */
export function usePages<T>(items: readonly T[], size = 20) {
  const [page, setPage] = useState(1);
  const pages = Math.max(1, Math.ceil(items.length / size));
  const current = Math.min(page, pages);
  return {
    rows: items.slice((current - 1) * size, current * size),
    pager: <Pager page={current} pages={pages} onPage={setPage} />,
  };
}

export function Pager({
  page,
  pages,
  onPage,
}: {
  page: number;
  pages: number;
  onPage: (page: number) => void;
}) {
  if (pages <= 1) return null;
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous
      </button>
      <span aria-live="polite">
        Page {page} of {pages}
      </span>
      <button type="button" disabled={page >= pages} onClick={() => onPage(page + 1)}>
        Next
      </button>
    </nav>
  );
}

export function StatusBadge({ status }: { status: string }) {
  const tone = status === 'healthy' ? 'ok' : status === 'unknown' || status === 'checking' ? 'idle' : 'bad';
  return <span className={`badge ${tone}`}>{status}</span>;
}

/** A list typed as "a, b, c" (or one per line): empty entries dropped. */
export function splitList(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A secret shown once, with a button that copies it. */
export function ShowOnce({ label, secret, onDone }: { label: string; secret: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  const id = useId();
  return (
    <section className="once" aria-labelledby={id}>
      <h3 id={id}>{label}</h3>
      <p>Copy it now: it is shown once, and only its hash is stored.</p>
      <div className="row">
        <input
          readOnly
          value={secret}
          aria-label={label}
          className="mono"
          data-testid="new-key"
          onFocus={(e) => e.currentTarget.select()}
        />
        <button
          type="button"
          onClick={() => {
            void navigator.clipboard?.writeText(secret).then(
              () => setCopied(true),
              () => setCopied(false),
            );
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
        <button type="button" onClick={onDone}>
          Done
        </button>
      </div>
    </section>
  );
}
