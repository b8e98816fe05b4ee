/** What this consumer knows of its place in the group: owned partitions, generation, rebalancing. */
import { partitionKey } from './topics';

export class GroupState {
  generation = 0;
  rebalancing = false;
  private owned = new Set<string>();
  /** Per owned partition: messages behind the high watermark at its last fetch. */
  readonly lag = new Map<string, number>();

  /** A join completed with this assignment (kafkajs' GROUP_JOIN `memberAssignment`). */
  joined(assignment: Record<string, number[]>): void {
    this.generation++;
    this.rebalancing = false;
    this.owned = new Set(Object.entries(assignment).flatMap(([topic, partitions]) => partitions.map((p) => partitionKey(topic, p))));
    for (const key of this.lag.keys()) if (!this.owned.has(key)) this.lag.delete(key);
  }

  owns(key: string): boolean {
    return this.owned.has(key);
  }

  ownedCount(): number {
    return this.owned.size;
  }

  lagMessages(): number | null {
    if (this.lag.size === 0) return this.owned.size === 0 ? null : 0;
    let sum = 0;
    for (const n of this.lag.values()) sum += n;
    return sum;
  }
}
