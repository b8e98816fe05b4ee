import type { Problem, TandemConfig } from '../../config';

/** A REST system: a target only, with an endpoint for every entity mapped to it. */
export function restProblems(config: TandemConfig, name: string): Problem[] {
  const problems: Problem[] = [];
  const system = config.systems[name]!;
  const at = `systems.${name}`;
  if (!system.rest) return [...problems, { path: `${at}.rest`, message: 'a rest system needs rest settings (endpoints, auth)' }];
  const endpoints = system.rest.endpoints;
  const lineEntities = new Map<string, string>();
  for (const [entity, endpoint] of Object.entries(endpoints)) {
    if (!(entity in config.entities)) problems.push({ path: `${at}.rest.endpoints.${entity}`, message: `unknown entity "${entity}"` });
    if (!endpoint.update.path.includes('{id}')) problems.push({ path: `${at}.rest.endpoints.${entity}.update.path`, message: 'the update path must hold {id}' });
    if (endpoint.lines) {
      lineEntities.set(endpoint.lines.entity, entity);
      if (!(endpoint.lines.entity in config.entities)) problems.push({ path: `${at}.rest.endpoints.${entity}.lines.entity`, message: `unknown entity "${endpoint.lines.entity}"` });
    }
  }
  for (const mapping of config.mappings) {
    if (mapping.system !== name) continue;
    if (!endpoints[mapping.entity] && !lineEntities.has(mapping.entity)) {
      problems.push({ path: `${at}.rest.endpoints`, message: `entity ${mapping.entity} is mapped to ${name} but has no endpoint (nor is it the lines of one)` });
    }
  }
  return problems;
}
