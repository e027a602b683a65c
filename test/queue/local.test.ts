import { LocalQueues } from '../../src/queue/local.js';
import { queueContract } from './contract.js';

queueContract({
  name: 'local',
  pair(options) {
    const queues = new LocalQueues(options);
    return { client: queues, server: queues, close: () => queues.close() };
  },
});
