/**
 * What each part of a running pipeline is doing, for `/readyz`, the
 * `tandem_component_status` metric and `tandem status`: a source, an apply
 * stage or Redis is `ok`, `degraded` (working around a fault, e.g. deduplicating
 * in the state store while Redis is away, or retrying a failing step) or
 * `failed` (stopped for good until a person acts; the reason says what to do).
 */
export type ComponentState = 'ok' | 'degraded' | 'failed';

export const COMPONENT_STATES: readonly ComponentState[] = ['ok', 'degraded', 'failed'];

export interface ComponentHealth {
  component: string;
  state: ComponentState;
  /** Why it is not ok (null when ok). */
  reason: string | null;
  /** When it entered this state, ms since epoch. */
  sinceMs: number;
}

export class HealthBoard {
  private readonly components = new Map<string, ComponentHealth>();

  /** Records a state; returns true when it changed (so callers log transitions, not repeats). */
  set(component: string, state: ComponentState, reason: string | null = null): boolean {
    const current = this.components.get(component);
    if (current && current.state === state && current.reason === reason) return false;
    const sinceMs = current && current.state === state ? current.sinceMs : Date.now();
    this.components.set(component, { component, state, reason: state === 'ok' ? null : reason, sinceMs });
    return current?.state !== state;
  }

  get(component: string): ComponentHealth | undefined {
    return this.components.get(component);
  }

  all(): ComponentHealth[] {
    return [...this.components.values()].sort((a, b) => a.component.localeCompare(b.component));
  }

  /** Ready only when every component is ok. */
  allOk(): boolean {
    return this.all().every((c) => c.state === 'ok');
  }

  /** One line per component, e.g. `redis: degraded since 2026-11-29T23:01:02Z: …`. */
  report(): string {
    return this.all()
      .map((c) => `${c.component}: ${c.state}${c.state === 'ok' ? '' : ` since ${new Date(c.sinceMs).toISOString()}: ${c.reason ?? ''}`}`)
      .join('\n');
  }
}
