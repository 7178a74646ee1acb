import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CliError, ExitCode } from './errors';

/** What `mp login` stores. The key is the only secret; the file is 0600 in a 0700 directory. */
export interface StoredConfig {
  apiUrl?: string;
  apiKey?: string;
}

export const DEFAULT_API_URL = 'http://127.0.0.1:4000/graphql';
export const REQUEST_TIMEOUT_MS = 30_000;

/** `$XDG_CONFIG_HOME/mp/config.json`, else `~/.config/mp/config.json` (a relative XDG path is ignored, as the spec says). */
export function configFilePath(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.config');
  return path.join(base, 'mp', 'config.json');
}

export function readConfigFile(file: string): StoredConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(`config file ${file} is not valid JSON`, ExitCode.UNEXPECTED, {
      hint: 'Fix or delete it, then run `mp login` again.',
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
  const record = parsed as Record<string, unknown>;
  return {
    apiUrl: typeof record.apiUrl === 'string' ? record.apiUrl : undefined,
    apiKey: typeof record.apiKey === 'string' ? record.apiKey : undefined,
  };
}

/**
 * Writes atomically (temp file + rename) so a crash never leaves half a key on disk, and
 * chmods explicitly because the umask may widen the mode given to open().
 */
export function writeConfigFile(file: string, config: StoredConfig): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  const temp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(temp, 'w', 0o600);
  try {
    fs.fchmodSync(fd, 0o600);
    fs.writeFileSync(fd, `${JSON.stringify(config, null, 2)}\n`);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
}

/**
 * Accepts a full endpoint or a base URL: `https://mp.example.com` and
 * `https://mp.example.com/` both become `https://mp.example.com/graphql`.
 */
export function normalizeApiUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new CliError(`invalid API URL "${raw}"`, ExitCode.USAGE, {
      hint: 'Pass a URL such as http://127.0.0.1:4000 or https://mp.example.com/graphql.',
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`invalid API URL "${raw}": only http and https are supported`, ExitCode.USAGE);
  }
  url.hash = '';
  url.search = '';
  const trimmed = url.pathname.replace(/\/+$/, '');
  url.pathname = trimmed.endsWith('/graphql') ? trimmed : `${trimmed}/graphql`;
  return url.toString();
}
