import type { z } from 'zod';
import type { ServerConfig } from '../config';
import { DomainError } from '../domain-error';
import type { Database } from '../db/database';
import type { Logger } from '../logger';

/** What an operator action runs with: the same whether it runs in the running server or in the command's own process. */
export interface OperatorContext {
  config: ServerConfig;
  database: Database;
  log: Logger;
}

/** What a value looks like once it has crossed the operator socket as JSON. */
export type Jsonified<T> = T extends Date
  ? string
  : T extends (infer Item)[]
    ? Jsonified<Item>[]
    : T extends object
      ? { [Key in keyof T]: Jsonified<T[Key]> }
      : T;

/**
 * One operator command's work (`vendor create`, `rounds list`, ...). Its arguments are plain
 * JSON checked by `args`, so the command can hand them to a running server over the operator
 * socket, or run them itself on a database it opened.
 */
export interface OperatorAction<Args extends z.ZodType, Result> {
  /** Unique, e.g. `vendor.create`; the socket's route. */
  name: string;
  args: Args;
  /** `as-is` for `migrate`: the database without the embedded auto-migration and demo data. */
  database?: 'ready' | 'as-is';
  run(context: OperatorContext, args: z.infer<Args>): Promise<Result>;
}

export function defineAction<Args extends z.ZodType, Result>(action: OperatorAction<Args, Result>): OperatorAction<Args, Result> {
  return action;
}

/** An action with its types erased, as the socket server dispatches it. */
export interface RegisteredAction {
  name: string;
  database: 'ready' | 'as-is';
  invoke(context: OperatorContext, args: unknown): Promise<unknown>;
}

export function registered<Args extends z.ZodType, Result>(action: OperatorAction<Args, Result>): RegisteredAction {
  return {
    name: action.name,
    database: action.database ?? 'ready',
    invoke: (context, args) => {
      const parsed = action.args.safeParse(args);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'arguments'}: ${issue.message}`).join('; ');
        throw new DomainError('BAD_USER_INPUT', `the operator command ${action.name} got bad arguments (${problems}): run \`mp-server --help\``);
      }
      return action.run(context, parsed.data);
    },
  };
}
