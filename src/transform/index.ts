export type { Fields, CanonicalChange, CanonicalRecord, FieldProvenance } from './canonical';
export type { Crosswalk } from './crosswalk';
export { newCanonicalKey } from './crosswalk';
export type { Mapping, FieldBinding } from './mapping-types';
