import { useId } from 'react';
import type { JsonSchema } from './api';

/** A form value per property: text for strings, numbers and JSON; a boolean for checkboxes. */
export type FormValues = Record<string, string | boolean>;

function kindOf(schema: JsonSchema): 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'json' {
  if (Array.isArray(schema.enum) && schema.enum.every((v) => typeof v === 'string')) return 'enum';
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (type === 'string' || type === 'number' || type === 'integer' || type === 'boolean') return type;
  return 'json';
}

export function initialValues(schema: JsonSchema | undefined): FormValues {
  const values: FormValues = {};
  for (const [name, prop] of Object.entries(schema?.properties ?? {})) {
    const kind = kindOf(prop);
    if (kind === 'boolean') values[name] = prop.default === true;
    else if (prop.default !== undefined)
      values[name] =
        typeof prop.default === 'string'
          ? prop.default
          : JSON.stringify(prop.default, null, kind === 'json' ? 2 : 0);
    else values[name] = '';
  }
  return values;
}

/** The tool's arguments from the form, or the problems that stop them (by property). */
export function toArguments(
  schema: JsonSchema | undefined,
  values: FormValues,
): { args: Record<string, unknown>; problems: Record<string, string> } {
  const args: Record<string, unknown> = {};
  const problems: Record<string, string> = {};
  const required = new Set(schema?.required ?? []);
  for (const [name, prop] of Object.entries(schema?.properties ?? {})) {
    const kind = kindOf(prop);
    const value = values[name];
    if (kind === 'boolean') {
      if (value === true || required.has(name)) args[name] = value === true;
      continue;
    }
    const text = typeof value === 'string' ? value : '';
    if (text.trim() === '') {
      if (required.has(name)) problems[name] = 'required';
      continue;
    }
    if (kind === 'number' || kind === 'integer') {
      const n = Number(text);
      if (!Number.isFinite(n) || (kind === 'integer' && !Number.isInteger(n)))
        problems[name] = kind === 'integer' ? 'a whole number' : 'a number';
      else args[name] = n;
    } else if (kind === 'json') {
      try {
        args[name] = JSON.parse(text);
      } catch {
        problems[name] = 'valid JSON';
      }
    } else args[name] = text;
  }
  return { args, problems };
}

/** A form generated from a tool's JSON Schema: one labelled control per property. */
export function SchemaForm({
  schema,
  values,
  problems,
  onChange,
}: {
  schema: JsonSchema | undefined;
  values: FormValues;
  problems: Record<string, string>;
  onChange: (values: FormValues) => void;
}) {
  const base = useId();
  const properties = Object.entries(schema?.properties ?? {});
  if (properties.length === 0) return <p className="muted">This tool takes no arguments.</p>;
  const required = new Set(schema?.required ?? []);
  return (
    <>
      {properties.map(([name, prop]) => {
        const id = `${base}-${name}`;
        const kind = kindOf(prop);
        const problem = problems[name];
        const set = (value: string | boolean) => onChange({ ...values, [name]: value });
        const value = values[name];
        const text = typeof value === 'string' ? value : '';
        const describedBy =
          [prop.description ? `${id}-hint` : '', problem ? `${id}-error` : ''].filter(Boolean).join(' ') ||
          undefined;
        const common = { id, 'aria-invalid': problem !== undefined, 'aria-describedby': describedBy };
        return (
          <div
            className={kind === 'boolean' ? 'field check' : problem ? 'field invalid' : 'field'}
            key={name}
          >
            {kind === 'boolean' && (
              <input
                {...common}
                type="checkbox"
                checked={values[name] === true}
                onChange={(e) => set(e.target.checked)}
              />
            )}
            <label htmlFor={id}>
              {prop.title ?? name}
              {required.has(name) && <span aria-hidden="true"> *</span>}
              {required.has(name) && <span className="sr-only"> (required)</span>}
              {kind === 'json' && <span className="muted"> (JSON)</span>}
            </label>
            {kind === 'enum' && (
              <select {...common} value={text} onChange={(e) => set(e.target.value)}>
                <option value="">—</option>
                {(prop.enum as string[]).map((v) => (
                  <option key={v} value={v}>
                    {v}
                  </option>
                ))}
              </select>
            )}
            {kind === 'string' && <input {...common} value={text} onChange={(e) => set(e.target.value)} />}
            {(kind === 'number' || kind === 'integer') && (
              <input
                {...common}
                type="number"
                step={kind === 'integer' ? 1 : 'any'}
                value={text}
                onChange={(e) => set(e.target.value)}
              />
            )}
            {kind === 'json' && (
              <textarea
                {...common}
                className="mono"
                rows={4}
                value={text}
                onChange={(e) => set(e.target.value)}
              />
            )}
            {prop.description && (
              <small id={`${id}-hint`} className="hint">
                {prop.description}
              </small>
            )}
            {problem && (
              <small id={`${id}-error`} className="field-error" role="alert">
                Must be {problem}.
              </small>
            )}
          </div>
        );
      })}
    </>
  );
}
