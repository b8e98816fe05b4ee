import type { Knex } from 'knex';

/**
 * Ownership cutovers (issue 13): a field's rule may change at a cutover, and
 * each conflict records which version of the rule decided it
 * (`customer.credit_limit@wave1`). NULL for rules without versions, and for
 * every row logged before; the chain hashes the version only when it is set,
 * so those rows verify as before.
 */
export async function up(knex: Knex, schema: string): Promise<void> {
  await knex.schema.withSchema(schema).alterTable('conflicts', (t) => {
    t.text('rule_version').nullable();
  });
}
