/** The one canonical form per value type that every capture path produces (see README, type table). */
export { canonicalInterval, formatIsoInterval, parseIsoDuration, parsePostgresInterval, type IntervalParts } from './interval';
export { canonicalJson, exactAsDouble } from './json';
export { canonicalFloat, canonicalFloat32, canonicalFloatText } from './float';
export { bitsFromBigEndian, bitsFromLittleEndian, bitsOf } from './bits';
export { formatSignedTime } from './time';
export { isCanonicalBase64 } from './base64';
