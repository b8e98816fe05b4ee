export { RestTarget } from './rest-target';
export type { RestTargetOptions, RestApplyContext } from './rest-target';
export { parseRetryAfter } from './retry-after';
export { CircuitBreaker } from './circuit-breaker';
export type { CircuitState, CircuitBreakerOptions } from './circuit-breaker';
export { TokenBucket } from './token-bucket';
export { buildPayload, readPath } from './payload';
export { OAuth2ClientCredentials } from './auth';
export type { RestAuth } from './auth';
