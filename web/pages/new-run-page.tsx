import { useMemo, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import {
  WebNewRunOptionsDocument,
  WebStartTrainingRunDocument,
  type ComputeProviderName,
  type HyperparameterInput,
  type ModelTask,
  type WebNewRunOptionsQuery,
} from '../../generated/web/graphql';
import { ErrorNotice } from '../components/error-notice';
import { FormField } from '../components/form-field';
import { useRequireSession } from '../components/require-session';
import { errorCode, fieldErrors } from '../errors';
import { navigate } from '../router';

type Template = WebNewRunOptionsQuery['trainingTemplates'][number];
type Declared = Template['hyperparameters'][number];

const TASKS: ModelTask[] = ['SIGNAL', 'CONSENSUS', 'OPTIMIZER'];
const PROVIDERS: ComputeProviderName[] = ['LOCAL', 'RUNPOD'];

/** What a hyperparameter's field holds, turned into the value its declared type asks for. */
function valueOf(declared: Declared, text: string): HyperparameterInput['value'] {
  if (declared.type === 'BOOLEAN') return text === 'true';
  if (declared.type === 'STRING') return text;
  const number = Number(text);
  return text.trim() === '' || Number.isNaN(number) ? text : number;
}

function HyperparameterField({
  declared,
  value,
  problem,
  onChange,
}: {
  declared: Declared;
  value: string;
  problem?: string;
  onChange: (text: string) => void;
}) {
  const range = declared.min !== null || declared.max !== null ? ` (${declared.min ?? '…'} to ${declared.max ?? '…'})` : '';
  return (
    <FormField label={`${declared.name}${range}`} hint={declared.description ?? undefined} problem={problem}>
      {(props) =>
        declared.type === 'BOOLEAN' ? (
          <select {...props} value={value} onChange={(event) => onChange(event.target.value)}>
            <option value="true">true</option>
            <option value="false">false</option>
          </select>
        ) : (
          <input
            {...props}
            type={declared.type === 'STRING' ? 'text' : 'number'}
            step={declared.type === 'INTEGER' ? 1 : 'any'}
            value={value}
            onChange={(event) => onChange(event.target.value)}
          />
        )
      }
    </FormField>
  );
}

export function NewRunPage() {
  const [{ data, error, fetching }] = useQuery({ query: WebNewRunOptionsDocument });
  const signingIn = useRequireSession(error);
  if (signingIn) return <p aria-busy="true">Your session has ended: taking you to sign in…</p>;
  if (error) return <ErrorNotice error={error} />;
  if (fetching || !data) return <p aria-busy="true">Loading the form…</p>;
  return <NewRunForm options={data} />;
}

function NewRunForm({ options }: { options: WebNewRunOptionsQuery }) {
  // One key per attempt: a double click, or a retry after a lost answer, starts one run; a refused
  // attempt stores nothing, and the corrected form is another attempt.
  const [idempotencyKey, setIdempotencyKey] = useState(() => crypto.randomUUID());
  const openRound = options.rounds.nodes.find((round) => round.status === 'OPEN') ?? options.rounds.nodes[0];
  const [task, setTask] = useState<ModelTask>('SIGNAL');
  const [round, setRound] = useState(openRound ? String(openRound.number) : '');
  const [templateName, setTemplateName] = useState(options.trainingTemplates[0]?.name ?? '');
  const [provider, setProvider] = useState<ComputeProviderName>('LOCAL');
  const [gpuType, setGpuType] = useState('CPU');
  const [timeoutSeconds, setTimeoutSeconds] = useState('7200');
  const [maxBudgetUsd, setMaxBudgetUsd] = useState('5');
  const [values, setValues] = useState<Record<string, string>>({});
  const [result, start] = useMutation(WebStartTrainingRunDocument);
  const problems = fieldErrors(result.error);

  const template = options.trainingTemplates.find((candidate) => candidate.name === templateName);
  const gpus = useMemo(() => options.gpuTypes.filter((gpu) => gpu.provider === provider), [options.gpuTypes, provider]);
  const textOf = (declared: Declared) => values[declared.name] ?? (declared.default === null ? '' : String(declared.default));

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    const hyperparameters = (template?.hyperparameters ?? [])
      .filter((declared) => textOf(declared) !== '')
      .map((declared) => ({ name: declared.name, value: valueOf(declared, textOf(declared)) }));
    const answer = await start({
      idempotencyKey,
      spec: {
        task,
        round: round ? Number(round) : undefined,
        template: templateName || undefined,
        hyperparameters,
        provider,
        gpuType,
        timeoutSeconds: Number.isInteger(Number(timeoutSeconds)) ? Number(timeoutSeconds) : -1,
        maxBudgetUsd,
      },
    });
    if (answer.data) navigate(`/console/training/${answer.data.startTrainingRun.id}`);
    else if (answer.error?.graphQLErrors.length) setIdempotencyKey(crypto.randomUUID());
  };

  return (
    <section aria-labelledby="new-run-title">
      <h1 id="new-run-title">New training run</h1>
      <form className="run-form" onSubmit={(event) => void onSubmit(event)} noValidate>
        <FormField label="Task" problem={problems.get('spec.task')}>
          {(props) => (
            <select {...props} value={task} onChange={(event) => setTask(event.target.value as ModelTask)}>
              {TASKS.map((value) => (
                <option key={value}>{value}</option>
              ))}
            </select>
          )}
        </FormField>
        <FormField label="Round" problem={problems.get('spec.round')}>
          {(props) => (
            <select {...props} value={round} onChange={(event) => setRound(event.target.value)}>
              {options.rounds.nodes.map((option) => (
                <option key={option.number} value={option.number}>
                  {option.name.includes(String(option.number)) ? option.name : `Round ${option.number}: ${option.name}`} ({option.status})
                </option>
              ))}
            </select>
          )}
        </FormField>
        <FormField label="Template" hint={template?.description ?? undefined} problem={problems.get('spec.template')}>
          {(props) => (
            <select {...props} value={templateName} onChange={(event) => setTemplateName(event.target.value)}>
              {options.trainingTemplates.map((option) => (
                <option key={option.name} value={option.name}>
                  {option.name}
                </option>
              ))}
            </select>
          )}
        </FormField>
        {template && template.hyperparameters.length > 0 && (
          <fieldset>
            <legend>Hyperparameters of {template.name}</legend>
            {template.hyperparameters.map((declared) => (
              <HyperparameterField
                key={declared.name}
                declared={declared}
                value={textOf(declared)}
                problem={problems.get(`spec.hyperparameters.${declared.name}`)}
                onChange={(text) => setValues((current) => ({ ...current, [declared.name]: text }))}
              />
            ))}
          </fieldset>
        )}
        <FormField label="Provider" problem={problems.get('spec.provider')}>
          {(props) => (
            <select
              {...props}
              value={provider}
              onChange={(event) => {
                const next = event.target.value as ComputeProviderName;
                setProvider(next);
                setGpuType(options.gpuTypes.find((gpu) => gpu.provider === next)?.id ?? '');
              }}
            >
              {PROVIDERS.map((value) => (
                <option key={value}>{value}</option>
              ))}
            </select>
          )}
        </FormField>
        <FormField label="GPU type" problem={problems.get('spec.gpuType')}>
          {(props) => (
            <select {...props} value={gpuType} onChange={(event) => setGpuType(event.target.value)}>
              {gpus.map((gpu) => (
                <option key={gpu.id} value={gpu.id}>
                  {gpu.displayName} ({gpu.memoryGb} GB), {gpu.pricePerHourUsd} USD/hour
                </option>
              ))}
            </select>
          )}
        </FormField>
        <FormField label="Timeout (seconds)" hint="60 to 604800" problem={problems.get('spec.timeoutSeconds')}>
          {(props) => <input {...props} type="number" step={1} value={timeoutSeconds} onChange={(event) => setTimeoutSeconds(event.target.value)} />}
        </FormField>
        <FormField label="Budget (USD)" hint="The run stops when it has cost this much, e.g. 5 or 12.50" problem={problems.get('spec.maxBudgetUsd')}>
          {(props) => <input {...props} inputMode="decimal" value={maxBudgetUsd} onChange={(event) => setMaxBudgetUsd(event.target.value)} />}
        </FormField>
        {result.error && (problems.size === 0 || errorCode(result.error) !== 'BAD_USER_INPUT') && <ErrorNotice error={result.error} />}
        {problems.size > 0 && (
          <p className="notice error" role="status">
            Correct the fields marked above, then start the run again.
          </p>
        )}
        <button type="submit" disabled={result.fetching}>
          {result.fetching ? 'Starting…' : 'Start run'}
        </button>
      </form>
    </section>
  );
}
