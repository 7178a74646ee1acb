/**
 * The endpoint's process, locally (`npm start`, `mp dev`) and on a RunPod pod (the Dockerfile's
 * command): reads the environment (src/config.ts), listens on PORT, loads the model, then sends
 * heartbeats and writes signals when the marketplace configured them. SIGTERM or SIGINT stops it
 * cleanly: no new connections, requests in flight answered, heartbeats stopped, signals flushed.
 *
 * Exit codes: 0 stopped by a signal; 1 could not listen (the port is taken); 2 bad configuration.
 */
import type { AddressInfo } from 'node:net';
import { ConfigError, type EndpointConfig, readConfig, redactUrl } from './config';
import { Heartbeats } from './heartbeat';
import { heartbeatReport } from './heartbeat-report';
import { consoleLog } from './log';
import { ModelLoadError } from './model-file';
import { loadModel } from './model-source';
import { createEndpointServer } from './http/endpoint-server';
import { SignalSink } from './signal-sink';
import { EndpointState } from './state';

/** How long a stop waits for requests in flight, and then for signals still to be written. */
const DRAIN_MS = 5_000;

function configure(): EndpointConfig {
  try {
    return readConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`error: ${error.message}\n`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const config = configure();
  const log = consoleLog;
  for (const warning of config.warnings) log.warn(warning);
  const state = new EndpointState(config.maxConcurrent);
  const sink = new SignalSink({ url: config.signalsUrl, token: config.token, log });
  if (config.signalsUrl) log.info(`signals go to ${redactUrl(config.signalsUrl)}`);
  const server = createEndpointServer({ state, log, onSignals: (signals) => sink.push(signals) });
  const heartbeats = config.heartbeat
    ? new Heartbeats({
        ...config.heartbeat,
        log,
        report: () => heartbeatReport(state, sink, config.podId),
        onSignalsUrl: (url) => sink.setUrl(url),
      })
    : null;
  const loading = new AbortController();

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn(`${signal} again: exiting at once`);
      process.exit(1);
    }
    stopping = true;
    log.info(`${signal}: shutting down`);
    loading.abort();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const force = setTimeout(() => server.closeAllConnections(), DRAIN_MS);
    await Promise.all([closed, heartbeats?.stop()]);
    clearTimeout(force);
    await sink.close(DRAIN_MS);
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', (signal) => void stop(signal));
  process.on('SIGINT', (signal) => void stop(signal));

  server.on('error', (error: NodeJS.ErrnoException) => {
    log.error(
      error.code === 'EADDRINUSE' ? `port ${config.port} on ${config.host} is already in use: set PORT to another one` : `cannot listen: ${error.message}`,
    );
    process.exit(1);
  });
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const { port } = server.address() as AddressInfo;
  log.info(
    `listening on http://${config.host}:${port}${config.podId ? ` (RunPod pod ${config.podId})` : ''}; GET /health answers STARTING until the model is loaded`,
  );

  try {
    const model = await loadModel(config.model, { sha256: config.modelSha256, log, signal: loading.signal });
    state.ready(model);
    log.info(`READY: serving ${model.description} as version ${model.version}`);
  } catch (error) {
    if (loading.signal.aborted) return;
    const reason = error instanceof ModelLoadError ? error.message : `the model could not be loaded: ${(error as Error).message}`;
    state.fail(reason);
    log.error(`UNHEALTHY: ${reason}. Nothing is served; fix the model source and restart.`);
  }
  heartbeats?.start();
}

void main();
