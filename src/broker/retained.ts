// The retained-message store: one message per topic, found by filter through a trie walk.
// Pure data structure: no I/O, no persistence, no delivery; the broker decides what to store.

class RetainedNode<M> {
  children: Map<string, RetainedNode<M>> | null = null;
  message: M | undefined = undefined;
  constructor(readonly parent: RetainedNode<M> | null, readonly key: string) {}
}

const DOLLAR = 0x24;

export class RetainedStore<M extends { topic: string }> {
  private readonly root = new RetainedNode<M>(null, '');
  private readonly byTopic = new Map<string, M>();
  /** Told every change (the persistence store listens); null = nobody. */
  onChange: ((topic: string, message: M | null) => void) | null = null;

  get size(): number {
    return this.byTopic.size;
  }

  /** Stores `message` as the retained message of its topic; `null` clears that topic [MQTT-3.3.1-10,11]. */
  set(topic: string, message: M | null): void {
    this.onChange?.(topic, message);
    if (message === null) {
      // [MQTT-3.3.1-10] [MQTT-3.3.1-11] an empty retained payload removes the topic's message.
      if (!this.byTopic.delete(topic)) return;
      const node = this.find(topic);
      if (node === null) return;
      node.message = undefined;
      this.prune(node);
      return;
    }
    // [MQTT-3.3.1-5] a new retained message replaces the topic's previous one.
    this.byTopic.set(topic, message);
    let node = this.root;
    for (const level of topic.split('/')) {
      const children = (node.children ??= new Map());
      let next = children.get(level);
      if (next === undefined) {
        next = new RetainedNode<M>(node, level);
        children.set(level, next);
      }
      node = next;
    }
    node.message = message;
  }

  get(topic: string): M | undefined {
    return this.byTopic.get(topic);
  }

  /** Every retained message whose topic matches `filter` (plain filter, no $share), honouring
   *  the `$` rule [MQTT-4.7.2-1]. Trie walk, not a scan. */
  match(filter: string): M[] {
    const found: M[] = [];
    if (filter.length === 0) return found;
    const levels = filter.split('/');
    // A filter without wildcards names one topic.
    if (filter.indexOf('+') < 0 && filter.indexOf('#') < 0) {
      const message = this.byTopic.get(filter);
      if (message !== undefined) found.push(message);
      return found;
    }
    this.walk(this.root, levels, 0, found);
    return found;
  }

  entries(): IterableIterator<M> {
    return this.byTopic.values();
  }

  private walk(node: RetainedNode<M>, levels: string[], index: number, found: M[]): void {
    if (index === levels.length) {
      if (node.message !== undefined) found.push(node.message);
      return;
    }
    const level = levels[index]!;
    if (level === '#') {
      // [MQTT-4.7.1-2] '#' matches the parent level and every level below it.
      if (index > 0 && node.message !== undefined) found.push(node.message);
      this.collectAll(node, index === 0, found);
      return;
    }
    const children = node.children;
    if (children === null) return;
    if (level === '+') {
      for (const [key, child] of children) {
        // [MQTT-4.7.2-1] a leading wildcard does not match topics starting with '$'.
        if (index === 0 && key.charCodeAt(0) === DOLLAR) continue;
        this.walk(child, levels, index + 1, found);
      }
      return;
    }
    const child = children.get(level);
    if (child !== undefined) this.walk(child, levels, index + 1, found);
  }

  /** Every message strictly below `node`; at the root, skipping `$` topics. */
  private collectAll(node: RetainedNode<M>, atRoot: boolean, found: M[]): void {
    if (node.children === null) return;
    for (const [key, child] of node.children) {
      if (atRoot && key.charCodeAt(0) === DOLLAR) continue; // [MQTT-4.7.2-1]
      if (child.message !== undefined) found.push(child.message);
      this.collectAll(child, false, found);
    }
  }

  private find(topic: string): RetainedNode<M> | null {
    let node = this.root;
    for (const level of topic.split('/')) {
      const next = node.children?.get(level);
      if (next === undefined) return null;
      node = next;
    }
    return node;
  }

  /** Drops nodes left without a message or children, so cleared topics do not leak. */
  private prune(start: RetainedNode<M>): void {
    let node = start;
    while (node.parent !== null && node.message === undefined && (node.children === null || node.children.size === 0)) {
      node.parent.children?.delete(node.key);
      node = node.parent;
    }
  }
}
