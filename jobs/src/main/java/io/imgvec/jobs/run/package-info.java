/**
 * What every job shares: the JSON run summary, the run's log context, progress lines, Pushgateway metrics, checks
 * of the locations a job is given, and the Spark session factory.
 *
 * <p>Spark: ProgressReporter, SparkSessions.
 */
package io.imgvec.jobs.run;
