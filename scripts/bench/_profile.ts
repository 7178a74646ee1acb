/**
 * Summarizes a V8 .cpuprofile (written by _profile-hook.js) as two small tables: self time
 * by area (a package under node_modules, our compiled code, node core, GC, WebAssembly) and
 * the hottest functions. Shares are of all samples, idle included, so "(idle)" shows how
 * much of the window the process had nothing to do.
 */
import { readFileSync } from 'node:fs';
import { printTable } from './_harness';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

function areaOf(frame: ProfileNode['callFrame']): string {
  const { functionName, url } = frame;
  if (!url) {
    if (functionName === '(idle)' || functionName === '(garbage collector)' || functionName === '(program)') return functionName;
    return '(native)';
  }
  if (url.startsWith('wasm://')) return 'WebAssembly (PGlite)';
  if (url.startsWith('node:')) return `node core (${url.slice(5).split('/')[0]})`;
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = url.slice(modules + '/node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1).replace(/^dist\/(server|cli)\/(modules\/)?([^/]+).*/, 'dist/$1/$2$3');
  return url.replace(/^file:\/\//, '');
}

function where(frame: ProfileNode['callFrame']): string {
  if (!frame.url) return '';
  const modules = frame.url.lastIndexOf('/node_modules/');
  const dist = frame.url.indexOf('/dist/');
  const short = modules >= 0 ? frame.url.slice(modules + '/node_modules/'.length) : dist >= 0 ? frame.url.slice(dist + 1) : frame.url.replace(/^file:\/\//, '');
  return `${short}:${frame.lineNumber + 1}`;
}

function percent(part: number, whole: number): string {
  return `${((100 * part) / whole).toFixed(1)}%`;
}

export function printProfileSummary(file: string, title: string, topFunctions = 15): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  // Self time per node from the sample timeline (the delta after each sample belongs to it).
  const selfMicros = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i += 1) {
    const duration = deltas[i + 1] ?? 0;
    selfMicros.set(samples[i], (selfMicros.get(samples[i]) ?? 0) + duration);
  }
  const total = [...selfMicros.values()].reduce((a, b) => a + b, 0) || 1;

  const areas = new Map<string, number>();
  const functions = new Map<string, { name: string; at: string; area: string; micros: number }>();
  for (const [id, micros] of selfMicros) {
    const node = byId.get(id);
    if (!node) continue;
    const area = areaOf(node.callFrame);
    areas.set(area, (areas.get(area) ?? 0) + micros);
    const name = node.callFrame.functionName || '(anonymous)';
    const at = where(node.callFrame);
    const key = `${name}@${at}`;
    const entry = functions.get(key) ?? { name, at, area, micros: 0 };
    entry.micros += micros;
    functions.set(key, entry);
  }

  console.log(`${title} ${file} (${(total / 1e6).toFixed(2)} s sampled)`);
  console.log('');
  const areaRows = [...areas.entries()].sort((a, b) => b[1] - a[1]).slice(0, 14);
  printTable(
    ['self time by area', 'share'],
    areaRows.map(([area, micros]) => [area, percent(micros, total)]),
    [1],
  );
  console.log('');
  const functionRows = [...functions.values()]
    .filter((entry) => !['(idle)', '(program)', '(garbage collector)'].includes(entry.name))
    .sort((a, b) => b.micros - a.micros)
    .slice(0, topFunctions);
  printTable(
    ['hottest functions (self time)', 'area', 'where', 'share'],
    functionRows.map((entry) => [entry.name, entry.area, entry.at, percent(entry.micros, total)]),
    [3],
  );
}
