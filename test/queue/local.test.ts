import { LocalQueues } from '../../src/queue/local.js';
import type { MethodMap } from '../../src/models/method-types.js';
import type { QueuesOptions } from '../../src/queue/base.js';
import { queueContract } from './contract.js';

queueContract({
  name: 'local',
  pair<M extends MethodMap>(options?: QueuesOptions) {
    const queues = new LocalQueues<M>(options);
    return { client: queues, server: queues, close: () => queues.close() };
  },
});
