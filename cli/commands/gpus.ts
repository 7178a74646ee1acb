import type { CommandModule } from 'yargs';
import { execute } from '../execute';
import type { GlobalArgs } from '../global-options';
import type { Io } from '../io';
import { PROVIDERS, providerEnum, type ProviderFlag } from './train/flags';

export interface GpusArgs extends GlobalArgs {
  provider?: ProviderFlag;
}

export async function run(args: GpusArgs, io: Io): Promise<void> {
  const { resolveSession, connect } = require('../session') as typeof import('../session');
  const { GpuTypesDocument } = require('../../generated/cli-operations') as typeof import('../../generated/cli-operations');
  const { Output } = require('../output') as typeof import('../output');
  const { formatUsd } = require('../money') as typeof import('../money');
  const out = new Output(io, args);
  const client = connect(resolveSession(args, io.env), args, io, 'required');
  const { gpuTypes } = await client.request(GpuTypesDocument, { provider: args.provider ? providerEnum(args.provider) : undefined });
  if (out.json) {
    out.data(gpuTypes);
    return;
  }
  out.table(
    [
      { header: 'id', value: (gpu) => gpu.id, style: () => 'cyan' },
      { header: 'name', value: (gpu) => gpu.displayName },
      { header: 'memory', value: (gpu) => `${gpu.memoryGb} GB` },
      { header: 'price/h', value: (gpu) => formatUsd(gpu.pricePerHourUsd) },
      { header: 'provider', value: (gpu) => gpu.provider.toLowerCase() },
    ],
    gpuTypes,
  );
  out.status(out.paintErr('dim', 'Train on one: mp train start --task signal --provider <provider> --gpu <id>'));
}

const gpusCommand: CommandModule<GlobalArgs, GpusArgs> = {
  command: 'gpus',
  describe: 'The GPU types a training run can use: id, name, memory, price per hour, provider',
  builder: (yargs) =>
    yargs
      .option('provider', { choices: PROVIDERS, describe: 'Only those of one provider' })
      .example('$0 gpus', 'Every GPU type of every provider')
      .example('$0 gpus --provider runpod --json', 'RunPod only, as JSON'),
  handler: (args) => execute(args, run),
};

export default gpusCommand;
