import type { ModelLiveStatus, ModelTask } from '../../generated/web/graphql';

export function TaskBadge({ task }: { task: ModelTask }) {
  return <span className={`badge task-${task.toLowerCase()}`}>{task}</span>;
}

export function LiveBadge({ status }: { status: ModelLiveStatus }) {
  return <span className={status === 'LIVE' ? 'badge live' : 'badge offline'}>{status === 'LIVE' ? 'Live' : 'Offline'}</span>;
}

export function VendorBadge({ name, handle }: { name: string; handle: string }) {
  return (
    <span className="badge vendor" title={`@${handle}`}>
      {name}
    </span>
  );
}
