/**
 * The names and definitions of utilization, shared by `colmena report`, the demo's summary and the
 * dashboard, so that the same campaign reads the same figure everywhere and says what it measures.
 */

/** The campaign's span, over which every utilization is measured. */
export const CAMPAIGN_SPAN = 'from the first task sent to the last result received';

/** How busy the workers were: the headline figure. */
export const WORKER_UTILIZATION = {
  name: 'worker utilization',
  definition: `time workers spent running tasks ÷ (workers × campaign span, ${CAMPAIGN_SPAN})`,
} as const;

/** How full a resource counter's pool was: slots a thinker handed out that were in use. */
export const SLOT_OCCUPANCY = {
  name: 'slot occupancy',
  definition: 'slot-time in use ÷ slot-time allocated to the pool, over the campaign span',
} as const;

/** How busy an allocation's nodes were: node-time held by the tasks placed on them. */
export const NODE_UTILIZATION = {
  name: 'node utilization',
  definition: 'node-time held by placed tasks (hosts × (releasedAt − placedAt)) ÷ (nodes seen × campaign span)',
} as const;

/** Busy seconds over the slot-time of `workers` workers during `spanSeconds`; NaN when there was none. */
export function workerUtilization(busySeconds: number, workers: number, spanSeconds: number): number {
  const capacitySeconds = workers * spanSeconds;
  return capacitySeconds > 0 ? busySeconds / capacitySeconds : NaN;
}

/** The measure a utilization panel shows, as every view names it: worker or node utilization, or a pool's slot occupancy. */
export function panelMeasure(panel: { source: 'resource-counter' | 'tasks' | 'placements'; name: string }): string {
  if (panel.source === 'tasks') return WORKER_UTILIZATION.name;
  if (panel.source === 'placements') return NODE_UTILIZATION.name;
  return `${SLOT_OCCUPANCY.name}, pool ${panel.name}`;
}
