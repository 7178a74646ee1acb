import type { CommandModule } from 'yargs';
import { execute } from '../execute';
import type { GlobalArgs } from '../global-options';
import type { Io } from '../io';
import { TASKS, type TaskName } from '../flag-parsers';

export interface RegisterArgs extends GlobalArgs {
  name: string;
  description?: string;
  task?: TaskName;
  deployment?: string;
  trainingRun?: string;
  tags?: string;
}

export async function run(args: RegisterArgs, io: Io): Promise<void> {
  const { resolveSession, connect } = require('../session') as typeof import('../session');
  const { RegisterModelDocument } = require('../../generated/cli-operations') as typeof import('../../generated/cli-operations');
  const { Output } = require('../output') as typeof import('../output');
  const { taskEnum } = require('../flag-parsers') as typeof import('../flag-parsers');
  const { withDeploymentHint } = require('./deploy/display') as typeof import('./deploy/display');
  const { printRegistered } = require('./register/display') as typeof import('./register/display');
  const out = new Output(io, args);
  const client = connect(resolveSession(args, io.env), args, io, 'required');
  const input = {
    name: args.name,
    ...(args.deployment === undefined ? {} : { deploymentId: args.deployment.trim() }),
    ...(args.description === undefined ? {} : { description: args.description }),
    ...(args.task === undefined ? {} : { task: taskEnum(args.task) }),
    ...(args.trainingRun === undefined ? {} : { trainingRunId: args.trainingRun.trim() }),
    ...(args.tags === undefined
      ? {}
      : {
          tags: args.tags
            .split(',')
            .map((tag) => tag.trim())
            .filter(Boolean),
        }),
  };
  const { registerModel: model } = await client.request(RegisterModelDocument, { input }).catch((error: unknown) => {
    throw withDeploymentHint(error);
  });
  if (out.json) {
    out.data(model);
    return;
  }
  const where =
    model.liveStatus === 'LIVE'
      ? 'LIVE in the catalog'
      : model.deployment
        ? 'in the catalog, OFFLINE until its deployment is HEALTHY'
        : 'in the catalog; upload its predictions with mp signals push';
  out.success(`Registered ${model.slug}: ${where}`);
  printRegistered(out, model);
}

const registerCommand: CommandModule<GlobalArgs, RegisterArgs> = {
  command: 'register',
  describe: 'Publish one of your models in the catalog, served by a deployment (again: update it)',
  builder: (yargs) =>
    yargs
      .option('name', { type: 'string', demandOption: true, requiresArg: true, describe: 'The model name (unique among yours; the slug is <handle>/<name>)' })
      .option('deployment', {
        type: 'string',
        requiresArg: true,
        describe: 'The deployment that serves it (omit it to upload predictions with mp signals push)',
      })
      .option('description', { type: 'string', requiresArg: true, describe: 'What it predicts and how' })
      .option('task', { choices: TASKS, describe: 'What it produces (default signal)' })
      .option('training-run', { type: 'string', requiresArg: true, describe: 'The training run that made it' })
      .option('tags', { type: 'string', requiresArg: true, describe: 'Comma-separated tags (at most 10)' })
      .example('$0 register --name "My Signal Model" --deployment dep_2Xf9... --tags momentum,equities', 'Publish it, LIVE while the deployment is HEALTHY')
      .example('$0 register --name "Offline Ridge"', 'Publish a model whose predictions you upload (BYOC)'),
  handler: (args) => execute(args, run),
};

export default registerCommand;
