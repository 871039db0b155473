/**
 * The request a fast-path connection is deciding, as route policies see it (route-policy.ts): one
 * object per connection, pointed at each head in turn, so deciding allocates nothing per request.
 */
import { fieldValue } from '../forwarded.js';
import type { RequestView } from '../route-policy.js';
import type { RequestHead } from './request-head.js';

export class HeadView implements RequestView {
  head: RequestHead | undefined;

  constructor(readonly peer: string) {}

  get method(): string {
    return this.head?.method ?? 'GET';
  }

  header(lowerName: string): string | undefined {
    return this.head ? fieldValue(this.head.fields, lowerName) : undefined;
  }
}
