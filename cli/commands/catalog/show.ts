import type { CommandModule } from 'yargs';
import { execute } from '../../execute';
import type { GlobalArgs } from '../../global-options';
import type { Io } from '../../io';

export interface CatalogShowArgs extends GlobalArgs {
  model: string;
}

/** Ids are `mdl_...`; anything else is looked up as a slug (`vendor/model`). */
export function modelLookup(ref: string): { id: string } | { slug: string } {
  return ref.startsWith('mdl_') ? { id: ref } : { slug: ref };
}

export async function run(args: CatalogShowArgs, io: Io): Promise<void> {
  const { resolveSession, connect } = require('../../session') as typeof import('../../session');
  const { CatalogModelShowDocument } = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const { Output } = require('../../output') as typeof import('../../output');
  const { formatDateTime } = require('../../format') as typeof import('../../format');
  const out = new Output(io, args);
  const client = connect(resolveSession(args, io.env), args, io, 'none');
  const { scoresLine } = require('../../score-format') as typeof import('../../score-format');
  const { catalogModel: model, modelPerformance } = await client.request(CatalogModelShowDocument, modelLookup(args.model.trim()));
  const rounds = modelPerformance.rounds;

  if (out.json) {
    out.data({ ...model, scores: rounds });
    return;
  }
  out.line(out.paint(['bold', 'cyan'], model.slug));
  out.keyValue([
    ['Name', model.name],
    ['ID', model.id],
    ['Task', model.task.toLowerCase()],
    ['Vendor', `${model.vendor.displayName} (${model.vendor.handle})`],
    ['Status', model.status.toLowerCase()],
    ['Live', model.liveStatus === 'LIVE' ? `live since ${formatDateTime(model.liveSince)}` : 'offline'],
    ['Tags', model.tags.length ? model.tags.join(', ') : '-'],
    ['Created', formatDateTime(model.createdAt)],
    ['Published', formatDateTime(model.publishedAt)],
  ]);
  if (model.description.trim()) out.line(`\n${model.description.trim()}`);
  if (rounds.length === 0) {
    out.line(out.paint('dim', '\nNot scored yet: a model is scored when a round it wrote signals for is resolved.'));
    return;
  }
  out.line(`\n${out.paint('bold', 'Scores')}${out.paint('dim', `: ${rounds[0].label}`)}`);
  out.keyValue(rounds.map((round) => [`Round ${round.round}`, scoresLine(round)] as const));
}

const catalogShowCommand: CommandModule<GlobalArgs, CatalogShowArgs> = {
  command: 'show <model>',
  describe: 'Show one published model by slug or id, with its scores',
  builder: (yargs) =>
    yargs
      .positional('model', { type: 'string', demandOption: true, describe: 'A slug (vendor/model) or an id (mdl_...)' })
      .example('$0 catalog show demo/momentum-v1', 'By slug')
      .example('$0 catalog show mdl_01HZX... --json', 'By id, as JSON'),
  handler: (args) => execute(args, run),
};

export default catalogShowCommand;
