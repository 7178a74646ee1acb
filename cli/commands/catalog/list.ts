import type { CommandModule } from 'yargs';
import type { CatalogListQuery } from '../../../generated/cli-operations';
import { CatalogSort } from '../../../generated/schema-types';
import { execute } from '../../execute';
import type { GlobalArgs } from '../../global-options';
import type { Io } from '../../io';
import type { Column } from '../../output';
import { MAX_LIMIT, TASKS, parseLimit, taskEnum, type TaskName } from '../../flag-parsers';

/** The --sort word of each CatalogSort (a new value in the schema fails to compile until it has one). */
const SORT_WORDS = {
  [CatalogSort.PublishedDesc]: 'published',
  [CatalogSort.CreatedDesc]: 'created',
  [CatalogSort.NameAsc]: 'name',
} as const satisfies Record<CatalogSort, string>;
type SortWord = (typeof SORT_WORDS)[CatalogSort];
/** The --sort choices, the default first. */
export const SORTS = Object.values(SORT_WORDS);

export interface CatalogListArgs extends GlobalArgs {
  task?: TaskName;
  search?: string;
  vendor?: string;
  limit: number;
  sort: SortWord;
}

type CatalogRow = CatalogListQuery['catalog']['nodes'][number];

function sortEnum(word: SortWord): CatalogSort {
  const sort = Object.values(CatalogSort).find((candidate) => SORT_WORDS[candidate] === word);
  if (!sort) throw new Error(`unknown --sort "${word}"`);
  return sort;
}

export async function run(args: CatalogListArgs, io: Io): Promise<void> {
  const { resolveSession, connect } = require('../../session') as typeof import('../../session');
  const { CatalogListDocument } = require('../../../generated/cli-operations') as typeof import('../../../generated/cli-operations');
  const { Output } = require('../../output') as typeof import('../../output');
  const { formatDate } = require('../../format') as typeof import('../../format');
  const { formatScore } = require('../../score-format') as typeof import('../../score-format');
  const out = new Output(io, args);
  const client = connect(resolveSession(args, io.env), args, io, 'none');

  const filter = {
    task: args.task ? taskEnum(args.task) : undefined,
    search: args.search,
    vendor: args.vendor,
  };
  const models: CatalogRow[] = [];
  let totalCount = 0;
  let after: string | null = null;
  // The server may return fewer than asked per page; keep following the cursor.
  while (models.length < args.limit) {
    const { catalog }: CatalogListQuery = await client.request(CatalogListDocument, {
      filter,
      sort: sortEnum(args.sort),
      first: args.limit - models.length,
      after,
    });
    totalCount = catalog.totalCount;
    models.push(...catalog.nodes);
    if (!catalog.pageInfo.hasNextPage || !catalog.pageInfo.endCursor || catalog.nodes.length === 0) break;
    after = catalog.pageInfo.endCursor;
  }

  if (out.json) {
    out.data(models);
    return;
  }
  if (models.length === 0) {
    out.status('No published models match.');
    return;
  }
  const columns: Column<CatalogRow>[] = [
    { header: 'slug', value: (m) => m.slug, style: () => 'cyan' },
    { header: 'name', value: (m) => m.name },
    { header: 'task', value: (m) => m.task.toLowerCase() },
    { header: 'vendor', value: (m) => m.vendor.handle },
    { header: 'tags', value: (m) => m.tags.join(',') },
    { header: 'score', value: (m) => (m.latestScores ? `${formatScore(m.latestScores.corr.mean)} r${m.latestScores.round}` : '-') },
    { header: 'published', value: (m) => formatDate(m.publishedAt) },
  ];
  out.table(columns, models);
  if (totalCount > models.length) {
    out.status(out.paintErr('dim', `Showing ${models.length} of ${totalCount} models; use --limit (up to ${MAX_LIMIT}) or filters to see others.`));
  }
}

const catalogListCommand: CommandModule<GlobalArgs, CatalogListArgs> = {
  command: 'list',
  aliases: ['ls'],
  describe: 'List published models (no API key needed)',
  builder: (yargs) =>
    yargs
      .option('task', { choices: TASKS, describe: 'Only models for this task' })
      .option('search', { type: 'string', requiresArg: true, describe: 'Words to match in name, slug, description and tags' })
      .option('vendor', { type: 'string', requiresArg: true, describe: "A vendor's handle" })
      .option('limit', {
        type: 'number',
        default: 20,
        requiresArg: true,
        describe: `How many models to show (1 to ${MAX_LIMIT})`,
        coerce: parseLimit,
      })
      .option('sort', { choices: SORTS, default: SORT_WORDS[CatalogSort.PublishedDesc], describe: 'Order: newest published, newest created, or by name' })
      .example('$0 catalog list', 'The 20 most recently published models')
      .example('$0 catalog list --task signal --search momentum --limit 50', 'Filtered')
      .example('$0 catalog list --vendor demo --json', 'One vendor, as JSON'),
  handler: (args) => execute(args, run),
};

export default catalogListCommand;
