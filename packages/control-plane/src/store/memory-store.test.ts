import { newRecord } from '../policy/records';
import { describeStoreContract, policy } from './__tests__/contract';
import { MemoryStore } from './memory-store';

describeStoreContract('MemoryStore', async () => new MemoryStore());

test('a closed memory store refuses writes with HFI_ERR_STORE_UNAVAILABLE and reports not ready', async () => {
  const store = new MemoryStore();
  await store.start();
  await store.close();
  await expect(store.put(newRecord(policy('abc'), 1), 'upsert')).rejects.toMatchObject({
    code: 'HFI_ERR_STORE_UNAVAILABLE',
  });
  expect(await store.check()).toEqual({ ok: false, error: 'store is closed' });
});
