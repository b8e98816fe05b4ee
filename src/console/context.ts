import type { PipelineView } from '../pipeline';
import type { Guard } from './guard';
import type { History } from './history';

/** What every page handler works with. */
export interface ConsoleContext {
  view: PipelineView;
  history: History;
  guard: Guard;
  /** `console.actions`: retry and discard allowed. */
  actions: boolean;
  /** The header's right side: read-only or actions on. */
  mode: string;
}
