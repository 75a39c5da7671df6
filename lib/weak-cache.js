'use strict';

const { argError } = require('./errors.js');

/**
 * A cache that holds its values weakly and forgets an entry once its value is
 * collected. A Map of WeakRefs alone keeps one entry per key forever; here a
 * FinalizationRegistry deletes the entry, unless the key has since been given
 * a newer value.
 */
class WeakValueCache {
  #map = new Map();
  #registry = new FinalizationRegistry(({ key, ref }) => {
    if (this.#map.get(key) === ref) this.#map.delete(key);
  });

  get(key) {
    const ref = this.#map.get(key);
    if (ref === undefined) return undefined;
    const value = ref.deref();
    if (value === undefined) this.#forget(key, ref);
    return value;
  }

  set(key, value) {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function')) {
      throw argError('WeakValueCache values must be objects or functions (a primitive cannot be held weakly)');
    }
    const old = this.#map.get(key);
    if (old !== undefined) this.#registry.unregister(old);
    const ref = new WeakRef(value);
    this.#map.set(key, ref);
    this.#registry.register(value, { key, ref }, ref);
    return this;
  }

  /** The live value for `key`, or `factory(key)` stored and returned. */
  getOrCreate(key, factory) {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    if (typeof factory !== 'function') throw argError('factory must be a function');
    const value = factory(key);
    this.set(key, value);
    return value;
  }

  has(key) {
    return this.get(key) !== undefined;
  }

  delete(key) {
    const ref = this.#map.get(key);
    if (ref === undefined) return false;
    this.#forget(key, ref);
    return ref.deref() !== undefined;
  }

  clear() {
    for (const ref of this.#map.values()) this.#registry.unregister(ref);
    this.#map.clear();
  }

  /**
   * Entries whose value is still alive. Entries collected but not yet
   * finalized are removed here rather than counted.
   */
  get size() {
    for (const [key, ref] of this.#map) {
      if (ref.deref() === undefined) this.#forget(key, ref);
    }
    return this.#map.size;
  }

  *entries() {
    for (const [key, ref] of this.#map) {
      const value = ref.deref();
      if (value !== undefined) yield [key, value];
    }
  }

  [Symbol.iterator]() {
    return this.entries();
  }

  #forget(key, ref) {
    this.#registry.unregister(ref);
    this.#map.delete(key);
  }
}

module.exports = { WeakValueCache };
