/** Every field a message sets is bounded (limits.ts): over-long ids and names, and the exact kill signal. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_WIRE_LIMITS } from '../../src/common/limits.js';
import { InvalidMessageError } from '../../src/common/errors.js';
import { decodeWireMessage, isKillSignal } from '../../src/models/wire.js';

const body = (fields: Record<string, unknown>): string => JSON.stringify({ task_id: 't-1', method: 'add', topic: 'default', inputs: [[], {}], ...fields });

describe('wire limits', () => {
  it('accepts ids and names up to the limits', () => {
    const result = decodeWireMessage(body({ task_id: 'x'.repeat(DEFAULT_WIRE_LIMITS.maxIdLength), method: 'm'.repeat(DEFAULT_WIRE_LIMITS.maxNameLength) }));
    assert.equal(result.taskId.length, DEFAULT_WIRE_LIMITS.maxIdLength);
  });

  it('refuses an over-long task id, method or topic, naming the field', () => {
    for (const [field, value] of [
      ['task_id', 'x'.repeat(DEFAULT_WIRE_LIMITS.maxIdLength + 1)],
      ['method', 'm'.repeat(DEFAULT_WIRE_LIMITS.maxNameLength + 1)],
      ['topic', 't'.repeat(DEFAULT_WIRE_LIMITS.maxNameLength + 1)],
    ] as const) {
      assert.throws(() => decodeWireMessage(body({ [field]: value })), (error: Error) => {
        assert.ok(error instanceof InvalidMessageError);
        assert.match(error.message, new RegExp(`${field}: expected .*at most`));
        return true;
      });
    }
  });

  it('takes only <topic>null with no { as the kill signal', () => {
    assert.equal(isKillSignal('defaultnull'), true);
    assert.equal(isKillSignal('simnull'), true);
    assert.equal(isKillSignal('default{"task_id": "a", "value": null'), false);
    assert.equal(isKillSignal('default{"x": 1}null'), false);
  });
});
