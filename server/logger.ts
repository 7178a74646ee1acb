import pino, { type Logger } from 'pino';

export type { Logger };

/** Anything that looks like one of our secrets: vendor keys, deployment tokens, bearer values. */
const SECRET_PATTERN = /\b(vk|sit)_[A-Za-z0-9]{6,}(_[A-Za-z0-9]+)?\b|(Bearer\s+)[^\s"',]+/g;

export function maskSecrets(text: string): string {
  return text.replace(SECRET_PATTERN, (match, prefix: string | undefined, _rest, bearer: string | undefined) =>
    bearer ? `${bearer}[REDACTED]` : `${prefix}_[REDACTED]`,
  );
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
        censor: '[REDACTED]',
      },
      hooks: {
        // Free-text messages and error messages are masked too: a key pasted into a query string still never reaches the log.
        logMethod(args, method) {
          const masked = args.map((arg) => (typeof arg === 'string' ? maskSecrets(arg) : arg));
          method.apply(this, masked as Parameters<typeof method>);
        },
      },
      serializers: {
        err: (error: Error) => {
          const serialized = pino.stdSerializers.err(error) as ReturnType<typeof pino.stdSerializers.err> & {
            parameters?: unknown;
            driverError?: Record<string, unknown>;
          };
          serialized.message = maskSecrets(serialized.message ?? '');
          if (serialized.stack) serialized.stack = maskSecrets(serialized.stack);
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
