import { explainField } from '../../conflict';
import { UsageError } from '../../errors';
import { EXIT_OK } from '../exit';
import { processIo, runReporting, type Io } from '../io';
import { readSource } from './check';

export interface ExplainOptions {
  config: string;
}

/** `tandem rules explain <entity>.<field>`: which rule decides the field, and what that means. */
export async function runRulesExplain(target: string, options: ExplainOptions, io: Io = processIo): Promise<number> {
  return runReporting(io, async () => {
    const source = readSource(options.config);
    const [entity, field, ...rest] = target.split('.');
    if (!entity || !field || rest.length > 0) throw new UsageError(`expected <entity>.<field>, e.g. customer.credit_limit; got "${target}"`);
    io.out(explainField(source.config, entity, field, (path) => source.lineOf(path)));
    return EXIT_OK;
  });
}

export { explainField };
