/**
 * The small commands: {@code query} (neighbours from a published index), {@code measure} (a published index timed
 * again as build-index timed it), {@code sql} (Spark SQL over the outputs), {@code plan} (time, cost and index size
 * before a run) and {@code demo}.
 *
 * <p>Spark: MeasureCommand, SqlCommand, PlanCommand, Demo.
 */
package io.imgvec.jobs.commands;
