import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { formatDateTime, isoToMicros, localOffsetMinutes } from '../time.ts';
import type { ApiError } from './api.ts';

/** An ISO time from the store as local `YYYY-MM-DD HH:MM:SS.mmm`. */
export function localTime(iso: string): string {
  const micros = isoToMicros(iso);
  if (Number.isNaN(micros)) return iso;
  return formatDateTime(micros, localOffsetMinutes(micros));
}

async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    // No clipboard API (or no permission): the selection way below.
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'offscreen';
  document.body.append(area);
  area.select();
  document.execCommand('copy');
  area.remove();
}

export function CopyButton(props: { text: string; label: string; title?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      class="small"
      title={props.title ?? `Copy ${props.text}`}
      onClick={async () => {
        await copyText(props.text);
        setCopied(true);
        setTimeout(() => setCopied(false), 1500);
      }}
    >
      {copied ? 'Copied' : props.label}
    </button>
  );
}

export function ErrorBox(props: { error: ApiError; what: string }) {
  const { error } = props;
  return (
    <div class="error-box" role="alert">
      <strong>{props.what} failed</strong>
      <p>{error.message}</p>
      {error.issues.length > 0 && (
        <ul>
          {error.issues.map((issue) => (
            <li key={issue.path}>
              <code>{issue.path}</code>: {issue.message}
            </li>
          ))}
        </ul>
      )}
      {error.status === 401 && (
        <p>
          <a href="./">Sign in again</a> (open this page with <code>?token=…</code>).
        </p>
      )}
    </div>
  );
}

/** What is wrong with a form's input, one line each; nothing when all is well. */
export function FormProblems(props: { problems: readonly string[] }) {
  if (props.problems.length === 0) return null;
  return (
    <ul class="form-problems" role="alert">
      {props.problems.map((p) => (
        <li key={p}>{p}</li>
      ))}
    </ul>
  );
}

export function Empty(props: { children: ComponentChildren }) {
  return <p class="empty">{props.children}</p>;
}
