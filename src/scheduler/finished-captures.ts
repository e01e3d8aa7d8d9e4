/**
 * The outcomes of finished captures, for GET /captures and GET /captures/:id
 * and for result events amended after a late delivery: the newest
 * `http.history` are kept, the oldest forgotten, so memory stays bounded
 * however many captures a daemon runs in its months.
 */
import type { CaptureOutcome } from '../model/outcome.js';

export class FinishedCaptures {
  private readonly outcomes = new Map<string, CaptureOutcome>();
  private readonly history: () => number;

  constructor(history: () => number) {
    this.history = history;
  }

  keep(id: string, outcome: CaptureOutcome): void {
    this.outcomes.set(id, outcome);
    const history = this.history();
    for (const oldest of this.outcomes.keys()) {
      if (this.outcomes.size <= history) break;
      this.outcomes.delete(oldest);
    }
  }

  get(id: string): CaptureOutcome | undefined {
    return this.outcomes.get(id);
  }

  has(id: string): boolean {
    return this.outcomes.has(id);
  }

  newestFirst(): CaptureOutcome[] {
    return [...this.outcomes.values()].reverse();
  }
}
