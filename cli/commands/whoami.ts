import type { CommandModule } from 'yargs';
import { execute } from '../execute';
import type { GlobalArgs } from '../global-options';
import type { Io } from '../io';

export async function run(args: GlobalArgs, io: Io): Promise<void> {
  const { resolveSession, connect } = require('../session') as typeof import('../session');
  const { WhoamiDocument } = require('../../generated/cli-operations') as typeof import('../../generated/cli-operations');
  const { Output } = require('../output') as typeof import('../output');
  const { formatDateTime, formatDateTimeWithRelative, formatKeyPrefix } = require('../format') as typeof import('../format');
  const out = new Output(io, args);
  const session = resolveSession(args, io.env);
  const client = connect(session, args, io, 'required');
  const { me } = await client.request(WhoamiDocument, {});

  if (out.json) {
    out.data({ apiUrl: session.apiUrl, apiKeySource: session.apiKeySource, ...me });
    return;
  }
  const vendor = me.vendor;
  const source = session.apiKeySource === 'MP_API_KEY' ? 'MP_API_KEY' : session.configFile;
  out.keyValue([
    ['API', session.apiUrl],
    ['Role', me.role.toLowerCase()],
    ['Vendor', vendor ? `${vendor.displayName} (${vendor.handle})${vendor.status === 'ACTIVE' ? '' : ` ${vendor.status}`}` : '-'],
    ['Key', `${formatKeyPrefix(me.apiKey.prefix)} "${me.apiKey.name}" (${me.apiKey.id})`],
    ['Key from', source],
    ['Expires', formatDateTimeWithRelative(me.apiKey.expiresAt, 'never')],
    ['Last used', formatDateTime(me.apiKey.lastUsedAt)],
  ]);
}

const whoamiCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'whoami',
  describe: 'Show who the current API key belongs to',
  builder: (yargs) => yargs.example('$0 whoami', 'Role, vendor, key prefix and expiry').example('$0 whoami --json', 'The same as JSON'),
  handler: (args) => execute(args, run),
};

export default whoamiCommand;
