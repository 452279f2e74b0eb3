import { Option, type Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import type { Io } from './commands/dataset.js';

/** kubectl's `-o` convention: the same data as JSON or YAML for programs, as a table for people. */
export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface OutputFlags {
  output?: OutputFormat;
  json?: boolean;
}

/**
 * Adds `-o, --output json|yaml|table` and `--json` (its alias, kept for scripts written against it)
 * to a read verb. An unknown format is a usage error (exit 2), like any bad option.
 */
export function withOutput(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '-o, --output <format>',
        'output format: table (default, for people), json or yaml (for programs)',
      ).choices(OUTPUT_FORMATS),
    )
    .addOption(new Option('--json', 'same as -o json'));
}

/** The format asked for; `--json` is `-o json`, and an explicit `-o` wins over it. */
export function outputFormat(flags: OutputFlags): OutputFormat {
  return flags.output ?? (flags.json ? 'json' : 'table');
}

/** True when the user asked for a format (so a verb that prints nothing by default still prints). */
export const outputAsked = (flags: OutputFlags): boolean => flags.output !== undefined || flags.json === true;

/**
 * Prints `data` in the format asked for. JSON and YAML carry the API's own field names (the
 * coordinator's responses, the dataset manifest, a model's metadata.json) so scripts can rely on
 * them; `table` is what `toTable` renders for people.
 */
export function emit(io: Io, flags: OutputFlags, data: unknown, toTable: () => string): void {
  const format = outputFormat(flags);
  if (format === 'json') io.out(`${JSON.stringify(data, null, 2)}\n`);
  else if (format === 'yaml') io.out(toYaml(data, { aliasDuplicateObjects: false }));
  else io.out(`${toTable()}\n`);
}
