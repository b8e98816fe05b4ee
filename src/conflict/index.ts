export type { ConflictEntry, ConflictOutcome, PlannedWrite, Decision } from './decision';
export type { FieldRule, EntityRules, RuleBook } from './rules';
export { compileRules, allowsTransition, fieldRuleSpecs } from './rules';
export type { Transition } from './rules';
export type { ResolveContext } from './resolver';
export { resolve, emptyRecord, compareValues } from './resolver';
export type { ChainedConflict } from './chain';
export { chainEntries, chainHash, hashedContent, GENESIS_HASH } from './chain';
export { canonicalJson, sameValue } from './values';
