import { useEffect, useRef } from 'react';
import { useQuery } from 'urql';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { WebTrainingMetricsDocument } from '../../generated/web/graphql';

const HEIGHT = 220;

/** One metric of a run as a line over steps; `version` changes when new points may have arrived, and the chart grows. */
export function MetricChart({ runId, name, version }: { runId: string; name: string; version: number }) {
  const [{ data }, refetch] = useQuery({ query: WebTrainingMetricsDocument, variables: { runId, name } });
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);

  useEffect(() => {
    if (version > 0) refetch({ requestPolicy: 'network-only' });
  }, [version, refetch]);

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const plot = new uPlot(
      {
        width: Math.max(240, element.clientWidth),
        height: HEIGHT,
        scales: { x: { time: false } },
        axes: [{ label: 'step' }, { label: name }],
        series: [{ label: 'step' }, { label: name, stroke: '#0b5cad', width: 2 }],
      },
      [[], []],
      element,
    );
    chart.current = plot;
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(240, element.clientWidth), height: HEIGHT }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
      chart.current = null;
    };
  }, [name]);

  useEffect(() => {
    const points = data?.trainingMetrics ?? [];
    chart.current?.setData([points.map((point) => point.step), points.map((point) => point.value)]);
  }, [data]);

  return (
    <figure className="metric-chart">
      <figcaption>
        {name} ({data?.trainingMetrics.length ?? 0} points)
      </figcaption>
      <div ref={box} role="img" aria-label={`${name} by step`} />
    </figure>
  );
}
