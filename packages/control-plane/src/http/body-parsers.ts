import { HfiError, isHfiError, parsePolicyDocuments } from '@hfi/core';
import type { FastifyInstance } from 'fastify';

export const JSON_CONTENT_TYPE = /^application\/([\w.+-]+\+)?json$/;
export const YAML_CONTENT_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

/** Only JSON (and YAML, for convenience) bodies; parse failures are HFI_ERR_POLICY_PARSE with line and column. */
export function registerBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_CONTENT_TYPE, { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parsePolicyBody(body as string, 'json'));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addContentTypeParser(YAML_CONTENT_TYPES, { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parsePolicyBody(body as string, 'yaml'));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}

/** One policy per request body, in the given syntax. */
export function parsePolicyBody(text: string, format: 'json' | 'yaml'): unknown {
  let docs: unknown[];
  try {
    docs = parsePolicyDocuments(text, `request-body.${format}`);
  } catch (err) {
    if (!isHfiError(err, 'HFI_ERR_POLICY_PARSE')) throw err;
    const { line, column, reason } = err.details as { line?: number; column?: number; reason?: string };
    throw new HfiError('HFI_ERR_POLICY_PARSE', `request body:${line}:${column}: ${reason ?? err.message}`, {
      details: { format, line, column, reason },
    });
  }
  if (docs.length === 0) {
    throw new HfiError('HFI_ERR_POLICY_PARSE', 'request body is empty; send a policy as JSON or YAML', {
      details: { format },
    });
  }
  if (docs.length > 1) {
    throw new HfiError(
      'HFI_ERR_POLICY_PARSE',
      `request body holds ${docs.length} policies; send one policy per request`,
      { details: { format, documents: docs.length } },
    );
  }
  return docs[0];
}
