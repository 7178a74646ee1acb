// How `mp register` shows a registered model. Not a command itself; required lazily by run().
import type { RegisteredModelFieldsFragment } from '../../../generated/cli-operations';
import type { Output } from '../../output';

export function printRegistered(out: Output, model: RegisteredModelFieldsFragment): void {
  out.keyValue([
    ['Model', `${model.name} (${model.id})`],
    ['Slug', model.slug],
    ['Task', model.task],
    ['Status', `${model.liveStatus}${model.liveSince ? ` since ${model.liveSince}` : ''}`],
    ['Deployment', model.deployment ? `${model.deployment.id} (${model.deployment.status}, ${model.deployment.health})` : '-'],
    ['Tags', model.tags.length ? model.tags.join(', ') : '-'],
  ]);
}
