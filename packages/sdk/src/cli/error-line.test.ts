import { HfiError } from '@hfi/core';
import { errorLine } from './error-line';

describe('errorLine', () => {
  it('names the policy on a not-found answer', () => {
    const err = new HfiError('HFI_ERR_POLICY_NOT_FOUND', 'The requested resource was not found', { statusCode: 404 });
    expect(errorLine(err, { policyName: 'p1' })).toBe('Error: policy "p1" not found (HFI_ERR_POLICY_NOT_FOUND)');
  });

  it('does not call a missing route a missing policy', () => {
    const err = new HfiError('HFI_ERR_NOT_FOUND', 'No such route', { statusCode: 404 });
    expect(errorLine(err, { policyName: 'p1' })).toBe('Error: No such route (HFI_ERR_NOT_FOUND)');
  });

  it('prefixes the field and keeps one line', () => {
    const err = new HfiError('HFI_ERR_BAD_REQUEST', 'must be\nan integer', { field: 'revision' });
    expect(errorLine(err)).toBe('Error: revision: must be; an integer (HFI_ERR_BAD_REQUEST)');
  });

  it('shows the status of an answer without an hfi code', () => {
    const err = new HfiError('HFI_ERR_CONTROL_PLANE_RESPONSE', 'Bad Gateway', {
      statusCode: 502,
      details: { status: 502 },
    });
    expect(errorLine(err)).toBe('Error: control plane answered 502: Bad Gateway (HFI_ERR_CONTROL_PLANE_RESPONSE)');
  });

  it('prints other errors without a code', () => {
    expect(errorLine(new TypeError('boom'))).toBe('Error: boom');
  });
});
