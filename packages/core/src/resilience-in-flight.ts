/** The calls of a Resilience waiting for their backend, in deadline order, for its one timeout timer. */

/** One call waiting for its backend, until it settles or its deadline passes; a node of `InFlightList`. */
export class InFlight {
  prev: InFlight | undefined = undefined;
  next: InFlight | undefined = undefined;
  /** Still in the list: neither settled nor timed out. */
  linked = true;
  constructor(
    readonly deadline: number,
    readonly operation: string,
    readonly reject: (err: unknown) => void,
  ) {}
}

/** In-flight calls in start order, which is deadline order (one `timeoutMs` per Resilience). */
export class InFlightList {
  head: InFlight | undefined = undefined;
  tail: InFlight | undefined = undefined;

  push(call: InFlight): void {
    call.prev = this.tail;
    if (this.tail) this.tail.next = call;
    else this.head = call;
    this.tail = call;
  }

  /** False when the call was not in the list (it timed out). */
  remove(call: InFlight): boolean {
    if (!call.linked) return false;
    call.linked = false;
    const { prev, next } = call;
    if (prev) prev.next = next;
    else this.head = next;
    if (next) next.prev = prev;
    else this.tail = prev;
    call.prev = call.next = undefined;
    return true;
  }
}
