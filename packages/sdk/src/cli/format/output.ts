// Machine-readable output for `-o yaml` and `-o json`.
import { Option } from 'commander';
import { stringify } from 'yaml';

export const OUTPUT_FORMATS = ['table', 'yaml', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('table');
}

/** YAML with a two-space indent, or JSON with a two-space indent; both end with one newline. */
export function serialize(format: Exclude<OutputFormat, 'table'>, value: unknown): string {
  if (format === 'json') return `${JSON.stringify(value, null, 2)}\n`;
  return stringify(value, { indent: 2, lineWidth: 0 });
}
