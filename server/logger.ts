import pino, { type Logger } from 'pino';
import { maskText } from './tokens/mask-text';
import { REDACTED } from './tokens/mask-tokens';
import { SecretValues } from './tokens/secret-values';

export type { Logger };

/** Secrets of this process's configuration, masked in every line of every logger from when they are registered. */
const registeredSecrets = new SecretValues();

/** Masks `secret` (as given, percent-encoded and JSON-escaped) in every server log line from now on. */
export function registerSecret(secret: string): void {
  registeredSecrets.add(secret);
}

/** `text` masked as a log line is: tokens, credentials and the registered secrets (for text stored elsewhere). */
export function maskForDisplay(text: string): string {
  return maskText(text, registeredSecrets);
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'mp-server' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'authorization',
          '*.authorization',
          'headers.authorization',
          '*.headers.authorization',
          'req.headers.authorization',
          'connectionParams',
          '*.connectionParams',
          'secret',
          '*.secret',
          'token',
          '*.token',
          'apiKey',
          '*.apiKey',
          'variables',
          '*.variables',
          'password',
          '*.password',
        ],
        censor: REDACTED,
      },
      hooks: {
        // The whole serialized line, so messages, error messages and stacks, every field and the
        // bindings of child loggers are masked alike: a key pasted into a query string never reaches the log.
        streamWrite: (line) => maskText(line, registeredSecrets),
      },
      serializers: {
        err: (error: Error) => {
          const serialized = pino.stdSerializers.err(error) as ReturnType<typeof pino.stdSerializers.err> & {
            parameters?: unknown;
            driverError?: Record<string, unknown>;
          };
          // A failed query's parameters (and the driver's detail, which quotes values) can hold
          // hashes, secrets and vendors' data: the SQL text, the code and the constraint are kept.
          delete serialized.parameters;
          delete (serialized as { detail?: unknown }).detail;
          if (serialized.driverError && typeof serialized.driverError === 'object') {
            const { parameters: _parameters, detail: _detail, ...driverError } = serialized.driverError;
            serialized.driverError = driverError;
          }
          return serialized;
        },
      },
    },
    destination,
  );
}
