/** A token bucket: `rate` tokens per millisecond up to `burst`; starts full. */
export class TokenBucket {
  private tokens: number;
  private last = -Infinity;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  private refill(now: number): void {
    if (this.last === -Infinity) this.last = now;
    const t = this.tokens + (now - this.last) * this.rate;
    this.tokens = t > this.burst ? this.burst : t;
    this.last = now;
  }

  /** Is a token available now (without taking it)? */
  peek(now: number): boolean {
    this.refill(now);
    return this.tokens >= 1;
  }

  /** Takes one token if available. */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
