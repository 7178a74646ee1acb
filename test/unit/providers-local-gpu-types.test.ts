import assert from 'node:assert/strict';
import { defaultLocalGpuTypes } from '../../server/providers/local';

describe('the GPU types the local provider offers', function () {
  it('gives whole GB of memory, as GpuType.memoryGb (an Int) needs, on a machine with 23.5 GiB', function () {
    for (const type of defaultLocalGpuTypes(23.5 * 1024 ** 3)) assert.ok(Number.isInteger(type.memoryGb), `${type.id}: ${type.memoryGb}`);
  });
});
