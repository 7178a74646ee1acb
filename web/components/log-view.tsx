import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { useSubscription } from 'urql';
import { useVirtualizer } from '@tanstack/react-virtual';
import { WebTrainingLogsDocument, type TrainingRunStatus } from '../../generated/web/graphql';
import { safeLogText } from '../log-text';

interface Line {
  seq: number;
  stream: string;
  text: string;
}

interface LogState {
  lines: Line[];
  lastSeq: number;
  finalStatus: TrainingRunStatus | null;
}

type LogEvent = { lines: { seq: number; stream: string; line: string }[]; finalStatus?: TrainingRunStatus | null };

/** Appends only lines past the last one kept: a re-subscription after a lost socket replays from there, never twice. */
function append(state: LogState, event: LogEvent): LogState {
  const fresh = event.lines.filter((line) => line.seq > state.lastSeq);
  if (fresh.length === 0 && !event.finalStatus) return state;
  const lines =
    fresh.length === 0 ? state.lines : [...state.lines, ...fresh.map((line) => ({ seq: line.seq, stream: line.stream, text: safeLogText(line.line) }))];
  return { lines, lastSeq: lines.length > 0 ? lines[lines.length - 1].seq : state.lastSeq, finalStatus: event.finalStatus ?? state.finalStatus };
}

const ROW_HEIGHT = 20;
const EMPTY: LogState = { lines: [], lastSeq: 0, finalStatus: null };

/** The run's log: replayed, then followed live; thousands of lines stay fast (only the visible rows are in the page). */
export function LogView({
  runId,
  onFinished,
  onMetric,
}: {
  runId: string;
  onFinished?: (status: TrainingRunStatus) => void;
  /** Called when lines that carry metric points arrive. */
  onMetric?: () => void;
}) {
  const searchId = useId();
  const [search, setSearch] = useState('');
  const [follow, setFollow] = useState(true);
  const variables = useMemo(() => ({ runId, afterSeq: 0 }), [runId]);
  // Every event goes through the handler (none is lost when several arrive between renders).
  const [{ data, error }] = useSubscription({ query: WebTrainingLogsDocument, variables }, (previous: LogState | undefined, event) =>
    append(previous ?? EMPTY, event.trainingLogs),
  );
  const state = data ?? EMPTY;
  const metricLines = useMemo(() => state.lines.filter((line) => line.text.includes('"mp":"metric"')).length, [state.lines]);
  useEffect(() => {
    if (metricLines > 0) onMetric?.();
  }, [metricLines, onMetric]);
  useEffect(() => {
    if (state.finalStatus) onFinished?.(state.finalStatus);
  }, [state.finalStatus, onFinished]);

  const shown = useMemo(() => {
    const words = search.trim().toLowerCase();
    return words ? state.lines.filter((line) => line.text.toLowerCase().includes(words)) : state.lines;
  }, [state.lines, search]);

  const scroller = useRef<HTMLDivElement>(null);
  const rows = useVirtualizer({ count: shown.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 30 });
  useEffect(() => {
    if (follow && shown.length > 0) rows.scrollToIndex(shown.length - 1, { align: 'end' });
  }, [follow, shown.length, rows]);

  return (
    <section aria-labelledby={`${searchId}-title`}>
      <h2 id={`${searchId}-title`}>Log</h2>
      <div className="filters">
        <label htmlFor={searchId}>Search the log</label>
        <input id={searchId} type="search" value={search} onChange={(event) => setSearch(event.target.value)} />
        <label className="checkbox">
          <input type="checkbox" checked={follow} onChange={(event) => setFollow(event.target.checked)} /> Follow
        </label>
        <span className="muted" aria-live="polite">
          {search ? `${shown.length} of ${state.lines.length} lines` : `${state.lines.length} lines`}
          {state.finalStatus ? `, finished ${state.finalStatus}` : ''}
        </span>
      </div>
      {error && !state.finalStatus && (
        <p className="notice" role="status">
          The live log is reconnecting; it resumes after line {state.lastSeq}.
        </p>
      )}
      <div ref={scroller} className="log" role="log" aria-label="Training log" tabIndex={0}>
        <div className="log-rows" style={{ height: rows.getTotalSize() }}>
          {rows.getVirtualItems().map((row) => {
            const line = shown[row.index];
            return (
              <div key={line.seq} className={`log-line ${line.stream}`} style={{ transform: `translateY(${row.start}px)` }} data-seq={line.seq}>
                <span className="log-seq">{line.seq}</span>
                <span className="log-text">{line.text}</span>
              </div>
            );
          })}
        </div>
      </div>
    </section>
  );
}
