/**
 * Layout of a backup directory: the same content-addressed `objects/` as a store, plus one descriptor per
 * checkpoint (`checkpoints/<id>.json`, the CheckpointCommitted data) so a backup can be read on its own.
 */
import { join } from 'node:path';

/** Where a backup keeps a blob. @example backupBlobPath('/mnt/b', 'ab12…') // '/mnt/b/objects/ab/12…' */
export function backupBlobPath(target: string, hash: string): string {
  return join(target, 'objects', hash.slice(0, 2), hash.slice(2));
}

/** Where a backup keeps a checkpoint's descriptor. */
export function backupDescriptorPath(target: string, id: string): string {
  return join(target, 'checkpoints', `${id}.json`);
}
