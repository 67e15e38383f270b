/**
 * {@code stream} and {@code produce}: Kafka records as manifest rows, the exactly-once batch commit, the stream's
 * Prometheus exporter, and the Kafka client settings (security, secrets) both commands share.
 *
 * <p>Spark: StreamJob, StreamBatches, StreamProgress, ProduceCommand.
 */
package io.imgvec.jobs.stream;
