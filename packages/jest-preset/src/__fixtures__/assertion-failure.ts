// Runs an assertion that must fail and returns its message without colours; a usage error (HfiError) or a pass
// makes the test fail instead.
import { stripVTControlCharacters } from 'node:util';
import { type HfiError, isHfiError } from '@hfi/core';

async function thrown(assertion: () => unknown): Promise<unknown> {
  try {
    await assertion();
  } catch (error) {
    return error;
  }
  throw new Error('the assertion passed, but this test expects it to fail');
}

export async function failureMessage(assertion: () => unknown): Promise<string> {
  const error = await thrown(assertion);
  if (isHfiError(error)) throw new Error(`the matcher threw a usage error instead of failing: ${error.message}`);
  return stripVTControlCharacters((error as Error).message);
}

export async function usageError(assertion: () => unknown): Promise<HfiError> {
  const error = await thrown(assertion);
  if (!isHfiError(error, 'HFI_ERR_MATCHER_USAGE')) {
    throw new Error(`expected an HFI_ERR_MATCHER_USAGE error, got: ${(error as Error).message}`);
  }
  return Object.assign(error, { message: stripVTControlCharacters(error.message) });
}

/** The table row of a pod: its cells split on runs of spaces. */
export function tableRow(message: string, pod: string): string[] | undefined {
  const line = message.split('\n').find((l) => l.trim().startsWith(`${pod} `));
  return line?.trim().split(/\s{2,}/);
}
