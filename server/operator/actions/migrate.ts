import { z } from 'zod';
import { defineAction } from '../action';

export const migrate = defineAction({
  name: 'migrate',
  args: z.object({}),
  database: 'as-is',
  run: async ({ database }) => ({ applied: await database.migrate() }),
});
