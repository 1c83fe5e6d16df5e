/**
 * An append-only list that a pure projection can extend in O(1): the next state pushes onto the same array and
 * records its own length, so the previous state (which the ledger keeps when a write fails) still sees exactly
 * its own items. A list extended past its length by a state that was discarded (or frozen) is copied before the next push.
 *
 * @example let log = emptyList<string>(); log = appended(log, 'a'); itemsOf(log) // ['a']
 */
export interface AppendOnly<T> {
  items: T[];
  length: number;
}

/** A fresh empty list. */
export function emptyList<T>(): AppendOnly<T> {
  return { items: [], length: 0 };
}

/**
 * The list with `item` appended; `list` itself still reads as before.
 * @example itemsOf(appended({ items: [1], length: 1 }, 2)) // [1, 2]
 */
export function appended<T>(list: AppendOnly<T>, item: T): AppendOnly<T> {
  const shared = list.items.length === list.length && !Object.isFrozen(list.items);
  const items = shared ? list.items : list.items.slice(0, list.length);
  items.push(item);
  return { items, length: list.length + 1 };
}

/**
 * The items of this list version (a copy only when a discarded state extended the shared array).
 * @example itemsOf({ items: [1, 2, 3], length: 2 }) // [1, 2]
 */
export function itemsOf<T>(list: AppendOnly<T>): readonly T[] {
  return list.items.length === list.length ? list.items : list.items.slice(0, list.length);
}
