'use strict';
// Preloaded (node --require) into the servers `npm run bench -- catalog` starts, to see
// inside them without touching their code. Each SIGUSR2 toggles a measurement window:
// the first starts it, the second ends it and prints one line on stderr,
//   bench-probe {"eventLoopDelay":{"p50":..,"p99":..,"max":..}}   (milliseconds)
// With MP_BENCH_PROFILE set, the window is also profiled with V8's sampling CPU profiler
// and the profile (.cpuprofile, readable by Chrome DevTools) is written to that path first.
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { writeFileSync } = require('node:fs');

const profileFile = process.env.MP_BENCH_PROFILE;
const RESOLUTION_MS = 1;
const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
let session;
let open = false;

function report(extra) {
  // The histogram holds the time between timer ticks; the delay is what exceeds the tick.
  const ms = (ns) => Math.max(0, Math.round(ns / 1e3 - RESOLUTION_MS * 1e3) / 1e3);
  const eventLoopDelay = { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) };
  process.stderr.write(`bench-probe ${JSON.stringify({ eventLoopDelay, ...extra })}\n`);
}

process.on('SIGUSR2', () => {
  if (!open) {
    open = true;
    delay.reset();
    delay.enable();
    if (profileFile) {
      if (!session) {
        const { Session } = require('node:inspector');
        session = new Session();
        session.connect();
      }
      session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start')));
    }
    return;
  }
  open = false;
  delay.disable();
  if (!profileFile) return report({});
  session.post('Profiler.stop', (error, result) => {
    if (error) return report({ profileError: error.message });
    writeFileSync(profileFile, JSON.stringify(result.profile));
    report({ profile: profileFile });
  });
});
