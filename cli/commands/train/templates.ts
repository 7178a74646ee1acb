import type { CommandModule } from 'yargs';
import type { TrainTemplatesQuery } from '../../../generated/cli-operations';
import { execute } from '../../execute';
import type { GlobalArgs } from '../../global-options';
import type { Io } from '../../io';

type Hyperparameter = TrainTemplatesQuery['trainingTemplates'][number]['hyperparameters'][number];

/** "0 to 1", "at least 1", "-" */
export function rangeOf(parameter: Pick<Hyperparameter, 'min' | 'max'>): string {
  const { min, max } = parameter;
  if (min !== null && min !== undefined && max !== null && max !== undefined) return `${min} to ${max}`;
  if (min !== null && min !== undefined) return `at least ${min}`;
  if (max !== null && max !== undefined) return `at most ${max}`;
  return '-';
}

export async function run(args: GlobalArgs, io: Io): Promise<void> {
  const { resolveSession, connect } = require('../../session') as typeof import('../../session');
  const { TrainTemplatesDocument } = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const { Output } = require('../../output') as typeof import('../../output');
  const out = new Output(io, args);
  const client = connect(resolveSession(args, io.env), args, io, 'required');
  const { trainingTemplates } = await client.request(TrainTemplatesDocument, {});
  if (out.json) {
    out.data(trainingTemplates);
    return;
  }
  trainingTemplates.forEach((template, index) => {
    if (index > 0) out.line('');
    const tasks = template.tasks.length > 0 ? template.tasks.map((task) => task.toLowerCase()).join(', ') : 'any task';
    out.line(`${out.paint(['bold', 'cyan'], template.name)}  (${tasks})${template.description ? `  ${template.description}` : ''}`);
    if (template.hyperparameters.length === 0) {
      out.line('  no declared hyperparameters: any --hp is passed on');
      return;
    }
    out.table(
      [
        { header: 'hyperparameter', value: (parameter) => parameter.name },
        { header: 'type', value: (parameter) => parameter.type.toLowerCase() },
        { header: 'default', value: (parameter) => (parameter.default === null || parameter.default === undefined ? '-' : String(parameter.default)) },
        { header: 'range', value: rangeOf },
        { header: 'description', value: (parameter) => parameter.description ?? '' },
      ],
      template.hyperparameters,
    );
  });
  out.status(out.paintErr('dim', 'Use one: mp train start --task signal --template <name> --hp name=value'));
}

const trainTemplatesCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'templates',
  describe: 'The training templates: their tasks and declared hyperparameters',
  builder: (yargs) => yargs.example('$0 train templates', 'Each template with its hyperparameters').example('$0 train templates --json', 'The same as JSON'),
  handler: (args) => execute(args, run),
};

export default trainTemplatesCommand;
