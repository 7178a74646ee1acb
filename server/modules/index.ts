/**
 * The marketplace's modules, in the order they are built (a module may use the services of
 * those before it) and started; they stop in reverse. Adding a domain adds one line here.
 */
import type { MarketplaceModule } from './module';
import { baseModule } from './base';
import { identityModule } from './identity';
import { catalogModule } from './catalog';
import { datasetsModule } from './datasets';
import { trainingModule } from './training';
import { deploymentsModule } from './deployments';
import { signalsModule } from './signals';

export const modules: readonly MarketplaceModule[] = [
  baseModule,
  identityModule,
  catalogModule,
  datasetsModule,
  trainingModule,
  deploymentsModule,
  signalsModule,
];

/** Every module's entities, for the data source. */
export const entities = modules.flatMap((module) => module.entities);

export type { MarketplaceModule, ModuleRuntime, NodeType, Platform } from './module';
