/**
 * The viewer page: trace search and list, a trace's waterfall and spans, and
 * metric charts, over the server's own routes. Bundled at build time into
 * dist/viewer (scripts/build-viewer.mjs); it fetches nothing from elsewhere.
 */
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import type { Route } from '../route-state.ts';
import { useRoute } from './hooks.ts';
import { MetricsView } from './metrics-view.tsx';
import { TraceList } from './trace-list.tsx';
import { TraceView } from './trace-view.tsx';

function title(route: Route): string {
  switch (route.view) {
    case 'trace':
      return `Trace ${route.traceId.slice(0, 8)}`;
    case 'metrics':
      return route.metrics.metric ? `Metric ${route.metrics.metric}` : 'Metrics';
    case 'traces':
      return 'Traces';
    default:
      return 'Not found';
  }
}

function App() {
  const route = useRoute();
  useEffect(() => {
    document.title = `${title(route)} · Telemetry`;
  }, [route]);
  return (
    <>
      <header class="top">
        <a class="brand" href="#/traces">
          Telemetry
        </a>
        <nav>
          <a href="#/traces" aria-current={route.view === 'traces' ? 'page' : undefined}>
            Traces
          </a>
          <a href="#/metrics" aria-current={route.view === 'metrics' ? 'page' : undefined}>
            Metrics
          </a>
        </nav>
      </header>
      <main>
        {route.view === 'traces' && <TraceList search={route.search} />}
        {route.view === 'trace' && <TraceView traceId={route.traceId} spanId={route.spanId} />}
        {route.view === 'metrics' && <MetricsView metrics={route.metrics} />}
        {route.view === 'not-found' && (
          <section>
            <p>{route.reason}</p>
            <p>
              <a href="#/traces">Go to the traces</a>
            </p>
          </section>
        )}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
