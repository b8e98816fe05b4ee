/**
 * A circuit breaker per target: closed until `failureThreshold` consecutive
 * failures, then open (requests fail fast) for `resetMs`, then half-open: one
 * trial request goes through; its success closes the circuit, its failure
 * opens it again.
 */
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  failureThreshold: number;
  resetMs: number;
  now?: () => number;
  onStateChange?: (from: CircuitState, to: CircuitState) => void;
}

export type Admission = { allowed: true } | { allowed: false; retryInMs: number };

export class CircuitBreaker {
  private stateValue: CircuitState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private trialInFlight = false;
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  get state(): CircuitState {
    if (this.stateValue === 'open' && this.now() - this.openedAt >= this.options.resetMs) this.move('half-open');
    return this.stateValue;
  }

  /** May a request go now? In half-open, only one trial at a time. */
  admit(): Admission {
    const state = this.state;
    if (state === 'closed') return { allowed: true };
    if (state === 'half-open' && !this.trialInFlight) {
      this.trialInFlight = true;
      return { allowed: true };
    }
    const retryInMs = state === 'open' ? this.options.resetMs - (this.now() - this.openedAt) : Math.min(this.options.resetMs, 100);
    return { allowed: false, retryInMs: Math.max(1, retryInMs) };
  }

  success(): void {
    this.failures = 0;
    this.trialInFlight = false;
    if (this.stateValue !== 'closed') this.move('closed');
  }

  failure(): void {
    this.failures += 1;
    const trial = this.stateValue === 'half-open';
    this.trialInFlight = false;
    if (trial || (this.stateValue === 'closed' && this.failures >= this.options.failureThreshold)) {
      this.openedAt = this.now();
      this.move('open');
    }
  }

  /** A request that proved nothing about the target's health (a 4xx, a 429): frees a half-open trial. */
  neutral(): void {
    this.trialInFlight = false;
  }

  private move(to: CircuitState): void {
    const from = this.stateValue;
    if (from === to) return;
    this.stateValue = to;
    this.options.onStateChange?.(from, to);
  }
}
