/** The commands under each command (empty: it takes arguments, not commands), for usage errors. */
interface CommandNode {
  readonly [name: string]: CommandNode;
}

const LEAF: CommandNode = {};

/** Real names only: the `ls` aliases are accepted by yargs but never suggested. */
export const COMMAND_TREE: CommandNode = {
  login: LEAF,
  logout: LEAF,
  whoami: LEAF,
  keys: { create: LEAF, list: LEAF, revoke: LEAF },
  catalog: { list: LEAF, show: LEAF },
  data: { list: LEAF, info: LEAF, pull: LEAF },
  train: { start: LEAF, status: LEAF, logs: LEAF, stop: LEAF, artifacts: LEAF, templates: LEAF },
  gpus: LEAF,
  init: LEAF,
  dev: LEAF,
  validate: LEAF,
  deploy: { list: LEAF, status: LEAF, stop: LEAF, token: { rotate: LEAF } },
  'link-infra': LEAF,
  heartbeat: LEAF,
  register: LEAF,
  unregister: LEAF,
  signals: { list: LEAF, push: LEAF },
  consensus: LEAF,
  leaderboard: LEAF,
  optimize: LEAF,
  completion: LEAF,
};

const ALIASES: Readonly<Record<string, string>> = { ls: 'list', models: 'catalog' };

/** Global flags that take a value, so that the value is not mistaken for a command. */
const FLAGS_WITH_VALUE = new Set(['--api-url']);

function words(argv: readonly string[]): string[] {
  const result: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--') break;
    if (FLAGS_WITH_VALUE.has(arg)) i += 1;
    else if (!arg.startsWith('-')) result.push(arg);
  }
  return result;
}

interface Walk {
  /** The commands that matched, e.g. ['keys', 'revoke']. */
  path: string[];
  /** The word where a command was expected and none matched. */
  unknown?: string;
  /** The commands that were expected there. */
  choices: string[];
}

function walk(argv: readonly string[]): Walk {
  let node = COMMAND_TREE;
  const path: string[] = [];
  for (const word of words(argv)) {
    const choices = Object.keys(node);
    if (choices.length === 0) break;
    const name = ALIASES[word] && ALIASES[word] in node ? ALIASES[word] : word;
    if (!Object.hasOwn(node, name)) return { path, unknown: word, choices };
    path.push(name);
    node = node[name];
  }
  return { path, choices: Object.keys(node) };
}

/** `mp keys revoke` for `keys revoke --yes`: the deepest command the arguments name. */
export function commandPath(argv: readonly string[]): string {
  return ['mp', ...walk(argv).path].join(' ');
}

/** Optimal string alignment distance: edits, with a swap of two neighbours counted as one ("lgoin"). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The one command `word` is most likely a typo or an abbreviation of, if any is close. */
export function closestCommand(word: string, choices: readonly string[]): string | undefined {
  const typed = word.toLowerCase();
  const prefixed = choices.filter((choice) => typed.length >= 2 && choice.startsWith(typed));
  if (prefixed.length === 1) return prefixed[0];
  const limit = typed.length <= 3 ? 1 : 2;
  const ranked = choices
    .map((choice) => ({ choice, distance: editDistance(typed, choice) }))
    .filter(({ distance }) => distance <= limit)
    .sort((a, b) => a.distance - b.distance);
  if (ranked.length === 0 || (ranked.length > 1 && ranked[1].distance === ranked[0].distance)) return undefined;
  return ranked[0].choice;
}

/** A usage error's words for a word where a command was expected, or undefined when there is none. */
export function unknownCommand(argv: readonly string[]): { word: string; message: string; hint: string } | undefined {
  const { path, unknown, choices } = walk(argv);
  if (unknown === undefined) return undefined;
  const parent = ['mp', ...path].join(' ');
  const suggestion = closestCommand(unknown, choices);
  return {
    word: unknown,
    message: `unknown command "${unknown}" for ${parent}${suggestion ? `: did you mean \`${parent} ${suggestion}\`?` : ''}`,
    hint: `Run \`${parent} --help\` to see its commands.`,
  };
}
