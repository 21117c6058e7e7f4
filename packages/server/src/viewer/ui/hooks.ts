import { useEffect, useMemo, useState } from 'preact/hooks';
import { parseRoute, type Route } from '../route-state.ts';
import { ApiError, api, type SuggestRoute } from './api.ts';

const NAVIGATE = 'telemetry:navigate';

/** The route of the URL's hash, following links, back/forward and `navigate`. */
export function useRoute(): Route {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const update = () => setHash(location.hash);
    addEventListener('hashchange', update);
    addEventListener(NAVIGATE, update);
    return () => {
      removeEventListener('hashchange', update);
      removeEventListener(NAVIGATE, update);
    };
  }, []);
  return useMemo(() => parseRoute(hash), [hash]);
}

/** Goes to a hash; `replace` does not add a history entry (selecting spans within a trace). */
export function navigate(hash: string, replace = false): void {
  if (location.hash === hash) return;
  if (replace) {
    history.replaceState(history.state, '', hash);
    dispatchEvent(new Event(NAVIGATE));
  } else {
    location.hash = hash;
  }
}

export type Loadable<T> =
  | { readonly state: 'loading' }
  | { readonly state: 'done'; readonly value: T }
  | { readonly state: 'failed'; readonly error: ApiError };

export const asApiError = (error: unknown): ApiError =>
  error instanceof ApiError
    ? error
    : new ApiError(0, 'PAGE_ERROR', (error as Error)?.message ?? String(error));

/** Runs `load` whenever `key` changes, cancelling the previous run. */
export function useLoad<T>(key: string, load: (signal: AbortSignal) => Promise<T>): Loadable<T> {
  const [result, setResult] = useState<{ key: string; value: Loadable<T> }>({
    key,
    value: { state: 'loading' },
  });
  useEffect(() => {
    const controller = new AbortController();
    setResult({ key, value: { state: 'loading' } });
    load(controller.signal).then(
      (value) => {
        if (!controller.signal.aborted) setResult({ key, value: { state: 'done', value } });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) {
          setResult({ key, value: { state: 'failed', error: asApiError(error) } });
        }
      },
    );
    return () => controller.abort();
  }, [key]);
  return result.key === key ? result.value : { state: 'loading' };
}

/** Suggestions for a search field, as the user types (a short pause first); none on failure. */
export function useSuggestions(
  route: SuggestRoute,
  prefix: string,
  extra: Record<string, string | null> = {},
): readonly string[] {
  const [values, setValues] = useState<readonly string[]>([]);
  const extraKey = JSON.stringify(extra);
  useEffect(() => {
    const controller = new AbortController();
    const timer = setTimeout(() => {
      const query = new URLSearchParams({ limit: '50' });
      if (prefix) query.set('prefix', prefix.slice(0, 1024));
      for (const [k, v] of Object.entries(JSON.parse(extraKey) as Record<string, string | null>)) {
        if (v) query.set(k, v);
      }
      api.suggest(route, query, controller.signal).then(
        (answer) => setValues(answer.values),
        () => {
          if (!controller.signal.aborted) setValues([]);
        },
      );
    }, 150);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [route, prefix, extraKey]);
  return values;
}
