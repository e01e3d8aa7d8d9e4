/** Hands one finished capture (or segment) to every sink, in parallel. */
import { errorCodeOf, errorMessage } from '../errors.js';
import type { Log } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Delivery, FinishedCapture, Sink } from '../sinks/sink.js';
import type { DeliveryFailure } from './outcome.js';

export interface DeliveryReport {
  deliveries: Delivery[];
  failures: DeliveryFailure[];
}

export async function deliverToSinks(
  capture: FinishedCapture,
  sinks: readonly Sink[],
  log: Log,
  metrics: Metrics,
): Promise<DeliveryReport> {
  const report: DeliveryReport = { deliveries: [], failures: [] };
  await Promise.all(
    sinks.map(async (sink) => {
      const stopTimer = metrics.deliveryDuration.startTimer({ sink: sink.name });
      try {
        const delivery = await sink.deliver(capture);
        stopTimer();
        metrics.deliveries.inc({ sink: sink.name, outcome: 'ok' }, capture.files.length);
        log.info({ sink: sink.name, segment: capture.segment, locations: delivery.locations }, 'capture delivered');
        report.deliveries.push(delivery);
      } catch (err: unknown) {
        stopTimer();
        const code = errorCodeOf(err) ?? 'PCAPD_ERR_SINK_FAILED';
        metrics.deliveries.inc({ sink: sink.name, outcome: 'error' }, capture.files.length);
        log.error({ sink: sink.name, segment: capture.segment, code, err }, 'delivery failed');
        report.failures.push({ sink: sink.name, code, message: errorMessage(err) });
      }
    }),
  );
  return report;
}
